"""Incidents on SQLite and PostgreSQL: the detection job opens one for a metric that stepped
out of control (with its evidence chart and the thresholds' version and hash), alerts every
webhook signed like notices (retried by the worker after a failure), an operator acknowledges
and resolves it, and the database holds one unresolved incident per metric and segment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.exc import IntegrityError

from repayguard import monitoring
from repayguard.bootstrap import Container, bootstrap
from repayguard.errors import PermissionDenied
from repayguard.monitoring.errors import IncidentAlreadyOpen, IncidentStateInvalid
from repayguard.monitoring.incident_models import IncidentRow
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.jobs import JobContext

from support.approvals import make_team
from support.common import NOW, make_settings
from support.incidents import ALERT_SECRET, FixedSeries, Receiver, rate_series, running_receiver

LAST_DAY = NOW.date() - timedelta(days=1)
STEP_AT = 140  # of 150 days: ten days out of control at the end


def _series() -> FixedSeries:
    return FixedSeries(
        pl.concat(
            [
                rate_series(
                    "overdue_rate_1p",
                    end=LAST_DAY,
                    days=150,
                    p=0.08,
                    n=20_000,
                    step_at=STEP_AT,
                    step_sigma=6.0,
                    segment="T3",
                    seed=5,
                ),
                rate_series("failed_autodebit_rate", end=LAST_DAY, days=150, seed=6),
                rate_series(
                    "not_a_watched_metric",
                    end=LAST_DAY,
                    days=150,
                    step_at=140,
                    step_sigma=20.0,
                    seed=7,
                ),
            ]
        )
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(NOW) as running:
        yield running


@pytest.fixture
def watched(
    database_url: str, tmp_path: Path, clock: FixedClock, receiver: Receiver
) -> Iterator[tuple[Container, FixedSeries]]:
    settings = make_settings(database_url, tmp_path)
    settings = settings.model_copy(
        update={
            "monitoring": settings.monitoring.model_validate(
                {"alert_webhooks": [receiver.url], "alert_secret": ALERT_SECRET}
            )
        }
    )
    series = _series()
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, series=series
    ) as container:
        yield container, series


def _run(container: Container, name: str) -> dict[str, int]:
    job = next(j for j in container.jobs if j.name == name)
    context = JobContext(
        uow=container.uow, clock=container.clock, holder="test", heartbeat=lambda: None
    )
    return dict(job.run(context).counts)


def _published(container: Container, name: str) -> list[dict[str, object]]:
    assert isinstance(container.bus, RecordingBus)
    return [m.payload for m in container.bus.published if m.name == name]


def test_a_step_opens_one_incident_with_evidence_and_a_signed_alert(
    watched: tuple[Container, FixedSeries], receiver: Receiver
) -> None:
    container, series = watched
    assert _run(container, "monitoring.detect") == {"alarms": 1, "opened": 1, "known": 0}
    start, end, metrics = series.calls[0]
    assert end == LAST_DAY
    assert (end - start).days == 149
    assert metrics is not None
    assert "overdue_rate_1p" in metrics

    page = monitoring.list_incidents(uow=container.uow())
    assert page.total == 1
    found = monitoring.get_incident(page.items[0].incident_id, uow=container.uow())
    assert (found.metric, found.segment, found.direction, found.state) == (
        "overdue_rate_1p", "T3", "up", "open",
    )  # fmt: skip
    first_step_day = LAST_DAY - timedelta(days=150 - 1 - STEP_AT)
    assert first_step_day <= found.since_day <= first_step_day + timedelta(days=3)
    assert found.last_day == LAST_DAY
    assert found.deviation_sigma > 3
    assert found.change_pct is not None
    assert found.change_pct > 0
    shipped = monitoring.load_thresholds()
    assert (found.thresholds_version, found.thresholds_sha256) == (shipped.version, shipped.sha256)
    assert len(found.evidence) == 150
    assert found.evidence[-1]["alarm"] is True
    assert found.alerts[0].delivered_at is not None

    [alert] = receiver.received
    assert alert["verified"] is True
    assert alert["delivery"] == found.incident_id
    assert alert["body"]["type"] == monitoring.ALERT_TYPE
    assert alert["body"]["metric"] == "overdue_rate_1p"
    assert alert["body"]["segment"] == "T3"

    [payload] = _published(container, monitoring.INCIDENT_OPENED)
    assert payload["incident_id"] == found.incident_id
    assert payload["direction"] == "up"
    assert payload["since"] == found.since_day.isoformat()

    # The next run sees the same alarm and opens nothing new.
    assert _run(container, "monitoring.detect") == {"alarms": 1, "opened": 0, "known": 1}
    assert len(receiver.received) == 1


def test_a_failed_alert_is_retried_by_the_worker_with_backoff(
    watched: tuple[Container, FixedSeries], receiver: Receiver, clock: FixedClock
) -> None:
    container, _ = watched
    receiver.replies = [503]
    _run(container, "monitoring.detect")
    [found] = monitoring.list_incidents(uow=container.uow()).items
    alert = monitoring.get_incident(found.incident_id, uow=container.uow()).alerts[0]
    assert alert.delivered_at is None
    assert alert.attempts == 1
    assert "503" in (alert.last_error or "")
    assert _run(container, "monitoring.alerts") == {"delivered": 0, "failed": 0}  # not yet due
    clock.advance(container.retry.delay(1))
    assert _run(container, "monitoring.alerts") == {"delivered": 1, "failed": 0}
    assert [r["verified"] for r in receiver.received] == [True, True]
    assert receiver.received[0]["delivery"] == receiver.received[1]["delivery"]


def test_an_operator_acknowledges_and_resolves_and_the_run_is_not_reopened(
    watched: tuple[Container, FixedSeries],
) -> None:
    container, _ = watched
    team = make_team(container)
    _run(container, "monitoring.detect")
    [found] = monitoring.list_incidents(uow=container.uow()).items
    with pytest.raises(PermissionDenied, match="cs_agent may not acknowledge"):
        monitoring.acknowledge_incident(
            monitoring.AcknowledgeIncident(found.incident_id, team["cara"]), uow=container.uow()
        )
    acked = monitoring.acknowledge_incident(
        monitoring.AcknowledgeIncident(found.incident_id, team["ann"], "looking at T3"),
        uow=container.uow(),
    )
    assert (acked.state, acked.acknowledged_by, acked.note) == (
        "acknowledged",
        "ann",
        "looking at T3",
    )
    with pytest.raises(IncidentStateInvalid):
        monitoring.acknowledge_incident(
            monitoring.AcknowledgeIncident(found.incident_id, team["amy"]), uow=container.uow()
        )
    done = monitoring.resolve_incident(
        monitoring.ResolveIncident(found.incident_id, team["amy"], "collections backlog, fixed"),
        uow=container.uow(),
    )
    assert (done.state, done.resolved_by) == ("resolved", "amy")
    with pytest.raises(IncidentStateInvalid, match="already resolved"):
        monitoring.resolve_incident(
            monitoring.ResolveIncident(found.incident_id, team["amy"], "again"),
            uow=container.uow(),
        )
    assert [p["state"] for p in _published(container, monitoring.INCIDENT_ACKNOWLEDGED)] == [
        "acknowledged"
    ]
    assert [p["by"] for p in _published(container, monitoring.INCIDENT_RESOLVED)] == ["amy"]
    # The run it reported is still out of control: resolved means dealt with, not reopened.
    assert _run(container, "monitoring.detect")["opened"] == 0
    assert monitoring.list_incidents(uow=container.uow(), state=None).total == 1


def test_one_unresolved_incident_per_metric_and_segment(
    watched: tuple[Container, FixedSeries],
) -> None:
    container, _ = watched
    _run(container, "monitoring.detect")
    [found] = monitoring.list_incidents(uow=container.uow()).items
    alarm = monitoring.Alarm(
        metric="overdue_rate_1p", segment="T3", detector="cusum", direction="down",
        since=date(2026, 2, 20), last_day=LAST_DAY, value=0.07, baseline=0.08, sigma=0.002,
        deviation_sigma=-5.0, change_pct=-12.5, evidence=(),
    )  # fmt: skip
    with pytest.raises(IncidentAlreadyOpen, match=found.incident_id):
        monitoring.open_incident(monitoring.OpenIncident(alarm, "v", "0" * 64), uow=container.uow())
    row = IncidentRow(
        incident_id="x" * 32, metric="overdue_rate_1p", segment="T3", detector="cusum",
        direction="down", state="open", since_day=alarm.since, last_day=LAST_DAY, value=0.07,
        baseline=0.08, sigma=0.002, deviation_sigma=-5.0, change_pct=None,
        thresholds_version="v", thresholds_sha256="0" * 64, evidence=[], opened_at=NOW,
        opened_by="test", updated_at=NOW,
    )  # fmt: skip
    with container.session_factory() as session:
        session.add(row)
        with pytest.raises(IntegrityError):
            session.commit()
