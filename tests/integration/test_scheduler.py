"""The scheduler on a real database: two workers racing for the same jobs do each once; leases
expire and are taken over; a lost lease stops a job; a failing job does not stop the others;
a feature's job runs without touching the runner; a review confirms a restriction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from repayguard import entitlements
from repayguard.bootstrap import Container
from repayguard.entitlements.models import EntitlementRow
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.jobs import JobContext, JobOutcome, JobRegistry, job
from repayguard.scheduler import JobReport, Worker
from repayguard.scheduler import repository as leases
from repayguard.scheduler.models import JobLeaseRow, JobRunRow

from support.common import NOW
from support.notices import failed_debits, inbox, ingest, notice_settings, open_container

BORROWERS = [f"R{i}" for i in range(6)]
MINUTE = timedelta(minutes=1)


def worker(container: Container, holder: str, registry: JobRegistry | None = None) -> Worker:
    return Worker(
        registry if registry is not None else container.jobs,
        uow=container.uow,
        clock=container.clock,
        holder=holder,
        lease=timedelta(minutes=2),
        before_pass=container.relay.drain,
    )


def runs(container: Container) -> list[tuple[str, str, str]]:
    with container.session_factory() as session:
        rows = session.execute(select(JobRunRow.job, JobRunRow.holder, JobRunRow.status)).all()
    return sorted((job_name, holder, status) for job_name, holder, status in rows)


@pytest.fixture
def pair(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, Container]]:
    """Two processes' worth of repayguard on one database, each with its own clock and bus."""
    settings = notice_settings(database_url, tmp_path)
    with (
        open_container(settings, FixedClock(NOW)) as first,
        open_container(settings, FixedClock(NOW)) as second,
    ):
        yield first, second


def test_two_workers_racing_do_every_job_exactly_once(pair: tuple[Container, Container]) -> None:
    first, second = pair
    ingest(first, [e for b in BORROWERS for e in failed_debits(b, NOW, [5, 4, 3])])
    for container in pair:
        clock = container.clock
        assert isinstance(clock, FixedClock)
        clock.advance(timedelta(days=15))  # every notice period is over
    escalated: list[str] = []
    release = threading.Event()

    def escalate(context: JobContext) -> JobOutcome:
        escalated.append(context.holder)
        release.wait(timeout=60)  # hold the lease while the other worker makes its pass
        return JobOutcome("escalated overdue cases", {"escalated": 1})

    reports: dict[str, list[JobReport]] = {}
    start = threading.Barrier(2)

    def run(container: Container, holder: str) -> None:
        registry = JobRegistry([job("stand-in.escalate", timedelta(minutes=5), escalate)])
        for item in container.jobs:
            registry.register(item)
        start.wait(timeout=60)
        reports[holder] = worker(container, holder, registry).run_once()

    threads = [
        threading.Thread(target=run, args=(first, "worker-a")),
        threading.Thread(target=run, args=(second, "worker-b")),
    ]
    for thread in threads:
        thread.start()
    while len(reports) < 1:  # the worker that did not get the escalation lease finishes first
        threads[0].join(timeout=0.05)
        threads[1].join(timeout=0.05)
    release.set()
    for thread in threads:
        thread.join(timeout=120)

    statuses = {
        name: sorted(r.status for rs in reports.values() for r in rs if r.job == name)
        for name in ("stand-in.escalate", *first.jobs.names())
    }
    assert statuses["stand-in.escalate"] == ["held", "ran"]
    assert all(s.count("ran") == 1 for s in statuses.values()), statuses
    assert len(escalated) == 1
    assert [(j, s) for j, _, s in runs(first)] == sorted(
        (name, "ran") for name in ("stand-in.escalate", *first.jobs.names())
    )
    activated: dict[str, list[str]] = {}
    for container in pair:
        bus = container.bus
        assert isinstance(bus, RecordingBus)
        for message in bus.published:
            if message.name == entitlements.ENTITLEMENTS_ACTIVATED:
                activated[message.message_id] = [
                    e["borrower_id"] for e in message.payload["entitlements"]
                ]
    assert sorted(b for ids in activated.values() for b in ids) == BORROWERS
    for borrower in BORROWERS:
        assert [n.kind for n in inbox(first, borrower)] == ["advance", "explanation"]


def test_of_many_workers_taking_one_lease_at_the_same_instant_exactly_one_gets_it(
    pair: tuple[Container, Container],
) -> None:
    first, second = pair
    start = threading.Barrier(8)
    won: list[str] = []

    def take(container: Container, holder: str) -> None:
        start.wait(timeout=60)
        with container.uow() as unit:
            if leases.try_acquire(
                unit.session, "contested", holder=holder, now=NOW, until=NOW + MINUTE
            ):
                won.append(holder)
            unit.commit()

    threads = [
        threading.Thread(target=take, args=(first if i % 2 else second, f"w{i}")) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with first.session_factory() as session:
        lease = session.get(JobLeaseRow, "contested")
        assert lease is not None
        holder = lease.holder

    assert len(won) == 1
    assert holder == won[0]


def test_a_crashed_workers_lease_is_taken_over_once_it_expires(
    pair: tuple[Container, Container],
) -> None:
    first, _ = pair
    clock = first.clock
    assert isinstance(clock, FixedClock)
    with first.uow() as unit:  # a worker took the lease and died without releasing it
        assert leases.try_acquire(
            unit.session, "entitlements.activate", holder="dead", now=NOW, until=NOW + 2 * MINUTE
        )
        unit.commit()

    while_held = {r.job: r for r in worker(first, "alive").run_once()}["entitlements.activate"]
    clock.advance(2 * MINUTE)
    after_expiry = {r.job: r for r in worker(first, "alive").run_once()}["entitlements.activate"]
    with first.session_factory() as session:
        lease = session.get(JobLeaseRow, "entitlements.activate")
        assert lease is not None
        holder, next_run = lease.holder, lease.next_run_at

    assert (while_held.status, while_held.holder) == ("held", "dead")
    assert after_expiry.status == "ran"
    assert holder is None, "released"
    assert next_run == NOW + 2 * MINUTE + timedelta(seconds=60)


def test_a_job_that_lost_its_lease_stops_and_leaves_it_to_the_new_holder(
    pair: tuple[Container, Container],
) -> None:
    first, _ = pair
    clock = first.clock
    assert isinstance(clock, FixedClock)
    steps: list[str] = []

    def long_job(context: JobContext) -> JobOutcome:
        steps.append("chunk 1")
        with first.uow() as unit:  # meanwhile the lease expired and another worker took it
            unit.session.execute(
                update(JobLeaseRow).where(JobLeaseRow.job == "long").values(holder="other")
            )
            unit.commit()
        clock.advance(MINUTE)
        context.heartbeat()
        steps.append("chunk 2")
        return JobOutcome("done")

    registry = JobRegistry([job("long", timedelta(minutes=5), long_job)])

    (report,) = worker(first, "mine", registry).run_once()
    with first.session_factory() as session:
        lease = session.get(JobLeaseRow, "long")
        assert lease is not None
        holder = lease.holder

    assert report.status == "lease_lost"
    assert steps == ["chunk 1"]
    assert holder == "other", "the worker that lost the lease does not release it"
    assert runs(first) == [("long", "mine", "lease_lost")]


def test_a_failing_job_is_recorded_and_the_others_still_run(
    pair: tuple[Container, Container],
) -> None:
    first, _ = pair

    def broken(context: JobContext) -> JobOutcome:
        raise RuntimeError("the complaints store is unreachable")

    registry = JobRegistry([job("stand-in.escalate", timedelta(minutes=5), broken)])
    for item in first.jobs:
        registry.register(item)

    reports = {r.job: r for r in worker(first, "w", registry).run_once()}
    again = {r.job: r for r in worker(first, "w", registry).run_once()}

    assert reports["stand-in.escalate"].status == "failed"
    assert (
        "RuntimeError: the complaints store is unreachable" in reports["stand-in.escalate"].summary
    )
    assert reports["stand-in.escalate"].next_run_at == NOW + timedelta(minutes=5)
    assert {r.status for name, r in reports.items() if name != "stand-in.escalate"} == {"ran"}
    assert {r.status for r in again.values()} == {"not_due"}, "failed or not, it waits its turn"


def test_job_names_are_unique_in_a_registry() -> None:
    registry = JobRegistry([job("stand-in.escalate", MINUTE, lambda c: JobOutcome("x"))])

    with pytest.raises(ValueError, match="already registered"):
        registry.register(job("stand-in.escalate", MINUTE, lambda c: JobOutcome("y")))
    with pytest.raises(ValueError, match="positive interval"):
        registry.register(job("other", timedelta(0), lambda c: JobOutcome("z")))


def test_a_review_that_decides_the_same_confirms_the_restriction_until_its_next_review(
    pair: tuple[Container, Container],
) -> None:
    first, _ = pair
    ingest(first, failed_debits("B3", NOW, [5, 4, 3, 2]))
    with first.uow() as unit:  # bring the review forward to now: the re-decision is identical
        unit.session.execute(
            update(EntitlementRow).where(EntitlementRow.borrower_id == "B3").values(review_at=NOW)
        )
        unit.commit()

    report = {r.job: r for r in worker(first, "w").run_once()}["entitlements.review"]
    with first.session_factory() as session:
        (confirmed,) = entitlements.load(session, ["B3"]).values()

    assert report.counts == {"due": 1, "changed": 0, "restored": 0, "confirmed": 1}
    assert confirmed.review_at == NOW + timedelta(days=10)
    assert confirmed.expires_at == NOW + timedelta(days=20)
    assert [n.kind for n in inbox(first, "B3")] == ["explanation"], "a confirmation is quiet"
