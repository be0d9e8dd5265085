"""Every query of the decision log; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import polars as pl
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repayguard.decisions.models import (
    DecisionRow,
    DecisionRunRow,
    LastDecisionRow,
    ShadowDecisionRow,
)
from repayguard.platform.bulk import append_frame
from repayguard.platform.db import table_of

_COLUMNS = [column.name for column in table_of(DecisionRow).columns]
_DECISIONS = table_of(DecisionRow)
_LAST = table_of(LastDecisionRow)


def add_run(session: Session, run: DecisionRunRow) -> None:
    session.add(run)


def add_decisions(session: Session, decisions: pl.DataFrame) -> None:
    """Append decisions (a frame with at least the decision-log columns)."""
    append_frame(session, table_of(DecisionRow), decisions.select(_COLUMNS))


def mark_latest(session: Session, run_id: str) -> None:
    """Record run ``run_id``'s decisions as their borrowers' latest (``last_decisions``), in
    one statement inside the database; a decision as of an earlier time than the one recorded
    (an operator deciding as of the past) does not move it back."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_LAST)
    statement = insert.from_select(
        ["borrower_id", "tier", "decided_at", "run_id"],
        select(
            _DECISIONS.c.borrower_id, _DECISIONS.c.tier, _DECISIONS.c.as_of, _DECISIONS.c.run_id
        ).where(_DECISIONS.c.run_id == run_id),
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["borrower_id"],
            set_={
                "tier": statement.excluded.tier,
                "decided_at": statement.excluded.decided_at,
                "run_id": statement.excluded.run_id,
            },
            where=statement.excluded.decided_at >= _LAST.c.decided_at,
        )
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
    """borrower_id, tier and policy inputs of every borrower's latest decision."""
    ranked = select(
        DecisionRow.borrower_id,
        DecisionRow.tier,
        DecisionRow.inputs,
        func.row_number()
        .over(
            partition_by=DecisionRow.borrower_id,
            order_by=(DecisionRow.as_of.desc(), DecisionRow.decision_id.desc()),
        )
        .label("rank"),
    ).subquery()
    rows = session.execute(
        select(ranked.c.borrower_id, ranked.c.tier, ranked.c.inputs)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.borrower_id)
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"borrower_id": pl.String, "tier": pl.Int16, "inputs": pl.String},
        orient="row",
    )


def latest(session: Session, borrower_id: str) -> DecisionRow | None:
    return session.scalars(
        select(DecisionRow)
        .where(DecisionRow.borrower_id == borrower_id)
        .order_by(DecisionRow.as_of.desc(), DecisionRow.decision_id.desc())
        .limit(1)
    ).first()


def get(session: Session, decision_id: str) -> DecisionRow | None:
    return session.get(DecisionRow, decision_id)


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
    return found


def recent(session: Session, borrower_id: str, *, limit: int) -> list[DecisionRow]:
    """The borrower's latest decisions, newest first."""
    return list(
        session.scalars(
            select(DecisionRow)
            .where(DecisionRow.borrower_id == borrower_id)
            .order_by(DecisionRow.as_of.desc(), DecisionRow.decision_id.desc())
            .limit(limit)
        )
    )


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
    rows = session.execute(
        select(*(getattr(d, name) for name in LOGGED_SCHEMA.names()))
        .where(d.as_of >= since, d.as_of <= until)
        .order_by(d.as_of, d.decision_id)
    )
    return pl.DataFrame([tuple(r) for r in rows], schema=LOGGED_SCHEMA, orient="row")


def runs_in_write_order(session: Session) -> list[DecisionRunRow]:
    """Every run that logged a decision, in the order their decisions were written (decision
    ids sort by the wall clock of the write, so two runs started at one clock time, or under
    a fixed test clock, still come in the order they happened)."""
    first = (
        select(DecisionRow.run_id, func.min(DecisionRow.decision_id).label("first"))
        .group_by(DecisionRow.run_id)
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
    return list(session.scalars(query.order_by(DecisionRow.borrower_id)))
