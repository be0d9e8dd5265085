"""Keys rotate live: after ``repayguard keys rotate`` (a real process), two running containers on
one database with the keys in one data directory read profiles and complaint statements
written under the new key, through the followed ``repayguard.keys.rotated`` message, and
without it through the fail-safe reload."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from repayguard.api.app import create_app
from repayguard.audit.models import AuditRecordRow
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers import SaveProfile, save_profile
from repayguard.complaints.models import ComplaintRow
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.keys import KEYS_ROTATED
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.messages import Message
from repayguard.platform.outbox import OutboxRow

from support.builders import failing_debits_history
from support.common import NOW, make_settings
from support.complaints import file, setup_of

REPAYGUARD = str(Path(sys.executable).parent / "repayguard")
STATEMENT = "my card changed and the debits failed: canary-k3y"


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, Container]]:
    """Two containers on one database and one data directory (two servers of a deployment),
    each on its own bus; B1 decided, so a complaint can be filed against it."""
    clock = FixedClock(NOW)
    settings = make_settings(database_url, tmp_path)
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as first:
        ingest_events(
            IngestEvents(failing_debits_history("B1", NOW), source="test"),
            uow=first.uow(),
            setup=first.ingest,
        )
        clock.advance(timedelta(hours=1))
        with bootstrap(settings, clock=clock, bus=RecordingBus()) as second:
            yield first, second


def rotate_from_the_cli(container: Container) -> Message:
    """Run ``repayguard keys rotate`` as an operator would, against the containers' database
    and data directory; the message it committed, as the shared bus would deliver it."""
    settings = container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")}
    env |= {
        "REPAYGUARD_DATABASE__URL": settings.database_url,
        "REPAYGUARD_DATA_DIR": str(settings.data_dir),
    }
    done = subprocess.run(
        [REPAYGUARD, "keys", "rotate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with container.session_factory() as session:
        (row,) = session.scalars(select(OutboxRow).where(OutboxRow.name == KEYS_ROTATED))
        return Message.decode(row.name, row.payload, message_id=row.message_id, version=row.version)


def write_after_rotation(container: Container) -> str:
    """A profile and a complaint statement saved by ``container`` (under its active key);
    the complaint's id."""
    assert container.keyring is not None
    save_profile(
        SaveProfile("B1", name="王小明", phone="13912345678"),
        uow=container.uow(),
        keyring=container.keyring,
    )
    return file(container, "B1", statement=STATEMENT).complaint_id


def read_through_the_api(container: Container, complaint_id: str) -> tuple[str, str]:
    client = TestClient(create_app(container))
    profile = client.get("/v1/borrowers/B1/profile", params={"reveal": "true"})
    case = client.get(f"/v1/complaints/{complaint_id}")
    assert profile.status_code == 200, profile.text
    assert case.status_code == 200, case.text
    return profile.json()["phone"], case.json()["statement"]


def test_every_container_follows_a_rotation_and_reads_what_the_others_write_under_the_new_key(
    replicas: tuple[Container, Container],
) -> None:
    first, second = replicas
    assert first.keyring is not None
    assert second.keyring is not None
    before = second.keyring.active

    rotated = rotate_from_the_cli(first)
    for replica in replicas:
        replica.bus.publish(rotated)

    new = rotated.payload["active"]
    assert new != before
    assert (first.keyring.active, second.keyring.active) == (new, new), "reloaded in place"
    assert setup_of(second).keyring is second.keyring, "every holder shares the one keyring"
    complaint_id = write_after_rotation(first)
    assert setup_of(first).keyring.key_id_of(_statement_of(first, complaint_id)) == new
    assert read_through_the_api(second, complaint_id) == ("13912345678", STATEMENT)
    assert set(rotated.payload) == {"subject", "active", "key_ids", "added"}, "ids only"
    assert rotated.payload["added"] == new
    assert sorted(rotated.payload["key_ids"]) == sorted([before, new])
    with first.session_factory() as session:
        actors = session.scalars(
            select(AuditRecordRow.actor).where(AuditRecordRow.action == KEYS_ROTATED)
        ).all()
    assert [a.split(":")[0] for a in actors] == ["cli"], "the rotation is on the audit trail"


def test_a_container_that_missed_the_rotation_still_reads_records_under_the_new_key(
    replicas: tuple[Container, Container],
) -> None:
    first, second = replicas
    assert second.keyring is not None
    before = second.keyring.active

    rotated = rotate_from_the_cli(first)
    first.bus.publish(rotated)  # the second never gets it
    new = rotated.payload["active"]
    complaint_id = write_after_rotation(first)

    assert setup_of(first).keyring.key_id_of(_statement_of(first, complaint_id)) == new
    assert second.keyring.active == before
    assert read_through_the_api(second, complaint_id) == ("13912345678", STATEMENT)
    assert second.keyring.active == new, "reloaded on meeting the unknown key id"


def _statement_of(container: Container, complaint_id: str) -> str:
    with container.session_factory() as session:
        row = session.get(ComplaintRow, complaint_id)
        assert row is not None
        return row.statement_enc
