"""Every query of the decision log; nothing here commits.

The log is two tables: ``decisions`` (a full row per decision) and ``decision_repeats`` (a
chunk's decisions that repeat their borrower's latest one, as references to the full row with
that content: :mod:`repayguard.decisions.repeats`). Readers here answer with whole decisions
either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import polars as pl
from sqlalchemy import func, insert, select, union_all
from sqlalchemy.orm import Session

from repayguard.decisions import repeats
from repayguard.decisions.models import (
    DecisionRepeatRow,
    DecisionRow,
    DecisionRunRow,
    LastDecisionRow,
    ShadowDecisionRow,
)
from repayguard.platform.bulk import append_frame, upsert_frame
from repayguard.platform.db import table_of

_COLUMNS = [column.name for column in table_of(DecisionRow).columns]
_LAST = table_of(LastDecisionRow)
_REPEATS = table_of(DecisionRepeatRow)
_ORDER = (DecisionRow.as_of.desc(), DecisionRow.decision_id.desc())


def add_run(session: Session, run: DecisionRunRow) -> None:
    session.add(run)


def add_decisions(session: Session, decisions: pl.DataFrame) -> None:
    """Append decisions (a frame with at least the decision-log columns)."""
    append_frame(session, table_of(DecisionRow), decisions.select(_COLUMNS))


def add_repeats(session: Session, batch: DecisionRepeatRow) -> None:
    """Append one chunk's repeated decisions (written at once, like ``add_decisions``)."""
    values = {column.key: getattr(batch, column.key) for column in _REPEATS.columns}
    session.execute(insert(_REPEATS), [values])


def mark_latest(session: Session, latest: pl.DataFrame) -> None:
    """Record decisions as their borrowers' latest (``last_decisions``: borrower_id, tier,
    decided_at, run_id, content_id, digest), in one bulk upsert; a decision as of an earlier
    time than the one recorded (an operator deciding as of the past) does not move it back."""
    upsert_frame(
        session,
        _LAST,
        latest,
        key=["borrower_id"],
        only_if=f"excluded.decided_at >= {_LAST.name}.decided_at",
    )


def latest_contents(session: Session) -> pl.DataFrame:
    """Each borrower's latest decision's content digest and the full row holding it
    (borrower_id, content_id, last_digest), where the digest is known."""
    # Through the driver: a whole-book run reads every borrower's row, and SQLAlchemy's
    # per-row result processing cost about as much as the read itself.
    rows = (
        session.connection()
        .exec_driver_sql(
            f"SELECT borrower_id, content_id, digest FROM {_LAST.name} WHERE digest IS NOT NULL"
        )
        .fetchall()
    )
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"borrower_id": pl.String, "content_id": pl.String, "last_digest": pl.Int64},
        orient="row",
    )


def due(session: Session, *, tier: int, before: datetime, inclusive: bool, limit: int) -> list[str]:
    """Up to ``limit`` borrowers of ``tier`` whose latest decision is before ``before`` (or at
    it, when ``inclusive``): one range scan of the (tier, decided_at) index."""
    decided = _LAST.c.decided_at
    reached = decided <= before if inclusive else decided < before
    return list(
        session.scalars(
            select(_LAST.c.borrower_id).where(_LAST.c.tier == tier, reached).limit(limit)
        )
    )


def recent_runs(session: Session, *, limit: int) -> list[DecisionRunRow]:
    """The latest decision runs, newest first."""
    return list(
        session.scalars(
            select(DecisionRunRow)
            .order_by(DecisionRunRow.started_at.desc(), DecisionRunRow.run_id)
            .limit(limit)
        )
    )


def latest_inputs(session: Session) -> pl.DataFrame:
    """borrower_id, tier and policy inputs of every borrower's latest decision (its content
    is in the row ``last_decisions`` names)."""
    rows = session.execute(
        select(_LAST.c.borrower_id, DecisionRow.tier, DecisionRow.inputs)
        .join(DecisionRow, DecisionRow.decision_id == _LAST.c.content_id)
        .order_by(_LAST.c.borrower_id)
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"borrower_id": pl.String, "tier": pl.Int16, "inputs": pl.String},
        orient="row",
    )


def latest(session: Session, borrower_id: str) -> DecisionRow | None:
    found = recent(session, borrower_id, limit=1)
    return found[0] if found else None


def get(session: Session, decision_id: str) -> DecisionRow | None:
    row = session.get(DecisionRow, decision_id)
    if row is not None:
        return row
    found = _repeats_by_id(session, [decision_id])
    return found[0] if found else None


def of_run(session: Session, run_id: str, borrowers: Sequence[str]) -> list[DecisionRow]:
    """The decisions run ``run_id`` took for any of ``borrowers`` (a few: looked up by id)."""
    found: list[DecisionRow] = []
    for start in range(0, len(borrowers), 500):
        part = borrowers[start : start + 500]
        found += session.scalars(
            select(DecisionRow).where(
                DecisionRow.run_id == run_id, DecisionRow.borrower_id.in_(part)
            )
        )
    wanted = pl.Series(list(borrowers), dtype=pl.String)
    return found + _expand(
        session,
        [
            (batch, repeats.decode(batch).filter(pl.col("borrower_id").is_in(wanted)))
            for batch in _batches_of_run(session, run_id)
        ],
    )


def recent(session: Session, borrower_id: str, *, limit: int) -> list[DecisionRow]:
    """The borrower's latest decisions, newest first: its full rows, and its repeats from the
    chunks whose borrower range holds it, newest first, read until older than the
    ``limit``-th decision found."""
    rows: list[DecisionRow] = list(
        session.scalars(
            select(DecisionRow)
            .where(DecisionRow.borrower_id == borrower_id)
            .order_by(*_ORDER)
            .limit(limit)
        )
    )
    covering = session.execute(
        select(_REPEATS.c.id_prefix, _REPEATS.c.as_of)
        .where(_REPEATS.c.first_borrower <= borrower_id, _REPEATS.c.last_borrower >= borrower_id)
        .order_by(_REPEATS.c.as_of.desc(), _REPEATS.c.id_prefix.desc())
    ).all()
    hits: list[tuple[DecisionRepeatRow, pl.DataFrame]] = []
    for prefix, as_of in covering:
        if len(rows) + len(hits) >= limit and as_of < _nth_as_of(rows, hits, limit):
            break
        batch = session.get_one(DecisionRepeatRow, prefix)
        hit = repeats.decode(batch).filter(pl.col("borrower_id") == borrower_id)
        if hit.height:
            hits.append((batch, hit))
    merged = rows + _expand(session, hits)
    merged.sort(key=lambda row: (row.as_of, row.decision_id), reverse=True)
    return merged[:limit]


def _nth_as_of(
    rows: list[DecisionRow], hits: list[tuple[DecisionRepeatRow, pl.DataFrame]], n: int
) -> datetime:
    """The as-of time of the ``n``-th newest decision found so far."""
    times = sorted([row.as_of for row in rows] + [batch.as_of for batch, _ in hits], reverse=True)
    return times[n - 1]


def inputs_of(session: Session, decision_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The policy inputs of logged decisions (decoded JSON), by decision id; ids not in the
    log are absent."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(decision_ids), 500):
        chunk = decision_ids[start : start + 500]
        rows = session.execute(
            select(DecisionRow.decision_id, DecisionRow.inputs).where(
                DecisionRow.decision_id.in_(chunk)
            )
        )
        found.update({decision_id: orjson.loads(inputs) for decision_id, inputs in rows})
    missing = [d for d in decision_ids if d not in found]
    for row in _repeats_by_id(session, missing) if missing else []:
        found[row.decision_id] = orjson.loads(row.inputs)
    return found


def _batches_of_run(session: Session, run_id: str) -> list[DecisionRepeatRow]:
    return list(
        session.scalars(select(DecisionRepeatRow).where(DecisionRepeatRow.run_id == run_id))
    )


def _repeats_by_id(session: Session, decision_ids: Sequence[str]) -> list[DecisionRow]:
    """The repeated decisions among ``decision_ids`` (each found from its chunk's prefix)."""
    wanted: dict[str, list[int]] = {}
    for decision_id in decision_ids:
        if len(decision_id) == 32:
            try:
                index = int(decision_id[24:], 16)
            except ValueError:
                continue
            wanted.setdefault(decision_id[:24], []).append(index)
    parts = []
    for prefix, indexes in wanted.items():
        batch = session.get(DecisionRepeatRow, prefix)
        if batch is not None:
            frame = repeats.decode(batch)
            kept = [i for i in indexes if i < frame.height]
            parts.append((batch, frame.select(pl.all().gather(kept))))
    return _expand(session, parts)


def _expand(
    session: Session, parts: Sequence[tuple[DecisionRepeatRow, pl.DataFrame]]
) -> list[DecisionRow]:
    """Repeats (each batch with some of its decoded rows) as whole decisions."""
    sources = _rows_by_id(
        session, sorted({same for _, frame in parts for same in frame["same_as"]})
    )
    return [
        repeats.as_decision(
            sources[same], decision_id=decision_id, run_id=batch.run_id, batch=batch
        )
        for batch, frame in parts
        for decision_id, same in zip(frame["decision_id"], frame["same_as"], strict=True)
    ]


def _rows_by_id(session: Session, decision_ids: Sequence[str]) -> dict[str, DecisionRow]:
    found: dict[str, DecisionRow] = {}
    for start in range(0, len(decision_ids), 500):
        chunk = decision_ids[start : start + 500]
        rows = session.scalars(select(DecisionRow).where(DecisionRow.decision_id.in_(chunk)))
        found.update((row.decision_id, row) for row in rows)
    return found


def add_shadow(session: Session, shadow: pl.DataFrame) -> None:
    """Append challenger outcomes (a frame with the ``shadow_decisions`` columns)."""
    table = table_of(ShadowDecisionRow)
    append_frame(session, table, shadow.select([c.name for c in table.columns]))


LOGGED_SCHEMA = pl.Schema(
    {
        "borrower_id": pl.String(),
        "as_of": pl.Datetime("us", "UTC"),
        "tier": pl.Int16(),
        "pd": pl.Float64(),
        "model_version": pl.String(),
        "auto_debit": pl.String(),
        "early_repayment": pl.String(),
        "manual": pl.String(),
    }
)
"""The columns of ``decision_log_between``."""


def decision_log_between(session: Session, *, since: datetime, until: datetime) -> pl.DataFrame:
    """Each logged decision made as of [since, until]: borrower, as-of time, tier, PD, model
    and the decided method states (read by portfolio monitoring), oldest first."""
    d = DecisionRow
    content = [name for name in LOGGED_SCHEMA.names() if name not in ("borrower_id", "as_of")]
    rows = session.execute(
        select(d.decision_id, *(getattr(d, name) for name in LOGGED_SCHEMA.names())).where(
            d.as_of >= since, d.as_of <= until
        )
    )
    schema = pl.Schema({"decision_id": pl.String(), **LOGGED_SCHEMA})
    full = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    batches = session.scalars(
        select(DecisionRepeatRow).where(
            DecisionRepeatRow.as_of >= since, DecisionRepeatRow.as_of <= until
        )
    ).all()
    parts = [
        repeats.decode(b).with_columns(pl.lit(b.as_of, LOGGED_SCHEMA["as_of"]).alias("as_of"))
        for b in batches
    ]
    if parts:
        repeated = pl.concat(parts)
        same = repeated["same_as"].unique().sort().to_list()
        sources: list[Any] = []
        for start in range(0, len(same), 500):
            sources += session.execute(
                select(d.decision_id, *(getattr(d, name) for name in content)).where(
                    d.decision_id.in_(same[start : start + 500])
                )
            ).all()
        source = pl.DataFrame(
            [tuple(r) for r in sources],
            schema={"same_as": pl.String(), **{n: LOGGED_SCHEMA[n] for n in content}},
            orient="row",
        )
        full = pl.concat([full, repeated.join(source, on="same_as").select(schema.names())])
    return full.sort("as_of", "decision_id").drop("decision_id")


def runs_in_write_order(session: Session) -> list[DecisionRunRow]:
    """Every run that logged a decision, in the order their decisions were written (decision
    ids sort by the wall clock of the write, so two runs started at one clock time, or under
    a fixed test clock, still come in the order they happened)."""
    firsts = union_all(
        select(DecisionRow.run_id, func.min(DecisionRow.decision_id).label("first")).group_by(
            DecisionRow.run_id
        ),
        select(_REPEATS.c.run_id, func.min(_REPEATS.c.id_prefix).label("first")).group_by(
            _REPEATS.c.run_id
        ),
    ).subquery()
    first = (
        select(firsts.c.run_id, func.min(firsts.c.first).label("first"))
        .group_by(firsts.c.run_id)
        .subquery()
    )
    query = (
        select(DecisionRunRow)
        .join(first, first.c.run_id == DecisionRunRow.run_id)
        .order_by(first.c.first)
    )
    return list(session.scalars(query))


def decisions_of_run(session: Session, run_id: str) -> list[DecisionRow]:
    """Every decision of run ``run_id``, by borrower."""
    query = select(DecisionRow).where(DecisionRow.run_id == run_id)
    rows = list(session.scalars(query))
    rows += _expand(session, [(b, repeats.decode(b)) for b in _batches_of_run(session, run_id)])
    rows.sort(key=lambda row: row.borrower_id)
    return rows
