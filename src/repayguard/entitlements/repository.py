"""Every query of the entitlement table; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repayguard.entitlements.models import EntitlementRow
from repayguard.entitlements.states import Entitlement, MethodStates

_IN_CHUNK = 500


def load(session: Session, borrowers: Sequence[str] | None = None) -> dict[str, Entitlement]:
    """Entitlements by borrower: of the named borrowers, or of everyone when None."""
    query = select(EntitlementRow).where(EntitlementRow.loan_scope == "*")
    rows: list[EntitlementRow] = []
    if borrowers is None:
        rows = list(session.scalars(query))
    else:
        for start in range(0, len(borrowers), _IN_CHUNK):
            chunk = borrowers[start : start + _IN_CHUNK]
            rows.extend(session.scalars(query.where(EntitlementRow.borrower_id.in_(chunk))))
    return {row.borrower_id: to_entitlement(row) for row in rows}


def sample(session: Session, **states: str) -> Entitlement | None:
    """The first entitlement (by borrower id) whose columns equal ``states``, if any."""
    query = select(EntitlementRow).where(EntitlementRow.loan_scope == "*")
    for column, value in states.items():
        query = query.where(getattr(EntitlementRow, column) == value)
    row = session.scalars(query.order_by(EntitlementRow.borrower_id).limit(1)).first()
    return to_entitlement(row) if row is not None else None


def to_entitlement(row: EntitlementRow) -> Entitlement:
    return Entitlement(
        borrower_id=row.borrower_id,
        states=MethodStates(
            row.auto_debit, row.early_repayment, row.manual, tuple(row.manual_channels)
        ),
        interim=MethodStates.from_dict(row.interim) if row.interim else None,
        effective_at=row.effective_at,
        expires_at=row.expires_at,
        review_at=row.review_at,
        reasons=tuple(row.reasons),
        decision_id=row.decision_id,
        rule_id=row.rule_id,
        tier=row.tier,
        tier_since=row.tier_since,
    )


def upsert(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace entitlement rows (keyed by borrower and loan scope)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), 5_000):
        statement = insert(EntitlementRow)
        update = {
            column.name: statement.excluded[column.name]
            for column in EntitlementRow.__table__.columns
            if not column.primary_key
        }
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["borrower_id", "loan_scope"], set_=update
            ),
            list(rows[start : start + 5_000]),
        )
