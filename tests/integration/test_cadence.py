"""The evaluation cadence on a real database: a worker pass re-decides only the borrowers whose
tier's cadence has elapsed and records why; a pass right after does nothing; the whole book is
re-decided once per period after its time of day; two workers never do the same cadence work
twice; decision runs carry their trigger to the log and the bus."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert, select, text

from repayguard import decisions
from repayguard.bootstrap import Container
from repayguard.config import Settings
from repayguard.decisions import DecisionEngine
from repayguard.decisions.models import DecisionRow, DecisionRunRow, LastDecisionRow
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform import schema
from repayguard.platform.clock import FixedClock
from repayguard.platform.jobs import JobRegistry
from repayguard.scheduler import EvaluateOnCadence, JobReport, Worker

from support.builders import failing_debits_history, healthy_history, policy_text
from support.common import NOW, make_settings
from support.notices import one_pass, open_container, published

LOW = ["L1", "L2", "L3"]  # healthy histories: tier T1
HIGH = ["H1", "H2", "H3"]  # failing auto-debits: tier T5
JOB = "decisions.cadence"
EVERY = timedelta(minutes=5)  # scheduler.cadence_every_seconds in these tests


def cadence_policy(evaluation: str) -> str:
    return policy_text(
        "cadence",
        f"""\
inputs:
  tier: {{type: string, enum: [T1, T2, T3, T4, T5]}}
{evaluation}
hit_policy: first
rows:
""",
    )


def settings_for(database_url: str, data_dir: Path, evaluation: str) -> Settings:
    policy = data_dir / "cadence-policy.yaml"
    policy.write_text(cadence_policy(evaluation))
    settings = make_settings(database_url, data_dir, policy_path=policy)
    scheduler = settings.scheduler.model_copy(
        update={"cadence_every_seconds": EVERY.total_seconds()}
    )
    return settings.model_copy(update={"scheduler": scheduler})


@pytest.fixture
def open_book(database_url: str, tmp_path: Path) -> Iterator[Callable[[str], Container]]:
    """Opens repayguard under a policy with the given evaluation section, with six borrowers
    decided online at NOW (three in T1, three in T5)."""
    with ExitStack() as stack:

        def opened(evaluation: str) -> Container:
            settings = settings_for(database_url, tmp_path, evaluation)
            container = stack.enter_context(open_container(settings, clock_at()))
            populate(container)
            return container

        yield opened


def clock_at() -> FixedClock:
    return FixedClock(NOW)


def populate(container: Container) -> None:
    events = [e for b in LOW for e in healthy_history(b, NOW)]
    events += [e for b in HIGH for e in failing_debits_history(b, NOW)]
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)
    assert tiers(container) == {**dict.fromkeys(LOW, 1), **dict.fromkeys(HIGH, 5)}


def advance(container: Container, delta: timedelta) -> None:
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.advance(delta)


def tiers(container: Container) -> dict[str, int]:
    with container.session_factory() as session:
        rows = session.execute(select(LastDecisionRow.borrower_id, LastDecisionRow.tier)).all()
    return dict(rows)  # type: ignore[arg-type]


def decided_by(container: Container) -> Counter[tuple[str, str]]:
    """(borrower, trigger) -> how many decisions the log holds."""
    with container.session_factory() as session:
        rows = session.execute(
            select(DecisionRow.borrower_id, DecisionRunRow.trigger).join(
                DecisionRunRow, DecisionRunRow.run_id == DecisionRow.run_id
            )
        ).all()
    return Counter((borrower, trigger) for borrower, trigger in rows)


def cadence_pass(container: Container, holder: str = "test-worker") -> JobReport:
    return one_pass(container, holder=holder)[JOB]


def test_a_pass_re_decides_only_the_tiers_whose_cadence_elapsed(
    open_book: Callable[[str], Container],
) -> None:
    book = open_book("evaluation:\n  tiers: {T5: daily}\n  default: weekly")
    assert cadence_pass(book).counts == {"decided": 0}  # everyone was just decided
    advance(book, timedelta(days=1))

    report = cadence_pass(book)

    assert report.status == "ran"
    assert report.counts == {"decided": 3}
    assert decided_by(book) == Counter(
        {**{(b, "events"): 1 for b in LOW + HIGH}, **{(b, "cadence:T5 daily"): 1 for b in HIGH}}
    )
    done = [m for m in published(book, decisions.RUN_COMPLETED) if m["trigger"] != "events"]
    assert [(m["trigger"], m["borrowers"], m["mode"]) for m in done] == [
        ("cadence:T5 daily", 3, "batch")
    ]
    # Right after: the job is not due; once it is, nobody is (their cadence restarted).
    assert cadence_pass(book).status == "not_due"
    advance(book, EVERY)
    assert cadence_pass(book).counts == {"decided": 0}
    # A week after the first decisions the lower tier's default cadence has elapsed too.
    advance(book, timedelta(days=6) - EVERY)
    assert cadence_pass(book).counts == {"decided": 6}
    assert decided_by(book) - Counter({(b, "events"): 1 for b in LOW + HIGH}) == Counter(
        {
            **{(b, "cadence:T5 daily"): 2 for b in HIGH},
            **{(b, "cadence:T1 weekly"): 1 for b in LOW},
        }
    )


def test_a_borrower_decided_for_another_reason_is_not_due_until_its_cadence_passes_again(
    open_book: Callable[[str], Container],
) -> None:
    book = open_book("evaluation:\n  tiers: {T5: daily}")
    advance(book, timedelta(hours=20))
    decisions.decide_borrowers(
        decisions.DecideBorrowers(borrower_ids=["H1"], trigger=decisions.triggers.CLI),
        uow=book.uow(),
        engine=book.decision_engine,
        history_days=book.settings.decisions.history_days,
    )
    advance(book, timedelta(hours=4))  # a day after the online decisions, 4 h after H1's

    assert cadence_pass(book).counts == {"decided": 2}
    assert decided_by(book)[("H1", "cadence:T5 daily")] == 0
    # Every tier without a cadence (no default here) is never due.
    advance(book, timedelta(days=400))
    cadence_pass(book)
    assert not any(trigger.startswith("cadence") for b, trigger in decided_by(book) if b in LOW)


def test_the_whole_book_is_re_decided_once_per_period_after_its_time_of_day(
    open_book: Callable[[str], Container],
) -> None:
    book = open_book('evaluation:\n  whole_book: {every: daily, at: "02:00"}')

    def whole_book_runs() -> int:
        return sum(n for (_, trigger), n in decided_by(book).items() if trigger.startswith("w"))

    assert cadence_pass(book).counts == {"decided": 0}  # decided at 12:00, after today's 02:00
    advance(book, timedelta(hours=13))  # 01:00 the next day: that day's period has not begun
    assert cadence_pass(book).counts == {"decided": 0}
    advance(book, timedelta(hours=1, minutes=30))  # 02:30

    assert cadence_pass(book).counts == {"decided": 6}
    assert all(decided_by(book)[(b, "whole_book daily")] == 1 for b in LOW + HIGH)
    for _ in range(3):  # the rest of the day: nothing more
        advance(book, timedelta(hours=6))
        assert cadence_pass(book).counts == {"decided": 0}
    advance(book, timedelta(hours=6))  # 02:30 the day after
    assert cadence_pass(book).counts == {"decided": 6}
    assert whole_book_runs() == 12


def test_work_goes_in_batches_and_a_run_left_unfinished_is_carried_on(
    open_book: Callable[[str], Container],
) -> None:
    book = open_book("evaluation:\n  default: daily")
    registry = JobRegistry(
        [
            EvaluateOnCadence(
                every=EVERY,
                engine=lambda: book.decision_engine,
                history_days=200,
                batch=2,
                max_batches=2,
            )
        ]
    )
    advance(book, timedelta(days=1))

    first = worker(book, "w1", registry).run_once()[0]
    second = worker(book, "w2", registry).run_once()[0]  # due again at once: work was left
    third = worker(book, "w2", registry).run_once()[0]

    # T5 in two runs (2 + 1), then the cap: T1 is left for the next pass, due at once.
    assert (first.counts, first.next_run_at) == ({"decided": 3}, NOW + timedelta(days=1))
    assert second.counts == {"decided": 3}
    assert third.status == "not_due"
    assert sum(n for (_, t), n in decided_by(book).items() if t.startswith("cadence")) == 6
    with book.session_factory() as session:
        sizes = session.scalars(
            select(DecisionRunRow.borrowers).where(DecisionRunRow.trigger.like("cadence%"))
        ).all()
    assert sorted(sizes) == [1, 1, 2, 2]  # per tier, at most two borrowers a run


def worker(container: Container, holder: str, registry: JobRegistry) -> Worker:
    return Worker(
        registry,
        uow=container.uow,
        clock=container.clock,
        holder=holder,
        lease=timedelta(minutes=2),
        before_pass=container.relay.drain,
    )


def test_two_workers_never_run_the_same_cadence_work_twice(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, "evaluation:\n  tiers: {T5: daily}")
    with (
        open_container(settings, clock_at()) as first,
        open_container(settings, clock_at()) as second,
    ):
        populate(first)
        advance(first, timedelta(days=1))
        advance(second, timedelta(days=1))
        inside, release = threading.Event(), threading.Event()

        def holding(container: Container) -> DecisionEngine:
            inside.set()  # this worker holds the lease: let the other one make its pass
            release.wait(timeout=60)
            return container.decision_engine

        def job(container: Container) -> EvaluateOnCadence:
            return EvaluateOnCadence(
                every=EVERY, engine=lambda: holding(container), history_days=200
            )

        reports: dict[str, JobReport] = {}

        def run(container: Container, holder: str) -> None:
            reports[holder] = worker(container, holder, JobRegistry([job(container)])).run_once()[0]

        a = threading.Thread(target=run, args=(first, "worker-a"))
        a.start()
        assert inside.wait(timeout=60)
        run(second, "worker-b")  # while worker-a is inside the job
        release.set()
        a.join(timeout=120)

        assert (reports["worker-a"].status, reports["worker-b"].status) == ("ran", "held")
        assert reports["worker-b"].holder == "worker-a"
        # Racing again after the run: nobody is due, whoever gets the lease.
        advance(first, EVERY)
        advance(second, EVERY)
        release.set()
        again = [
            worker(c, n, JobRegistry([job(c)])).run_once()[0]
            for c, n in ((second, "b"), (first, "a"))
        ]
        assert [r.counts.get("decided") for r in again if r.status == "ran"] == [0]
        assert Counter(t for (_, t) in decided_by(first).elements()) == Counter(
            {"events": 6, "cadence:T5 daily": 3}
        )


@pytest.mark.empty_database
def test_the_migration_gives_earlier_runs_their_trigger_and_finds_each_latest_decision(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        schema.upgrade(engine, "0013")
        with engine.begin() as connection:
            metadata = MetaData()
            runs = Table("decision_runs", metadata, autoload_with=connection)
            log = Table("decisions", metadata, autoload_with=connection)
            for run_id, mode, day in (("r1", "online", 1), ("r2", "batch", 2), ("r3", "review", 3)):
                at = datetime(2026, 1, day, tzinfo=UTC)
                connection.execute(insert(runs).values(**old_run(run_id, mode, at)))
                for borrower, tier in (("A", day), ("B", 6 - day)):
                    if run_id == "r3" and borrower == "B":
                        continue
                    connection.execute(
                        insert(log).values(**old_decision(run_id, borrower, tier, at))
                    )
        schema.upgrade(engine)
        with engine.connect() as connection:
            found = connection.execute(text("SELECT run_id, trigger FROM decision_runs")).all()
            triggers = {row.run_id: row.trigger for row in found}
            latest = {
                borrower: (tier, run_id)
                for borrower, tier, run_id in connection.execute(
                    text("SELECT borrower_id, tier, run_id FROM last_decisions")
                )
            }
        assert triggers == {"r1": "events", "r2": "cli", "r3": "review"}
        assert latest == {"A": (3, "r3"), "B": (4, "r2")}
    finally:
        engine.dispose()


def old_run(run_id: str, mode: str, at: datetime) -> dict[str, object]:
    return {
        "run_id": run_id,
        "mode": mode,
        "as_of": at,
        "started_at": at,
        "borrowers": 2,
        "changed": 0,
        "tightened": 0,
        "loosened": 0,
        "model_version": "m",
        "policy_version": "1",
        "policy_hash": "h",
    }


def old_decision(run_id: str, borrower: str, tier: int, at: datetime) -> dict[str, object]:
    return {
        "decision_id": f"{run_id}-{borrower}",
        "run_id": run_id,
        "borrower_id": borrower,
        "as_of": at,
        "input_hash": "h",
        "inputs": "{}",
        "pd": 0.1,
        "tier": tier,
        "model_version": "m",
        "policy_version": "1",
        "policy_hash": "h",
        "rule_id": "default",
        "auto_debit": "optional",
        "early_repayment": "allowed",
        "manual": "allowed",
        "manual_channels": [],
        "reasons": [],
        "requires_approval": False,
        "notice_days": 0,
        "max_days": None,
        "review_after_days": None,
        "guardrail": None,
    }
