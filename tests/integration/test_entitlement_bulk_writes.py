"""A run's entitlement changes written in bulk are stored exactly as the row-by-row upsert
stores them, new rows and replaced ones, on SQLite and PostgreSQL; the current-entitlement
frame a run reads (in its own session on SQLite) is what the store holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from repayguard.bootstrap import Container
from repayguard.entitlements import repository
from repayguard.entitlements.models import EntitlementRow
from repayguard.entitlements.states import Entitlement, MethodStates

from support.common import NOW

_COLUMNS = [c.name for c in EntitlementRow.__table__.columns]


def _entitlements(decision: str) -> list[Entitlement]:
    """Borrowers covering every optional column: with and without interim states, expiry,
    review, tier; no channels and several; no reasons and several."""
    open_ = MethodStates("enabled", "allowed", "allowed", ())
    tight = MethodStates("mandatory", "restricted", "forced", ("branch", "phone"))
    return [
        Entitlement(
            borrower_id=f"B{index}",
            states=tight if index % 2 else open_,
            interim=open_ if index % 3 == 0 else None,
            effective_at=NOW + timedelta(days=index),
            expires_at=NOW + timedelta(days=90) if index % 2 else None,
            review_at=NOW + timedelta(days=30, microseconds=index) if index % 4 else None,
            reasons=("R_DPD_30", "R_FAILED_DEBITS")[: index % 3],
            decision_id=f"{decision}{index:04d}",
            rule_id=f"rule-{index % 3}",
            tier=index % 5 + 1 if index % 5 else None,
            tier_since=NOW - timedelta(days=index) if index % 5 else None,
        )
        for index in range(12)
    ]


def _stored(session: Session) -> list[tuple[Any, ...]]:
    # As text: what the store holds, JSON null told from SQL NULL.
    columns = ", ".join(f"CAST({c} AS TEXT)" for c in _COLUMNS)
    query = f"SELECT {columns} FROM entitlements ORDER BY borrower_id"
    return [tuple(row) for row in session.connection().exec_driver_sql(query)]


def _write_both_ways(container: Container, batches: list[list[Entitlement]]) -> tuple[Any, Any]:
    found = []
    for bulk in (False, True):
        with container.session_factory() as session, session.begin():
            session.execute(delete(EntitlementRow))
            for batch in batches:
                if bulk:
                    repository.upsert_all(session, batch, updated_at=NOW)
                else:
                    rows = [repository.row_of(e, updated_at=NOW) for e in batch]
                    repository.upsert(session, rows)
            found.append(_stored(session))
    return found[0], found[1]


def test_bulk_upsert_stores_what_the_row_by_row_upsert_stores(container: Container) -> None:
    first = _entitlements("d1")
    # A later run replaces half the rows (other states, no interim, a new decision).
    second = [
        Entitlement(
            borrower_id=e.borrower_id,
            states=MethodStates("disabled", "allowed", "allowed", ()),
            interim=None,
            effective_at=e.effective_at + timedelta(hours=1),
            expires_at=None,
            review_at=e.review_at,
            reasons=("R_NEW",),
            decision_id=e.decision_id.replace("d1", "d2"),
            rule_id="rule-x",
            tier=e.tier,
            tier_since=e.tier_since,
        )
        for e in first[::2]
    ]

    by_row, in_bulk = _write_both_ways(container, [first, second])

    assert len(in_bulk) == 12
    assert in_bulk == by_row


def test_the_current_entitlement_frame_holds_every_stored_entitlement(
    container: Container,
) -> None:
    written = _entitlements("d1")
    with container.session_factory() as session, session.begin():
        repository.upsert_all(session, written, updated_at=NOW)
    with container.session_factory() as session:
        current = repository.read_current(session)

    assert current.schema == repository.CURRENT_SCHEMA
    expected = repository.current_of(written)
    assert current.sort("borrower_id").equals(expected.sort("borrower_id"))
