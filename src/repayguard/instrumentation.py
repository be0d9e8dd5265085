"""What this process's metrics observe: its committed messages and the scrape-time probes.

Capabilities know nothing of Prometheus. Their facts reach :class:`platform.telemetry.Telemetry`
three ways, all wired here or by the entry points: the messages a unit of work of this process
committed (decision runs, entitlement changes, notice deliveries — :func:`count_committed`),
results an entry point already holds (an ingested batch's report, a job run's status, an
authorize answer) and probes read when Prometheus scrapes (:func:`plug_probes`).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy.orm import Session, sessionmaker

from repayguard import decisions, entitlements, notices, scheduler
from repayguard.entitlements import EntitlementView
from repayguard.platform.bus import Bus
from repayguard.platform.clock import Clock
from repayguard.platform.messages import Fact, Message
from repayguard.platform.outbox import OutboxRelay
from repayguard.platform.telemetry import (
    BusReading,
    LeaseReading,
    PolicyReading,
    Telemetry,
)
from repayguard.platform.uow import CommittedObserver

__all__ = ["count_committed", "plug_probes"]

log = structlog.get_logger(__name__)


def count_committed(telemetry: Telemetry) -> CommittedObserver:
    """The observer every unit of work of this process reports its committed messages to."""

    def meter(fact: Fact) -> None:
        match fact:
            case decisions.RunCompleted():
                telemetry.decision_run(fact.trigger, borrowers=fact.borrowers, held=fact.held)
            case entitlements.EntitlementsChanged():
                telemetry.entitlements_changed(len(fact.entitlements))
            case notices.NoticeDelivered():
                telemetry.notice_delivery(fact.channel, delivered=True)
            case notices.NoticeDeliveryFailed():
                telemetry.notice_delivery(fact.channel, delivered=False)

    def observe(messages: Sequence[Message]) -> None:
        for message in messages:
            try:
                meter(message.fact)
            except Exception:
                # The use-case has committed: a metric must never turn it into an error.
                log.exception("telemetry.count_failed", message=message.name)

    return observe


def plug_probes(
    telemetry: Telemetry,
    *,
    session_factory: sessionmaker[Session],
    clock: Clock,
    relay: OutboxRelay,
    bus: Bus,
    engines: decisions.EngineSlot,
    view: EntitlementView | None,
) -> None:
    """Give the scrape-time gauges their sources: the outbox backlog, the job leases, the
    policy in force, the bus link and the authorize view of this process."""
    probes = telemetry.probes
    probes.outbox = relay.backlog

    def leases() -> list[LeaseReading]:
        with session_factory() as session:
            states = scheduler.lease_states(session, now=clock.now())
        return [LeaseReading(s.job, s.status, s.overdue_seconds) for s in states]

    def policy() -> PolicyReading | None:
        engine = engines.loaded
        if engine is None:
            return None
        lineage = engine.lineage
        return PolicyReading(
            lineage["policy_name"], str(lineage["policy_version"]), lineage["policy_hash"]
        )

    def link() -> BusReading:
        health = bus.health()
        return BusReading(health.connected, health.staleness_seconds)

    probes.leases = leases
    probes.policy = policy
    probes.bus = link
    if view is not None:
        probes.view_size = view.__len__
