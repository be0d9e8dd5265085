"""Every query of the decision log; nothing here commits."""

from __future__ import annotations

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from repayguard.decisions.models import DecisionRow, DecisionRunRow
from repayguard.platform.bulk import append_frame
from repayguard.platform.db import table_of

_COLUMNS = [column.name for column in table_of(DecisionRow).columns]


def add_run(session: Session, run: DecisionRunRow) -> None:
    session.add(run)


def add_decisions(session: Session, decisions: pl.DataFrame) -> None:
    """Append decisions (a frame with at least the decision-log columns)."""
    append_frame(session, table_of(DecisionRow), decisions.select(_COLUMNS))


def latest(session: Session, borrower_id: str) -> DecisionRow | None:
    return session.scalars(
        select(DecisionRow)
        .where(DecisionRow.borrower_id == borrower_id)
        .order_by(DecisionRow.as_of.desc(), DecisionRow.decision_id.desc())
        .limit(1)
    ).first()


def get(session: Session, decision_id: str) -> DecisionRow | None:
    return session.get(DecisionRow, decision_id)
