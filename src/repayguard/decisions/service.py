"""Decision use-cases: re-decide borrowers (online micro-batches or the whole portfolio)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final, Literal

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repayguard import entitlements, ingestion
from repayguard.core.pipeline import decide, decide_with_challenger
from repayguard.decisions import repository, triggers
from repayguard.decisions.book import BookChunk, Stopwatch, read_book
from repayguard.decisions.engine import DecisionEngine
from repayguard.decisions.history_cache import HistoryCache
from repayguard.decisions.messages import GuardrailApplied, RunCompleted
from repayguard.decisions.models import DecisionRow, DecisionRunRow
from repayguard.decisions.writer import (
    REPEATS_FROM,
    ChunkWriter,
    RunStamp,
    RunTally,
    write_decisions,
)
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

BOOK_CHUNK: Final = 50_000
"""Borrowers per chunk of a book-wide run (the default of ``decisions.chunk_borrowers``)."""
HISTORICAL_AFTER: Final = timedelta(days=1)
"""An online batch whose newest event is older than this is history (a backfill, a file from
another system): it is decided as of that event, not of the wall clock."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DecideBorrowers:
    """Re-decide the named borrowers (None: every borrower with events) as of a time
    (None: now, or see ``as_of_events``), saying what caused it."""

    trigger: str
    """What caused the run, recorded with it (:mod:`repayguard.decisions.triggers`)."""
    borrower_ids: Sequence[str] | None = None
    as_of: datetime | None = None
    mode: Literal["online", "batch", "review", "appeal"] = "batch"
    """``review``: the scheduler re-decides borrowers whose review date or expiry came;
    ``appeal``: complaints re-decides a borrower whose appeal opened or closed."""
    as_of_events: bool = False
    """Without ``as_of``: decide as of the borrowers' newest event when it is older than
    ``HISTORICAL_AFTER`` (a file import of history), else now."""

    def __post_init__(self) -> None:
        if not triggers.is_known(self.trigger):
            raise ValueError(f"unknown decision-run trigger {self.trigger!r}")


@dataclass(frozen=True, slots=True)
class DecisionRunReport:
    run_id: str
    as_of: datetime
    borrowers: int
    changed: int
    tightened: int
    loosened: int
    summary: pl.DataFrame
    """Borrowers per tier and method state (tier, borrowers, mean_pd, auto_debit_disabled, …)."""
    held: int = 0
    """Tightenings waiting for a second person's approval (their policy row requires it)."""
    repeated: int = 0
    """Decisions logged as repeats of their borrower's latest (``decisions.repeats``)."""
    lineage: dict[str, str] = field(default_factory=dict)
    """What decided the run: policy name, version and hash, bands, model (engine.lineage)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Where the run's time went, per stage (:class:`~repayguard.decisions.book.Stopwatch`)."""


def decide_borrowers(
    cmd: DecideBorrowers,
    *,
    uow: UnitOfWork,
    engine: DecisionEngine,
    history_days: int,
    chunk_borrowers: int = BOOK_CHUNK,
    history_cache: Path | None = None,
    repeats_from: int = REPEATS_FROM,
) -> DecisionRunReport:
    """Run the decision core over the borrowers' recent history and apply the outcome.

    Every decision is logged with its lineage; entitlements change where the outcome differs,
    and one ``repayguard.entitlements.changed`` message per 2,000 changes goes to the outbox
    in the same transaction. A tightening whose policy row ``requires_approval`` is not
    applied: ``repayguard.decisions.held`` carries it to approvals, which asks a checker.
    ``repayguard.decisions.run_completed`` closes the run, naming its trigger. Each
    borrower's latest decision time and tier (``last_decisions``) move with the log, for the
    worker's evaluation cadence.

    The whole book (no ``borrower_ids``) is read, decided and written ``chunk_borrowers``
    at a time (:mod:`repayguard.decisions.book`); the run still commits once, so it is
    applied whole or not at all. With ``history_cache`` (a folder), the whole book's history
    is read from the columnar cache kept there, extended by the events appended since
    (:mod:`repayguard.decisions.history_cache`): the same events, without re-reading them.
    A whole-book chunk's decisions that repeat their borrowers' latest ones are logged as one
    row when there are ``repeats_from`` or more (:mod:`repayguard.decisions.repeats`).
    """
    watch = Stopwatch()
    with uow:
        session = uow.session
        now = uow.clock.now()
        as_of = cmd.as_of or _events_as_of(cmd, session, now=now) or now
        since = as_of - timedelta(days=history_days)
        run = RunStamp(uuid.uuid4().hex, as_of, now)
        # Read before the history, in the same transaction: the events a replay of this run
        # gives it (``repayguard replay``).
        seen = ingestion.latest_seq(session)
        named = None if cmd.borrower_ids is None else sorted(set(cmd.borrower_ids))
        if named is None:
            with watch.stage("read_borrowers"):
                everyone = ingestion.borrower_ids(session)
            bind: Engine = session.get_bind()  # type: ignore[assignment]
            cache = None if history_cache is None else HistoryCache(history_cache, bind)
            # Started before the entitlements are read: a cache brings itself up to date
            # meanwhile.
            chunks: Iterator[BookChunk] = read_book(
                bind,
                everyone,
                since=since,
                until=as_of,
                chunk_borrowers=chunk_borrowers,
                watch=watch,
                cache=cache,
            )
        with watch.stage("read_entitlements"):
            current = entitlements.current_frame(session, named)
            # What an open case freezes is what the borrower has when this run is applied.
            previous = entitlements.in_force_for_open_cases(session, current, as_of=run.told_at)
        last = None
        if named is None:
            with watch.stage("read_latest"):
                last = repository.latest_contents(session)
        if named is not None:
            with watch.stage("read_history"):
                events = ingestion.load_history(session, since=since, until=as_of, borrowers=named)
            chunks = iter([BookChunk(named, events)])
        tally = RunTally()
        # A book-wide run writes each chunk while it decides the next (ChunkWriter).
        with ChunkWriter(behind=named is None, watch=watch) as writer:
            for chunk in chunks:
                whose = pl.col("borrower_id").is_in(chunk.borrowers)
                decisions, shadow = decide_chunk(
                    chunk, as_of=as_of, engine=engine, previous=previous.filter(whose), watch=watch
                )
                # Anything that amends decisions before they take effect goes here, between
                # the pure decide step and the write step.
                writer.write(
                    partial(
                        write_decisions,
                        decisions,
                        uow=uow,
                        run=run,
                        current=current.filter(whose) if named is None else current,
                        defaults=engine.defaults,
                        tally=tally,
                        shadow=shadow,
                        challenger=engine.challenger,
                        watch=watch,
                        last=last,
                        repeats_from=repeats_from,
                    )
                )
        with watch.stage("outbox"):
            _close_run(cmd, run, tally, uow=uow, engine=engine, events_seq=seen)
        with watch.stage("commit"):
            uow.commit()
    return _report(run, tally, engine=engine, watch=watch)


def write_decided(
    decisions: pl.DataFrame,
    *,
    cmd: DecideBorrowers,
    uow: UnitOfWork,
    engine: DecisionEngine,
    current: pl.DataFrame,
    as_of: datetime,
    now: datetime,
    events_seq: int,
    shadow: pl.DataFrame | None = None,
) -> DecisionRunReport:
    """Apply a decided frame (``core.pipeline.decide``'s columns) made elsewhere — the Spark
    driver's — inside the open unit of work, through the same write step and run record as
    :func:`decide_borrowers`: the decision log with lineage, the shadow log, latest
    decisions, entitlement changes, the run's messages. ``events_seq`` is the newest event the
    run could see (replay decides it again from exactly those). The caller commits."""
    watch = Stopwatch()
    run = RunStamp(uuid.uuid4().hex, as_of, now)
    tally = RunTally()
    # The same log as the in-process driver's: repeats of the latest decisions as batches.
    last = repository.latest_contents(uow.session)
    write_decisions(
        decisions,
        uow=uow,
        run=run,
        current=current,
        defaults=engine.defaults,
        tally=tally,
        shadow=shadow,
        challenger=engine.challenger,
        watch=watch,
        last=last,
    )
    _close_run(cmd, run, tally, uow=uow, engine=engine, events_seq=events_seq)
    return _report(run, tally, engine=engine, watch=watch)


def _report(
    run: RunStamp, tally: RunTally, *, engine: DecisionEngine, watch: Stopwatch
) -> DecisionRunReport:
    return DecisionRunReport(
        run.run_id,
        run.as_of,
        tally.borrowers,
        tally.changed,
        tally.tightened,
        tally.loosened,
        tally.summary(),
        held=tally.held,
        repeated=tally.repeated,
        lineage=engine.lineage,
        seconds=watch.rounded(),
    )


def decide_chunk(
    chunk: BookChunk,
    *,
    as_of: datetime,
    engine: DecisionEngine,
    previous: pl.DataFrame,
    watch: Stopwatch,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The pure step of a run: the core's decisions for the chunk's borrowers, and the
    challenger's beside them when one is set (else None)."""
    with watch.stage("core"):
        if engine.challenger is None:
            decided = decide(
                chunk.events,
                as_of=as_of,
                model=engine.model,
                bands=engine.bands,
                policy=engine.compiled,
                previous=previous,
                borrowers=chunk.borrowers,
                overlays=engine.overlays,
            )
            return decided, None
        return decide_with_challenger(
            chunk.events,
            as_of=as_of,
            model=engine.model,
            bands=engine.bands,
            policy=engine.compiled,
            challenger=engine.challenger.compiled,
            previous=previous,
            borrowers=chunk.borrowers,
            overlays=engine.overlays,
        )


def _close_run(
    cmd: DecideBorrowers,
    run: RunStamp,
    tally: RunTally,
    *,
    uow: UnitOfWork,
    engine: DecisionEngine,
    events_seq: int,
) -> None:
    """The run's record and closing messages, once every chunk is written."""
    if tally.flagged:
        # Never silently applied: the runtime guardrail replaced these decisions.
        uow.emit(
            Message(
                GuardrailApplied(
                    run_id=run.run_id,
                    policy_version=engine.compiled.version,
                    count=tally.flagged,
                    decisions=tuple(tally.alerts().to_dicts()),
                )
            )
        )
    repository.add_run(
        uow.session,
        DecisionRunRow(
            run_id=run.run_id,
            mode=cmd.mode,
            trigger=cmd.trigger,
            as_of=run.as_of,
            started_at=run.now,
            borrowers=tally.borrowers,
            changed=tally.changed,
            tightened=tally.tightened,
            loosened=tally.loosened,
            model_version=engine.model.version,
            policy_version=engine.compiled.version,
            policy_hash=engine.compiled.content_hash,
            events_seq=events_seq,
            bands_version=engine.bands.version,
            bands_hash=engine.bands_hash,
        ),
    )
    uow.emit(
        Message(
            RunCompleted(
                run_id=run.run_id,
                mode=cmd.mode,
                trigger=cmd.trigger,
                as_of=run.as_of,
                borrowers=tally.borrowers,
                changed=tally.changed,
                held=tally.held,
                # The decision log has no bands column: the run's message (kept in the
                # audit trail) names the bands with the rest of the run's lineage.
                lineage=engine.lineage,
            )
        )
    )


def _events_as_of(cmd: DecideBorrowers, session: Session, *, now: datetime) -> datetime | None:
    """The as-of time of a run ``as_of_events``: the borrowers' newest event when it is older
    than ``HISTORICAL_AFTER``; None (decide as of now) otherwise.

    Deciding months-old events at the wall clock would look at empty windows — no days past
    due, no failed debits in the last 30 days — and put a whole imported book in one tier,
    with a ``tier_since`` of today that then holds it there for the minimum dwell. Decided as
    of the data, tiers and their dwell are measured in the data's time; the notice periods of
    what the run restricts still count from now (``entitlements.told_at``)."""
    if not cmd.as_of_events or not cmd.borrower_ids:
        return None
    newest = ingestion.latest_event_at(session, cmd.borrower_ids)
    if newest is None or newest >= now - HISTORICAL_AFTER:
        return None
    return newest


def logged_outcome(session: Session, decision_id: str) -> dict[str, Any] | None:
    """What the decision log holds for ``decision_id`` (borrower, rule, method states,
    reasons), or None: approvals checks a held decision against it before applying it."""
    row = repository.get(session, decision_id)
    return None if row is None else _outcome(row)


def run_outcomes(
    session: Session, run_id: str, borrowers: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """What run ``run_id`` decided for those of ``borrowers`` it covered, by borrower, as
    ``logged_outcome`` tells it plus the ``decision_id``: approvals finds held decisions a
    later run no longer proposes."""
    return {
        row.borrower_id: {"decision_id": row.decision_id, **_outcome(row)}
        for row in repository.of_run(session, run_id, borrowers)
    }


def _outcome(row: DecisionRow) -> dict[str, Any]:
    return {
        "borrower_id": row.borrower_id,
        "rule_id": row.rule_id,
        "states": {
            "auto_debit": row.auto_debit,
            "early_repayment": row.early_repayment,
            "manual": row.manual,
            "manual_channels": list(row.manual_channels),
        },
        "reasons": list(row.reasons),
        "requires_approval": row.requires_approval,
    }
