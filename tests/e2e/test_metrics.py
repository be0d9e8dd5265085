"""``GET /metrics`` after a known sequence of events: batches with rejected and duplicate
records, authorize calls allowed and denied (fast path and route), a decision run, a pass of
the worker and a message left in the outbox — every value exact, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from repayguard.api.app import create_app, create_server
from repayguard.bootstrap import Container, bootstrap
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.entitlements import ENTITLEMENTS_CHANGED
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork
from repayguard.scheduler import Worker

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.facts import Stuck

TOKEN = "scrape-me-please-0123456789"


class Segments:
    """A portfolio source as the monitoring part will plug one in: rates kept in memory."""

    def __init__(self, rates: dict[tuple[str, str], float]) -> None:
        self.rates = rates

    def snapshot(self) -> Iterable[tuple[str, str, float]]:
        return [(metric, segment, rate) for (metric, segment), rate in self.rates.items()]


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, RecordingBus]]:
    settings = make_settings(database_url, tmp_path)
    # A borrower never decided is refused: a denial whose reason is known in advance.
    settings = settings.model_copy(
        update={
            "entitlements": settings.entitlements.model_copy(update={"unknown_borrower": "deny"})
        }
    )
    bus = RecordingBus()
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=bus, migrate=True, serve_view=True
    ) as container:
        yield container, bus


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /, **labels: str
) -> float:
    return samples[(metric, frozenset(labels.items()))]


def test_metrics_report_exact_values_after_a_known_sequence(
    served: tuple[Container, RecordingBus],
) -> None:
    container, bus = served
    client = TestClient(create_server(container))
    first = [*failing_debits_history("M-DEBITS", NOW), *healthy_history("M-HEALTHY", NOW)]
    invalid = {"type": "debit_attempt", "event_id": "bad-1", "borrower_id": "M-DEBITS"}
    posted = client.post("/v1/events", json={"events": [*first, invalid]})
    assert posted.json()["accepted"] == len(first)
    again = client.post(
        "/v1/events", json={"events": [*first[:3], {**invalid, "event_id": "bad-2"}]}
    )
    assert again.json() | {"rejections": []} == {
        "batch_id": again.json()["batch_id"],
        "accepted": 0,
        "duplicates": 3,
        "rejected": 1,
        "rejections": [],
    }

    asked = [
        ("M-HEALTHY", "auto_debit", {}),
        ("M-HEALTHY", "manual", {}),
        ("M-DEBITS", "early_repayment", {}),
        ("M-NEVER", "auto_debit", {}),
        ("M-NEVER", "manual", {"Idempotency-Key": "k-1"}),  # the route answers this one
    ]
    expected: Counter[tuple[str, str, str]] = Counter()
    for borrower, method, headers in asked:
        answer = client.post(
            "/v1/authorize", json={"borrower_id": borrower, "method": method}, headers=headers
        ).json()
        reason = answer["reasons"][0]["code"] if answer["reasons"] else "none"
        expected["allow" if answer["allowed"] else "deny", reason, method] += 1
    assert expected["deny", "NOT_YET_ASSESSED", "auto_debit"] == 1
    assert any(outcome == "allow" for outcome, _, _ in expected)

    decided = decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )
    changes = sum(
        len(m.payload["entitlements"]) for m in bus.published if m.name == ENTITLEMENTS_CHANGED
    )
    reports = Worker(
        container.jobs,
        uow=container.uow,
        clock=container.clock,
        holder="w-test",
        lease=timedelta(minutes=2),
        on_run=container.telemetry.job_run,
    ).run_once()
    # A message committed by a unit of work no relay drains: pending, and 90 s old at scrape.
    with UnitOfWork(container.session_factory, clock=container.clock) as unit:
        unit.emit(Message(Stuck()))
        unit.commit()
    container.clock.advance(timedelta(seconds=90))  # type: ignore[attr-defined]
    container.telemetry.probes.portfolio = Segments({("overdue_rate", "T3"): 0.125})

    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)

    assert _value(samples, "repayguard_events_ingested_total", source="api") == len(first)
    assert _value(samples, "repayguard_events_rejected_total", source="api") == 2
    assert _value(samples, "repayguard_events_duplicate_total") == 3
    for (outcome, reason, method), count in expected.items():
        assert (
            _value(
                samples, "repayguard_authorize_total", outcome=outcome, reason=reason, method=method
            )
            == count
        )
    authorize_total = sum(
        v for (name, _), v in samples.items() if name == "repayguard_authorize_total"
    )
    assert authorize_total == len(asked)
    assert _value(samples, "repayguard_authorize_seconds_count", path="fast") == 4
    assert _value(samples, "repayguard_authorize_seconds_count", path="framework") == 1
    # The online driver decided the first batch's two borrowers; the second had nothing new.
    assert _value(samples, "repayguard_decision_runs_total", trigger="events") == 1
    assert _value(samples, "repayguard_decisions_total", trigger="events") == 2
    assert _value(samples, "repayguard_decision_runs_total", trigger="cli") == 1
    assert _value(samples, "repayguard_decisions_total", trigger="cli") == decided.borrowers
    assert _value(samples, "repayguard_entitlement_changes_total") == changes > 0
    assert {r.status for r in reports} == {"ran"}
    scraped_at = container.clock.now()
    for report in reports:
        assert report.next_run_at is not None
        assert _value(samples, "repayguard_job_runs_total", job=report.job, status="ran") == 1
        # 90 s later, a job due every minute waits for a worker; the others are not due yet.
        state = "due" if report.next_run_at <= scraped_at else "waiting"
        overdue = max(0.0, (scraped_at - report.next_run_at).total_seconds())
        assert _value(samples, "repayguard_job_leases", job=report.job, state=state) == 1
        assert _value(samples, "repayguard_job_leases", job=report.job, state="held") == 0
        assert _value(samples, "repayguard_job_overdue_seconds", job=report.job) == overdue
    assert _value(samples, "repayguard_job_overdue_seconds", job="entitlements.activate") == 30
    assert _value(samples, "repayguard_outbox_pending") == 1
    assert _value(samples, "repayguard_outbox_lag_seconds") == 90
    lineage = container.decision_engine.lineage
    assert (
        _value(
            samples,
            "repayguard_policy_in_force_info",
            name=lineage["policy_name"],
            version=str(lineage["policy_version"]),
            hash=lineage["policy_hash"],
        )
        == 1
    )
    assert _value(samples, "repayguard_portfolio", metric="overdue_rate", segment="T3") == 0.125
    assert _value(samples, "repayguard_view_entitlements") == len(container.view or ())
    assert {
        labels: v
        for (name, labels), v in samples.items()
        if name == "repayguard_telemetry_probe_up"
    } == {
        frozenset({("probe", p)}): 1.0
        for p in ("outbox", "leases", "policy", "bus", "view", "portfolio")
    }


def test_metrics_need_the_token_when_one_is_set(
    served: tuple[Container, RecordingBus],
) -> None:
    container, _ = served
    container = dataclasses.replace(
        container,
        settings=container.settings.model_copy(
            update={
                "telemetry": container.settings.telemetry.model_copy(
                    update={"metrics_token": SecretStr(TOKEN)}
                )
            }
        ),
    )
    client = TestClient(create_app(container, bind_host="0.0.0.0"))
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert (refused.status_code, refused.json()["code"]) == (401, "metrics_token_invalid")
    assert client.get("/metrics").status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert "repayguard_authorize_seconds_bucket" in scraped.text


def test_metrics_are_closed_off_loopback_without_a_token(
    served: tuple[Container, RecordingBus],
) -> None:
    container, _ = served
    closed = TestClient(create_app(container, bind_host="0.0.0.0")).get("/metrics")
    assert (closed.status_code, closed.json()["code"]) == (403, "metrics_closed")
    assert "REPAYGUARD_TELEMETRY__METRICS_TOKEN" in closed.json()["hint"]
    app = create_app(container, bind_host="::1")
    assert TestClient(app).get("/metrics").status_code == 200
    assert "/metrics" not in app.openapi()["paths"]


def test_a_probe_that_fails_leaves_the_rest_of_the_scrape(
    served: tuple[Container, RecordingBus],
) -> None:
    container, _ = served

    def broken() -> tuple[int, None]:
        raise RuntimeError("database gone")

    container.telemetry.probes.outbox = broken
    container.telemetry.probes.portfolio = None  # bootstrap plugs the portfolio monitor in
    samples = _samples(TestClient(create_app(container)).get("/metrics").text)
    assert _value(samples, "repayguard_telemetry_probe_up", probe="outbox") == 0
    assert _value(samples, "repayguard_telemetry_probe_up", probe="leases") == 1
    assert not any(name == "repayguard_outbox_pending" for name, _ in samples)
    assert not any(name == "repayguard_portfolio" for name, _ in samples)  # none plugged in
