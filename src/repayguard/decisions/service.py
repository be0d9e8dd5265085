"""Decision use-cases: re-decide borrowers (online micro-batches or the whole portfolio)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import polars as pl
from sqlalchemy.orm import Session

from repayguard import entitlements, ingestion
from repayguard.core import guardrails
from repayguard.core.pipeline import METHOD_COLUMNS, decide, decide_with_challenger
from repayguard.decisions import repository, triggers
from repayguard.decisions.engine import Challenger, DecisionEngine
from repayguard.decisions.models import DecisionRow, DecisionRunRow
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

RUN_COMPLETED: Final = "repayguard.decisions.run_completed"
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
    lineage: dict[str, str] = field(default_factory=dict)
    """What decided the run: policy name, version and hash, bands, model (engine.lineage)."""


def decide_borrowers(
    cmd: DecideBorrowers, *, uow: UnitOfWork, engine: DecisionEngine, history_days: int
) -> DecisionRunReport:
    """Run the decision core over the borrowers' recent history and apply the outcome.

    Every decision is logged with its lineage; entitlements change where the outcome differs,
    and one ``repayguard.entitlements.changed`` message per 2,000 changes goes to the outbox
    in the same transaction. A tightening whose policy row ``requires_approval`` is not
    applied: ``repayguard.decisions.held`` carries it to approvals, which asks a checker.
    ``repayguard.decisions.run_completed`` closes the run, naming its trigger. Each
    borrower's latest decision time and tier (``last_decisions``) move with the log, for the
    worker's evaluation cadence.
    """
    with uow:
        session = uow.session
        now = uow.clock.now()
        as_of = cmd.as_of or _events_as_of(cmd, session, now=now) or now
        since = as_of - timedelta(days=history_days)
        if cmd.borrower_ids is None:
            borrowers = ingestion.borrower_ids(session)
            events = ingestion.scan_history(session.get_bind(), since=since, until=as_of)  # type: ignore[arg-type]
        else:
            borrowers = sorted(set(cmd.borrower_ids))
            events = ingestion.load_history(session, since=since, until=as_of, borrowers=borrowers)
        current = entitlements.current_frame(
            session, None if cmd.borrower_ids is None else borrowers
        )
        # What an open case freezes is what the borrower has when this run is applied.
        previous = entitlements.in_force_for_open_cases(
            session, current, as_of=entitlements.told_at(as_of, now=now)
        )
        shadow: pl.DataFrame | None = None
        if engine.challenger is None:
            decisions = decide(
                events,
                as_of=as_of,
                model=engine.model,
                bands=engine.bands,
                policy=engine.compiled,
                previous=previous,
                borrowers=borrowers,
            )
        else:
            decisions, shadow = decide_with_challenger(
                events,
                as_of=as_of,
                model=engine.model,
                bands=engine.bands,
                policy=engine.compiled,
                challenger=engine.challenger.compiled,
                previous=previous,
                borrowers=borrowers,
            )
        report = write_decided(
            decisions, cmd=cmd, uow=uow, engine=engine, current=current, as_of=as_of,
            now=now, shadow=shadow,
        )  # fmt: skip
        uow.commit()
    return report


def write_decided(
    decisions: pl.DataFrame,
    *,
    cmd: DecideBorrowers,
    uow: UnitOfWork,
    engine: DecisionEngine,
    current: pl.DataFrame,
    as_of: datetime,
    now: datetime,
    shadow: pl.DataFrame | None = None,
) -> DecisionRunReport:
    """Apply a decided frame (``core.pipeline.decide``'s columns) inside the open unit of work:
    the decision log with lineage, the shadow log, latest decisions, entitlement changes, the
    run record and the run's messages. The caller commits. Every driver (in-process, Spark)
    writes through here, so a run's effects do not depend on where the core ran."""
    session = uow.session
    run_id = uuid.uuid4().hex
    flagged = guardrails.alerts(decisions)
    if flagged.height:
        # Never silently applied: the runtime guardrail replaced these decisions.
        uow.emit(
            Message(
                "repayguard.guardrail.applied",
                {
                    "run_id": run_id,
                    "policy_version": engine.compiled.version,
                    "count": flagged.height,
                    "decisions": flagged.head(1_000).to_dicts(),
                },
            )
        )
    decisions = decisions.with_columns(
        pl.Series("decision_id", decision_ids(decisions.height)),
        pl.lit(run_id).alias("run_id"),
    )
    repository.add_decisions(session, decisions)
    if shadow is not None and engine.challenger is not None:
        repository.add_shadow(session, shadow_rows(decisions, shadow, engine.challenger))
    repository.mark_latest(session, run_id)
    applied = entitlements.apply_decisions(
        session, decisions, current=current, defaults=engine.defaults, now=now
    )
    repository.add_run(
        session,
        DecisionRunRow(
            run_id=run_id,
            mode=cmd.mode,
            trigger=cmd.trigger,
            as_of=as_of,
            started_at=now,
            borrowers=decisions.height,
            changed=len(applied.changed),
            tightened=applied.tightened,
            loosened=applied.loosened,
            model_version=engine.model.version,
            policy_version=engine.compiled.version,
            policy_hash=engine.compiled.content_hash,
        ),
    )
    for message in entitlements.change_messages(
        run_id, applied.changed, told_at=entitlements.told_at(as_of, now=now)
    ):
        uow.emit(message)
    for message in entitlements.held_messages(run_id, applied.held):
        uow.emit(message)
    uow.emit(
        Message(
            RUN_COMPLETED,
            {
                "run_id": run_id,
                "mode": cmd.mode,
                "trigger": cmd.trigger,
                "as_of": as_of.isoformat(),
                "borrowers": decisions.height,
                "changed": len(applied.changed),
                "held": len(applied.held),
                # The decision log has no bands column: the run's message (kept in the
                # audit trail) names the bands with the rest of the run's lineage.
                "lineage": engine.lineage,
            },
        )
    )
    return DecisionRunReport(
        run_id,
        as_of,
        decisions.height,
        len(applied.changed),
        applied.tightened,
        applied.loosened,
        summarise(decisions),
        held=len(applied.held),
        lineage=engine.lineage,
    )


def shadow_rows(
    decisions: pl.DataFrame, shadow: pl.DataFrame, challenger: Challenger
) -> pl.DataFrame:
    """The ``shadow_decisions`` rows of a run: the challenger's outcome keyed by the
    production decision it ran beside (same borrower order), ``differs`` where any method
    state or channel list differs."""
    differs = pl.any_horizontal(
        [(decisions[c] != shadow[c]).fill_null(True) for c in METHOD_COLUMNS]
    )
    return shadow.select(
        pl.Series("decision_id", decisions["decision_id"]),
        pl.Series("run_id", decisions["run_id"]),
        pl.col("borrower_id"),
        pl.Series("as_of", decisions["as_of"]),
        pl.lit(challenger.name).alias("challenger_name"),
        pl.lit(challenger.version).alias("challenger_version"),
        pl.col("policy_hash").alias("challenger_hash"),
        "rule_id", *METHOD_COLUMNS, "reasons", "requires_approval",
        pl.Series("differs", pl.select(differs).to_series()),
    )  # fmt: skip


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


def decision_ids(count: int) -> list[str]:
    """``count`` new decision ids that sort in the order decisions were made: the wall clock
    in nanoseconds, then random bits. A borrower's decisions with the same as-of time (two
    runs as of one date, or a test's fixed clock) are then told apart by which came later,
    not by chance."""
    prefix = f"{time.time_ns():016x}"
    return [prefix + secrets.token_hex(8) for _ in range(count)]


def summarise(decisions: pl.DataFrame) -> pl.DataFrame:
    """Borrowers per tier with their method states: the table the demo and CLI print."""
    return (
        decisions.group_by("tier")
        .agg(
            pl.len().alias("borrowers"),
            pl.col("pd").mean().alias("mean_pd"),
            (pl.col("auto_debit") == "disabled").sum().alias("auto_debit_disabled"),
            (pl.col("auto_debit") == "mandatory").sum().alias("auto_debit_mandatory"),
            (pl.col("early_repayment") == "restricted").sum().alias("early_restricted"),
            (pl.col("manual") == "forced").sum().alias("manual_forced"),
        )
        .sort("tier")
    )


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
