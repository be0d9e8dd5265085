"""The process's Prometheus instruments: own registry, counts from committed messages, the
portfolio hook, scrape-time probes, and the worker's metrics port."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from repayguard import decisions, entitlements, notices, policies
from repayguard.entitlements import Entitlement, MethodStates
from repayguard.errors import ConfigurationInvalid
from repayguard.instrumentation import count_committed
from repayguard.platform.clock import FixedClock
from repayguard.platform.messages import Message
from repayguard.platform.telemetry import LeaseReading, Telemetry

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _scrape(telemetry: Telemetry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(telemetry.registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class TierRates:
    """A small portfolio source: overdue rate per tier, recomputed from loans on each read."""

    def __init__(self, loans: list[tuple[str, bool]]) -> None:
        self.loans = loans

    def snapshot(self) -> Iterable[tuple[str, str, float]]:
        tiers = sorted({tier for tier, _ in self.loans})
        for tier in tiers:
            mine = [overdue for t, overdue in self.loans if t == tier]
            yield "overdue_rate", tier, sum(mine) / len(mine)


def test_two_processes_never_share_a_count() -> None:
    one, two = Telemetry(clock=FixedClock(NOW)), Telemetry(clock=FixedClock(NOW))
    one.fast_authorize.record("auto_debit", False, "DPD_30", 0.00004)
    one.fast_authorize.record("auto_debit", False, "DPD_30", 0.002)
    first, second = _scrape(one), _scrape(two)
    labels = frozenset({("outcome", "deny"), ("reason", "DPD_30"), ("method", "auto_debit")})
    assert first[("repayguard_authorize_total", labels)] == 2
    assert ("repayguard_authorize_total", labels) not in second
    fast = frozenset({("path", "fast")})
    assert first[("repayguard_authorize_seconds_count", fast)] == 2
    bucket = frozenset({("path", "fast"), ("le", "5e-05")})
    assert first[("repayguard_authorize_seconds_bucket", bucket)] == 1


def test_committed_messages_are_counted_by_what_they_say() -> None:
    telemetry = Telemetry(clock=FixedClock(NOW))
    observe = count_committed(telemetry)
    states = MethodStates("optional", "allowed", "allowed", ("app_balance",))
    kept = Entitlement("B1", states, None, NOW, None, None, (), "D1", "default", 1, None)

    observe(
        [
            Message(
                decisions.RunCompleted(
                    run_id="r1",
                    mode="review",
                    trigger="review",
                    as_of=NOW,
                    borrowers=7,
                    changed=3,
                    held=2,
                    lineage={},
                )
            ),
            Message(entitlements.EntitlementsChanged(entitlements=(kept, kept, kept))),
            Message(
                notices.NoticeDelivered(
                    notice_id="n", delivery_id="d", borrower_id="B1", channel="sms", attempts=1
                )
            ),
            Message(
                notices.NoticeDeliveryFailed(
                    notice_id="n",
                    delivery_id="d",
                    borrower_id="B1",
                    channel="sms",
                    attempts=3,
                    error="timeout",
                )
            ),
            Message(
                notices.NoticeDeliveryFailed(
                    notice_id="n",
                    delivery_id="d",
                    borrower_id="B1",
                    channel="webhook",
                    attempts=3,
                    error="500",
                )
            ),
            Message(
                policies.PolicyPublished(
                    name="cn",
                    version=2,
                    content_hash="h",
                    jurisdiction="CN",
                    hit_policy="first",
                    rows=1,
                    draft_id="d1",
                    published_by="amy",
                    published_at=NOW,
                )
            ),
        ]
    )
    # A meter that fails is logged, never raised into a use-case that already committed.
    observe([Message(entitlements.EntitlementsChanged(entitlements=3))])  # type: ignore[arg-type]
    samples = _scrape(telemetry)
    assert samples[("repayguard_decision_runs_total", frozenset({("trigger", "review")}))] == 1
    assert samples[("repayguard_decisions_total", frozenset({("trigger", "review")}))] == 7
    assert samples[("repayguard_decisions_held_total", frozenset())] == 2
    assert samples[("repayguard_entitlement_changes_total", frozenset())] == 3
    sms, webhook = frozenset({("channel", "sms")}), frozenset({("channel", "webhook")})
    assert samples[("repayguard_notice_deliveries_total", sms)] == 1
    assert samples[("repayguard_notice_delivery_failures_total", sms)] == 1
    assert samples[("repayguard_notice_delivery_failures_total", webhook)] == 1


def test_portfolio_gauges_come_from_the_plugged_source_only() -> None:
    telemetry = Telemetry(clock=FixedClock(NOW))
    assert not any(name == "repayguard_portfolio" for name, _ in _scrape(telemetry))
    source = TierRates([("T1", False), ("T1", False), ("T1", True), ("T1", False), ("T4", True)])
    telemetry.probes.portfolio = source
    samples = _scrape(telemetry)
    t1 = frozenset({("metric", "overdue_rate"), ("segment", "T1")})
    t4 = frozenset({("metric", "overdue_rate"), ("segment", "T4")})
    assert (samples[("repayguard_portfolio", t1)], samples[("repayguard_portfolio", t4)]) == (
        0.25,
        1.0,
    )
    source.loans.append(("T1", True))  # read at scrape time: the next scrape sees it
    assert _scrape(telemetry)[("repayguard_portfolio", t1)] == 0.4


def test_job_runs_failures_and_lease_states() -> None:
    clock = FixedClock(NOW)
    telemetry = Telemetry(clock=clock)
    telemetry.job_run("notices.deliver", "ran")
    telemetry.job_run("notices.deliver", "failed")
    telemetry.job_run("notices.deliver", "lease_lost")
    telemetry.probes.leases = lambda: [
        LeaseReading("notices.deliver", "held", 0.0),
        LeaseReading("decisions.cadence", "due", 42.0),
    ]
    samples = _scrape(telemetry)
    deliver = frozenset({("job", "notices.deliver")})
    assert samples[("repayguard_job_failures_total", deliver)] == 1
    for status in ("ran", "failed", "lease_lost"):
        runs = frozenset({("job", "notices.deliver"), ("status", status)})
        assert samples[("repayguard_job_runs_total", runs)] == 1
    states = {
        dict(labels)["state"]: value
        for (name, labels), value in samples.items()
        if name == "repayguard_job_leases" and ("job", "decisions.cadence") in labels
    }
    assert states == {"held": 0.0, "due": 1.0, "waiting": 0.0}
    overdue = frozenset({("job", "decisions.cadence")})
    assert samples[("repayguard_job_overdue_seconds", overdue)] == 42


def test_outbox_lag_is_the_age_of_the_oldest_pending_message() -> None:
    clock = FixedClock(NOW)
    telemetry = Telemetry(clock=clock)
    telemetry.probes.outbox = lambda: (0, None)
    assert _scrape(telemetry)[("repayguard_outbox_lag_seconds", frozenset())] == 0
    telemetry.probes.outbox = lambda: (4, NOW - timedelta(seconds=12))
    samples = _scrape(telemetry)
    assert samples[("repayguard_outbox_pending", frozenset())] == 4
    assert samples[("repayguard_outbox_lag_seconds", frozenset())] == 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_worker_port_serves_the_same_registry_on_loopback() -> None:
    telemetry = Telemetry(clock=FixedClock(NOW))
    telemetry.job_run("entitlements.activate", "ran")
    port = _free_port()
    stop = telemetry.serve(port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        assert 'repayguard_job_runs_total{job="entitlements.activate",status="ran"} 1.0' in text
        with pytest.raises(ConfigurationInvalid, match="cannot serve metrics"):
            Telemetry(clock=FixedClock(NOW)).serve(port)  # the port is taken
    finally:
        stop()
