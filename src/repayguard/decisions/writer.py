"""Writing decided frames: the decision log, shadow rows and entitlement changes, in bulk.

The write step of every driver — the in-process run of ``decide_borrowers`` chunk by chunk,
and any other producer of the core's decisions frame (a Spark job's output) — so a decision
reaches the log, the entitlements and the bus one way only. Nothing here commits: the caller's
unit of work does, once per run.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

import polars as pl

from repayguard import entitlements
from repayguard.core.pipeline import METHOD_COLUMNS
from repayguard.core.policy import guardrails
from repayguard.decisions import repeats, repository
from repayguard.decisions.book import Stopwatch
from repayguard.decisions.engine import Challenger
from repayguard.decisions.models import DecisionRepeatRow
from repayguard.entitlements import MethodStates
from repayguard.platform.uow import UnitOfWork

GUARDRAIL_SAMPLE = 1_000
"""Replaced decisions named in full in a run's ``repayguard.guardrail.applied`` message."""
REPEATS_FROM = 1_000
"""Repeated decisions a chunk must hold to be logged as one ``decision_repeats`` row; fewer
are logged in full (a handful of rows costs less than a batch every reader of the borrowers
in its range then decodes)."""


@dataclass(frozen=True, slots=True)
class RunStamp:
    """What every chunk of one run is written under: its id, the time it decided as of, and
    the wall clock of its unit of work (``now``), from which notice periods count."""

    run_id: str
    as_of: datetime
    now: datetime

    @property
    def told_at(self) -> datetime:
        return entitlements.told_at(self.as_of, now=self.now)


@dataclass(slots=True)
class RunTally:
    """What a run wrote so far, summed over its chunks: the run record, its closing message
    and the report are made from it."""

    borrowers: int = 0
    repeated: int = 0
    """Decisions logged as repeats of their borrower's latest (``decisions.repeats``)."""
    changed: int = 0
    tightened: int = 0
    loosened: int = 0
    held: int = 0
    flagged: int = 0
    flagged_sample: list[pl.DataFrame] = field(default_factory=list)
    tier_parts: list[pl.DataFrame] = field(default_factory=list)

    def summary(self) -> pl.DataFrame:
        """Borrowers per tier with their method states (``summarise`` over the whole run)."""
        if not self.tier_parts:
            return summarise(pl.DataFrame(schema=_SUMMARY_INPUT))
        combined = pl.concat(self.tier_parts).group_by("tier").agg(pl.all().sum())
        return (
            combined.with_columns((pl.col("pd_sum") / pl.col("borrowers")).alias("mean_pd"))
            .select(_SUMMARY_COLUMNS)
            .sort("tier")
        )

    def alerts(self) -> pl.DataFrame:
        """Up to ``GUARDRAIL_SAMPLE`` of the decisions the runtime guardrail replaced."""
        if not self.flagged_sample:
            return pl.DataFrame()
        return pl.concat(self.flagged_sample, how="vertical_relaxed").head(GUARDRAIL_SAMPLE)


class ChunkWriter:
    """Writes a run's decided chunks in order — in one background thread when ``behind``, so
    a chunk's decision log, entitlement changes and messages are written while the run
    decides the next chunk (Polars works outside the interpreter, SQLite steps outside it).

    The unit of work's session is used by one thread at a time: each write starts after the
    one before it finished, and the run goes on with its session (the run
    record, the commit) only after leaving this context, which waits for the last write. A
    write's failure surfaces at the next write or on leaving; a failure of the run itself
    waits for the write in progress before the unit of work rolls back. The time the run
    waited for a write is the ``wait_write`` stage; the write stages themselves overlap the
    next chunk's ``core``.
    """

    def __init__(self, *, behind: bool, watch: Stopwatch) -> None:
        self._pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="book-write") if behind else None
        )
        self._watch = watch
        self._pending: Future[object] | None = None

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if error is None:
                self._wait()
            elif self._pending is not None:
                self._pending.exception()  # the run's own error wins
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def write(self, write: Callable[[], object]) -> None:
        """Run ``write`` once the previous write has finished (in the background if
        ``behind``, with the caller's context: the audit actor and log fields)."""
        self._wait()
        if self._pool is None:
            write()
            return
        self._pending = self._pool.submit(contextvars.copy_context().run, write)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            with self._watch.stage("wait_write"):
                pending.result()


def write_decisions(
    decisions: pl.DataFrame,
    *,
    uow: UnitOfWork,
    run: RunStamp,
    current: pl.DataFrame,
    defaults: MethodStates,
    tally: RunTally,
    shadow: pl.DataFrame | None = None,
    challenger: Challenger | None = None,
    watch: Stopwatch | None = None,
    last: pl.DataFrame | None = None,
    repeats_from: int = REPEATS_FROM,
) -> pl.DataFrame:
    """Log ``decisions`` (the core's decisions frame, one row per borrower) under ``run`` and
    apply them to the borrowers' entitlements in the caller's transaction; returns the logged
    frame (with ``decision_id`` and ``run_id``).

    ``current`` is these borrowers' entitlements at the start of the run (``entitlements.
    current_frame``): only borrowers whose states, reasons or tier differ from it are
    written, each change announced in ``repayguard.entitlements.changed`` (2,000 a message)
    and each held tightening in ``repayguard.decisions.held``. ``shadow`` (with its
    ``challenger``) is the challenger's outcome for the same rows, logged beside. ``tally``
    adds up what was written for the run's record; the caller closes the run.

    ``last`` (``repository.latest_contents``) is the content digest of each borrower's latest
    decision: when at least ``repeats_from`` decisions repeat theirs, those are logged as one
    ``decision_repeats`` row instead of a full row each. Every decision moves its borrower's
    ``last_decisions`` row.
    """
    clock = watch or Stopwatch()
    session = uow.session
    with clock.stage("write_decisions"):
        logged, repeated = _identified(decisions, run=run, last=last, repeats_from=repeats_from)
        if repeated is None:
            repository.add_decisions(session, logged)
        else:
            repository.add_decisions(session, logged.filter(pl.col("content_id").is_null()))
            repository.add_repeats(session, repeated)
            tally.repeated += repeated.decisions
        repository.mark_latest(
            session,
            logged.select(
                "borrower_id",
                "tier",
                pl.col("as_of").alias("decided_at"),
                "run_id",
                pl.coalesce("content_id", "decision_id").alias("content_id"),
                "digest",
            ),
        )
        logged = logged.drop("content_id", "digest")
        if shadow is not None and challenger is not None:
            repository.add_shadow(session, shadow_rows(logged, shadow, challenger))
    with clock.stage("write_entitlements"):
        applied = entitlements.apply_decisions(
            session, logged, current=current, defaults=defaults, now=run.now
        )
    with clock.stage("outbox"):
        for message in entitlements.change_messages(
            run.run_id, applied.changed, told_at=run.told_at
        ):
            uow.emit(message)
        for message in entitlements.held_messages(run.run_id, applied.held):
            uow.emit(message)
    flagged = guardrails.alerts(logged)
    tally.borrowers += logged.height
    tally.changed += len(applied.changed)
    tally.tightened += applied.tightened
    tally.loosened += applied.loosened
    tally.held += len(applied.held)
    tally.flagged += flagged.height
    if flagged.height and sum(f.height for f in tally.flagged_sample) < GUARDRAIL_SAMPLE:
        tally.flagged_sample.append(flagged.head(GUARDRAIL_SAMPLE))
    tally.tier_parts.append(_tier_counts(logged))
    return logged


def _identified(
    decisions: pl.DataFrame, *, run: RunStamp, last: pl.DataFrame | None, repeats_from: int
) -> tuple[pl.DataFrame, DecisionRepeatRow | None]:
    """``decisions`` with ``decision_id``, ``run_id``, ``digest`` and ``content_id`` (the
    full row a repeat refers to; null for a decision logged in full), and the batch row of
    the repeats (None: every decision is logged in full)."""
    digest = repeats.digests(decisions)
    ids = pl.Series("decision_id", decision_ids(decisions.height), pl.String)
    same_as = pl.Series("content_id", [None] * decisions.height, pl.String)
    batch = None
    if last is not None and not last.is_empty():
        prior = pl.DataFrame({"borrower_id": decisions["borrower_id"], "digest": digest}).join(
            last, on="borrower_id", how="left", maintain_order="left"
        )
        same = (prior["digest"] == prior["last_digest"]).fill_null(False)
        if same.sum() >= max(repeats_from, 1):
            repeated = (
                prior.with_row_index("position")
                .filter(same)
                .select("position", "borrower_id", pl.col("content_id").alias("same_as"))
                .sort("borrower_id")
            )
            prefix = repeats.id_prefix()
            repeat_ids = pl.Series(repeats.repeat_ids(prefix, repeated.height), dtype=pl.String)
            ids = ids.scatter(repeated["position"], repeat_ids)
            same_as = same_as.scatter(repeated["position"], repeated["same_as"])
            batch = DecisionRepeatRow(
                id_prefix=prefix,
                run_id=run.run_id,
                as_of=run.as_of,
                first_borrower=repeated["borrower_id"][0],
                last_borrower=repeated["borrower_id"][-1],
                decisions=repeated.height,
                payload=repeats.encode(repeated),
            )
    logged = decisions.with_columns(ids, pl.lit(run.run_id).alias("run_id"), digest, same_as)
    return logged, batch


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


def decision_ids(count: int) -> list[str]:
    """``count`` new decision ids that sort in the order decisions were made: the wall clock
    in nanoseconds, then random bits. A borrower's decisions with the same as-of time (two
    runs as of one date, or a test's fixed clock) are then told apart by which came later,
    not by chance."""
    prefix = f"{time.time_ns():016x}"
    # One draw of random bytes for the whole frame: a token per id cost ~3x as much (a run
    # names 100,000 decisions).
    bits = os.urandom(8 * count).hex()
    return [prefix + bits[i : i + 16] for i in range(0, 16 * count, 16)]


def summarise(decisions: pl.DataFrame) -> pl.DataFrame:
    """Borrowers per tier with their method states: the table the demo and CLI print."""
    return (
        _tier_counts(decisions)
        .with_columns((pl.col("pd_sum") / pl.col("borrowers")).alias("mean_pd"))
        .select(_SUMMARY_COLUMNS)
    )


_SUMMARY_INPUT = pl.Schema(
    {
        "tier": pl.Int8(),
        "pd": pl.Float64(),
        "auto_debit": pl.String(),
        "early_repayment": pl.String(),
        "manual": pl.String(),
    }
)
_SUMMARY_COLUMNS = (
    "tier", "borrowers", "mean_pd", "auto_debit_disabled", "auto_debit_mandatory",
    "early_restricted", "manual_forced",
)  # fmt: skip


def _tier_counts(decisions: pl.DataFrame) -> pl.DataFrame:
    """Per tier: borrowers, the sum of PD (means are combined across chunks from sums) and
    the count of each restriction."""
    return (
        decisions.group_by("tier")
        .agg(
            pl.len().cast(pl.UInt32).alias("borrowers"),
            pl.col("pd").sum().alias("pd_sum"),
            (pl.col("auto_debit") == "disabled").sum().alias("auto_debit_disabled"),
            (pl.col("auto_debit") == "mandatory").sum().alias("auto_debit_mandatory"),
            (pl.col("early_repayment") == "restricted").sum().alias("early_restricted"),
            (pl.col("manual") == "forced").sum().alias("manual_forced"),
        )
        .sort("tier")
    )
