"""A one-minute soak of `repayguard serve` and a worker on PostgreSQL and NATS at low rates:
events, authorize and an operator's complaints at once end with no server error and a store
that agrees with itself (``bench/soak.py`` runs the same for ten minutes, with figures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.soak import SoakPlan, soak

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ONE_MINUTE = SoakPlan(
    seconds=60,
    borrowers=40,
    events_per_second=4,
    authorize_per_second=10,
    complaint_every_seconds=8,
    memory_every_seconds=5,
)


def test_a_minute_of_mixed_load_has_no_server_error_and_a_consistent_store(
    tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    report = soak(tmp_path, ONE_MINUTE)
    record_property("summary:soak (60 s)", json.dumps(report, indent=1).splitlines())

    assert report["server_errors"] == 0, report["statuses"]
    assert report["consistency"]["problems"] == [], report["consistency"]
    assert report["complaints"]["filed"] > 0, report["complaints"]
    assert report["consistency"]["entitlements_overridden"] > 0, "no reversal was applied"
    assert set(report["memory"]) == {"soak-serve", "soak-worker"}
