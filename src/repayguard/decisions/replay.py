"""Deterministic replay: rebuild the decision log and the entitlements from the event log and
prove them identical to the store's (``repayguard replay --verify``).

Each recorded run is replayed in the order its decisions were written: at its recorded as-of
time, over the borrowers it decided, with the events it could see (those appended up to its
recorded ``events_seq``; for runs recorded before that column, the events of batches received
by the run's start), the policy version it names (from the policy store, content hash
verified), its model version and its tier bands (sha256 checked). The pure core decides
(``core.pipeline.decide``) and the outcome is applied to entitlements by
``entitlements.apply_decisions`` itself, in a scratch in-memory SQLite store that holds only
entitlements: so the same code applies a replayed decision as applied the original, and the
production store is only read.

What is not a function of events is taken from the record, never recomputed and never
counted as verified (docs/operations.md, "Deterministic replay"): the open-case flags a
decision saw (from its recorded inputs), the outcome an emergency overlay set (rows with an
``overlay_id``: pd, tier and inputs are still recomputed and compared), and every borrower from
the moment a person or the scheduler set their entitlement (an approved override, a held
tightening awaiting a checker, a lapsed restriction). A run whose policy, model or bands
cannot be loaded is taken from the record whole, and the replay then cannot conclude.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

import orjson
import polars as pl
from sqlalchemy.orm import Session

from repayguard import entitlements, ingestion, policies
from repayguard.core.pipeline import FLAG_INPUTS, decide
from repayguard.core.scoring import RiskModel
from repayguard.decisions import repository
from repayguard.decisions.engine import DecisionEngine
from repayguard.decisions.models import DecisionRow, DecisionRunRow
from repayguard.decisions.replay_digest import (
    OUTCOME_FIELDS,
    Digest,
    Divergence,
    ReplayVerdict,
    RunAgreement,
    entitlement_fields,
    first_difference,
    replayed_decision,
    stored_decision,
)
from repayguard.errors import RepayguardError
from repayguard.platform.db import Base, make_engine, make_session_factory
from repayguard.platform.uow import UnitOfWork

_SET_OUTSIDE_RUNS = (entitlements.OVERRIDE_RULE, entitlements.EXPIRY_RULE)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReplay:
    """Replay every recorded decision run and compare with the store."""

    history_days: int
    """The history window runs read (``decisions.history_days``)."""


class _Replay:
    """The replay's moving parts: the scratch entitlements, the borrowers taken from the
    record from now on, the two pairs of digests and what was found."""

    def __init__(
        self,
        session: Session,
        engine: DecisionEngine,
        models: Callable[[str], RiskModel | None],
        history_days: int,
    ) -> None:
        self.session = session
        self.engine = engine
        self.models = models
        self.history_days = history_days
        self.scratch = _scratch_store()
        self.overrides = entitlements.override_starts(session)
        self.from_record: set[str] = set()
        self.stored, self.replayed = Digest(), Digest()
        self.divergences: list[Divergence] = []
        self.unverifiable: list[str] = []
        self.engines: dict[tuple[str, str, str], DecisionEngine | str] = {}


def verify_replay(
    cmd: VerifyReplay,
    *,
    uow: UnitOfWork,
    engine: DecisionEngine,
    models: Callable[[str], RiskModel | None],
    progress: Callable[[int, int], None] | None = None,
) -> ReplayVerdict:
    """Replay every recorded run (read-only: nothing is committed) and say whether the log and
    the entitlements rebuild identically; ``models`` gives a recorded model version (None:
    not available). ``engine`` supplies the policy name and the bands a run is checked
    against."""
    with uow:
        state = _Replay(uow.session, engine, models, cmd.history_days)
        runs = repository.runs_in_write_order(state.session)
        agreements = []
        for done, run in enumerate(runs, start=1):
            agreements.append(_replay_run(state, run))
            if progress is not None:
                progress(done, len(runs))
        ent_stored, ent_replayed, count, taken = _compare_entitlements(state)
    return ReplayVerdict(
        runs=tuple(agreements),
        decisions_stored=state.stored.hexdigest(),
        decisions_replayed=state.replayed.hexdigest(),
        entitlements_stored=ent_stored,
        entitlements_replayed=ent_replayed,
        entitlements=count,
        entitlements_from_record=taken,
        divergences=tuple(state.divergences),
        unverifiable=tuple(state.unverifiable),
    )


def _replay_run(state: _Replay, run: DecisionRunRow) -> RunAgreement:
    rows = repository.decisions_of_run(state.session, run.run_id)
    decided = _engine_of(state, run)
    if isinstance(decided, str):
        state.unverifiable.append(f"run {run.run_id}: {decided}")
        state.from_record.update(row.borrower_id for row in rows)
    _taint_outside_runs(state, run, [row.borrower_id for row in rows])
    live = [row for row in rows if row.borrower_id not in state.from_record]
    replayed = {} if isinstance(decided, str) else _decide(state, run, decided, live)
    divergent = 0
    for row in rows:
        stored = stored_decision(row)
        state.stored.add((run.run_id, row.borrower_id), stored)
        mine = replayed.get(row.borrower_id)
        if mine is None:  # taken from the record: the replay digests what the store holds
            state.replayed.add((run.run_id, row.borrower_id), stored)
            continue
        state.replayed.add((run.run_id, row.borrower_id), mine)
        differs = first_difference(stored, mine)
        if differs is not None:
            divergent += 1
            state.divergences.append(Divergence(run.run_id, row.borrower_id, *differs))
    note = decided if isinstance(decided, str) else None
    if run.events_seq is None and note is None:
        note = "events cut-off not recorded: batches received by the run's start"
    return RunAgreement(
        run.run_id,
        run.trigger,
        run.as_of,
        len(rows),
        len(replayed) - divergent,
        len(rows) - len(replayed),
        divergent,
        note,
    )


def _decide(
    state: _Replay, run: DecisionRunRow, engine: DecisionEngine, rows: list[DecisionRow]
) -> dict[str, dict[str, object]]:
    """Recompute ``rows``' decisions and apply them to the scratch entitlements; the
    replayed decisions by borrower, canonical."""
    if not rows:
        return {}
    borrowers = [row.borrower_id for row in rows]
    seen = run.events_seq
    if seen is None:
        seen = ingestion.seq_received_by(state.session, run.started_at)
    events = ingestion.load_history(
        state.session,
        since=run.as_of - timedelta(days=state.history_days),
        until=run.as_of,
        borrowers=borrowers,
        through_seq=seen,
    )
    current = _with_recorded_flags(entitlements.current_frame(state.scratch, borrowers), rows)
    told = entitlements.told_at(run.as_of, now=run.started_at)
    previous = entitlements.in_force_for_open_cases(state.scratch, current, as_of=told)
    frame = decide(
        events,
        as_of=run.as_of,
        model=engine.model,
        bands=engine.bands,
        policy=engine.compiled,
        previous=previous,
        borrowers=borrowers,
    )
    frame = _recorded_outcomes(frame, rows).with_columns(
        pl.Series("decision_id", [row.decision_id for row in rows], pl.String),
        pl.lit(run.run_id).alias("run_id"),
    )
    applied = entitlements.apply_decisions(
        state.scratch, frame, current=current, defaults=engine.defaults, now=run.started_at
    )
    # A held tightening waits for a checker, whose verdict is not in the event log.
    state.from_record.update(held.borrower_id for held in applied.held)
    return {row["borrower_id"]: replayed_decision(row) for row in frame.iter_rows(named=True)}


def _with_recorded_flags(current: pl.DataFrame, rows: list[DecisionRow]) -> pl.DataFrame:
    """``current`` with the open-case flags each decision saw (its recorded inputs): cases
    open and close outside the event log. A flagged borrower without an entitlement gets a
    row of nulls, as ``entitlements.current_frame`` gives one."""
    seen = pl.DataFrame(
        {
            "borrower_id": [row.borrower_id for row in rows],
            **{
                flag: [bool(orjson.loads(row.inputs).get(flag, False)) for row in rows]
                for flag in FLAG_INPUTS
            },
        },
        schema={"borrower_id": pl.String(), **dict.fromkeys(FLAG_INPUTS, pl.Boolean())},
    )
    joined = current.drop(FLAG_INPUTS, strict=False).join(
        seen, on="borrower_id", how="full", coalesce=True
    )
    return joined.filter(
        pl.col("borrower_id").is_in(current["borrower_id"].to_list())
        | pl.any_horizontal(pl.col(flag) for flag in FLAG_INPUTS)
    )


def _recorded_outcomes(frame: pl.DataFrame, rows: list[DecisionRow]) -> pl.DataFrame:
    """The recomputed frame (one row per decision, in ``rows``' order) with the outcome of
    every overlay-changed decision taken from the record."""
    frame = frame.join(
        pl.DataFrame({"borrower_id": [row.borrower_id for row in rows]}),
        on="borrower_id",
        how="right",
        maintain_order="right",
    ).select(frame.columns)
    overlaid = [row for row in rows if row.overlay_id is not None]
    if not overlaid:
        return frame
    recorded = pl.DataFrame(
        [
            {
                "borrower_id": row.borrower_id,
                **{name: getattr(row, name) for name in OUTCOME_FIELDS},
            }
            for row in overlaid
        ],
        schema={
            "borrower_id": pl.String(),
            **{name: frame.schema[name] for name in OUTCOME_FIELDS},
        },
    )
    return frame.update(recorded, on="borrower_id", include_nulls=True)


def _taint_outside_runs(state: _Replay, run: DecisionRunRow, borrowers: Iterable[str]) -> None:
    """Take from the record, from this run on, every borrower whose entitlement a person or the
    scheduler set before it: an override applied, or a restriction past its expiry."""
    for borrower in borrowers:
        applied = state.overrides.get(borrower)
        if applied is not None and applied <= run.started_at:
            state.from_record.add(borrower)
    live = [b for b in borrowers if b not in state.from_record]
    for borrower, held in entitlements.load(state.scratch, live).items():
        if held.expires_at is not None and held.expires_at <= run.started_at:
            state.from_record.add(borrower)


def _engine_of(state: _Replay, run: DecisionRunRow) -> DecisionEngine | str:
    """The engine that decided ``run`` rebuilt from its lineage, or why it cannot be."""
    key = (run.policy_version, run.policy_hash, run.model_version)
    if key not in state.engines:
        state.engines[key] = _rebuild(state, run)
    found = state.engines[key]
    bands = state.engine.bands_hash
    if isinstance(found, DecisionEngine) and run.bands_hash not in (None, bands):
        return f"bands {run.bands_version} ({run.bands_hash[:12]}) are not the ones in use"
    return found


def _rebuild(state: _Replay, run: DecisionRunRow) -> DecisionEngine | str:
    model = state.models(run.model_version)
    if model is None:
        return f"model {run.model_version} is not available"
    if not run.policy_version.isdigit():
        return f"policy {run.policy_version!r} is not a published version"
    known = policies.profiles()
    name = state.engine.policy.name
    try:
        policy = policies.resolve(
            policies.VersionRef(name, int(run.policy_version)),
            session=state.session,
            profiles=known,
        )
        compiled = policies.compile_checked(policy, profiles=known)
    except RepayguardError as refused:
        return f"policy {name} v{run.policy_version} cannot be loaded: {refused.message}"
    if compiled.content_hash != run.policy_hash:
        return f"policy {name} v{run.policy_version} no longer has the recorded hash"
    return replace(state.engine.with_policy(policy, compiled), model=model, overlays=())


def _compare_entitlements(state: _Replay) -> tuple[str, str, int, int]:
    """Both digests of the entitlements, how many, and how many were taken from the record."""
    stored = entitlements.load(state.session)
    replayed = entitlements.load(state.scratch)
    stored_digest, replayed_digest = Digest(), Digest()
    taken = 0
    for borrower in sorted(stored.keys() | replayed.keys()):
        mine, theirs = replayed.get(borrower), stored.get(borrower)
        if theirs is not None:
            stored_digest.add((borrower,), entitlement_fields(theirs))
        if theirs is not None and (
            borrower in state.from_record or theirs.rule_id in _SET_OUTSIDE_RUNS
        ):
            taken += 1
            replayed_digest.add((borrower,), entitlement_fields(theirs))
            continue
        if mine is not None:
            replayed_digest.add((borrower,), entitlement_fields(mine))
        if mine is None or theirs is None:
            state.divergences.append(
                Divergence(None, borrower, "entitlement", theirs is not None, mine is not None)
            )
            continue
        differs = first_difference(entitlement_fields(theirs), entitlement_fields(mine))
        if differs is not None:
            state.divergences.append(Divergence(None, borrower, *differs))
    return stored_digest.hexdigest(), replayed_digest.hexdigest(), len(stored), taken


def _scratch_store() -> Session:
    """An in-memory SQLite store with only the tables entitlements are applied to."""
    engine = make_engine("sqlite://")
    for name in ("entitlements", "borrower_flags"):
        Base.metadata.tables[name].create(engine)
    session: Session = make_session_factory(engine)()
    return session
