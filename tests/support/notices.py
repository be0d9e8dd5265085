"""Shared by the notice and scheduler tests: a policy with notice periods, expiries and reviews,
borrower histories that trigger it, and helpers to read notices and run a worker pass."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers import SaveProfile, save_profile
from repayguard.config import Settings
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.notices import ListNotices, NoticeInfo, list_notices
from repayguard.notices.models import NoticeRow
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.scheduler import JobReport, Worker

from support.builders import debit_attempt, due, healthy_history, policy_text
from support.common import make_settings

SOME_FAILED_DEBITS_ROW = """\
  - id: some-failed-debits
    description: Three failed debits restrict early repayment after two weeks' notice.
    when: {failed_debits_30d: ">= 3"}
    then: {early_repayment: restricted}
    reasons: [REPEATED_FAILED_DEBITS]
    notice_days: 14
    max_days: 30
    review_after_days: 14
"""
"""A row restricting early repayment after 14 days' notice (notice and complaint policies)."""

NOTICE_POLICY = policy_text(
    "notice-flow",
    """\
inputs:
  failed_debits_30d: {type: integer, minimum: 0}
hit_policy: first
rows:
  - id: failing-debits
    description: Four or more failed debits stop auto-debit at once.
    when: {failed_debits_30d: ">= 4"}
    then: {auto_debit: disabled, early_repayment: restricted}
    reasons: [REPEATED_FAILED_DEBITS]
    notice_days: 0
    max_days: 20
    review_after_days: 10
"""
    + SOME_FAILED_DEBITS_ROW,
)


def failed_debits(borrower: str, now: datetime, days_ago: list[int]) -> list[dict[str, Any]]:
    """A borrower with a clean record whose auto-debits failed on the given days before now."""
    events = healthy_history(borrower, now - timedelta(days=35), months=3)
    events.append(due(borrower, now - timedelta(days=max(days_ago) + 1)))
    events += [debit_attempt(borrower, now - timedelta(days=d), "failed") for d in days_ago]
    return events


def notice_settings(database_url: str, data_dir: Path, **notices: Any) -> Settings:
    """Test settings deciding with NOTICE_POLICY; ``notices`` overrides the notices group."""
    policy = data_dir / "notice-policy.yaml"
    policy.write_text(NOTICE_POLICY)
    settings = make_settings(database_url, data_dir, policy_path=policy)
    if notices:
        settings = settings.model_copy(
            update={"notices": settings.notices.model_validate({**notices})}
        )
    return settings


def open_container(settings: Settings, clock: FixedClock, **options: Any) -> Container:
    return bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True, **options)


def ingest(container: Container, events: list[dict[str, Any]]) -> None:
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)


def decide(container: Container, *borrowers: str) -> None:
    decide_borrowers(
        DecideBorrowers(borrower_ids=list(borrowers), mode="online", trigger=triggers.EVENTS),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )


def profile(container: Container, borrower: str, locale: str) -> None:
    assert container.keyring is not None
    save_profile(
        SaveProfile(borrower, name=f"Test {borrower}", locale=locale),  # type: ignore[arg-type]
        uow=container.uow(),
        keyring=container.keyring,
    )


def inbox(container: Container, borrower: str) -> list[NoticeInfo]:
    """The borrower's notices, oldest first."""
    return list(reversed(list_notices(ListNotices(borrower, limit=200), uow=container.uow())))


def notice_count(container: Container) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(NoticeRow)) or 0)


def one_pass(container: Container, *, holder: str = "test-worker") -> dict[str, JobReport]:
    """One worker pass over the container's jobs, by job name."""
    worker = Worker(
        container.jobs,
        uow=container.uow,
        clock=container.clock,
        holder=holder,
        lease=timedelta(seconds=container.settings.scheduler.lease_seconds),
        before_pass=container.relay.drain,
    )
    return {report.job: report for report in worker.run_once()}


def published(container: Container, name: str) -> Iterator[dict[str, Any]]:
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    return (m.payload for m in bus.published if m.name == name)
