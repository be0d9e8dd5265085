"""Every query of the entitlement table; nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import polars as pl
from sqlalchemy import Text, cast, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repayguard.entitlements.models import EntitlementRow
from repayguard.entitlements.states import Entitlement, MethodStates
from repayguard.platform.bulk import upsert_frame
from repayguard.platform.columnar import read_in_session
from repayguard.platform.db import table_of

_IN_CHUNK = 500


CURRENT_SCHEMA = pl.Schema(
    {
        "borrower_id": pl.String(),
        "tier": pl.Int8(),
        "tier_since": pl.Datetime("us", "UTC"),
        "auto_debit": pl.String(),
        "early_repayment": pl.String(),
        "manual": pl.String(),
        "manual_channels": pl.List(pl.String()),
        "reasons": pl.List(pl.String()),
    }
)
"""Columns of the current-entitlement frame (the decision core's ``previous``)."""

_JSON_COLUMNS = ("manual_channels", "reasons")


def read_current(session: Session) -> pl.DataFrame:
    """Every borrower's current entitlement (the batch path), read in the session's
    transaction without a reader process: eight narrow columns a borrower."""
    as_text = pl.Schema(
        {n: pl.String() if n in _JSON_COLUMNS else t for n, t in CURRENT_SCHEMA.items()}
    )
    query = f"SELECT {', '.join(CURRENT_SCHEMA.names())} FROM entitlements WHERE loan_scope = ?"
    frame = read_in_session(session, query, ["*"], as_text)
    return frame.with_columns(
        pl.col(name).str.json_decode(CURRENT_SCHEMA[name]) for name in _JSON_COLUMNS
    )


def current_of(entitlements: Iterable[Entitlement]) -> pl.DataFrame:
    """``entitlements`` as a frame of CURRENT_SCHEMA (what :func:`read_current` reads)."""
    found = list(entitlements)
    return pl.DataFrame(
        {
            "borrower_id": [e.borrower_id for e in found],
            "tier": [e.tier for e in found],
            "tier_since": [e.tier_since for e in found],
            "auto_debit": [e.states.auto_debit for e in found],
            "early_repayment": [e.states.early_repayment for e in found],
            "manual": [e.states.manual for e in found],
            "manual_channels": [list(e.states.manual_channels) for e in found],
            "reasons": [list(e.reasons) for e in found],
        },
        schema=CURRENT_SCHEMA,
    )


def load(session: Session, borrowers: Sequence[str] | None = None) -> dict[str, Entitlement]:
    """Entitlements by borrower: of the named borrowers, or of everyone when None.

    Reads plain rows (no ORM identity map): a batch run loads every borrower's entitlement.
    """
    table = table_of(EntitlementRow)
    query = select(*table.columns).where(table.c.loan_scope == "*")
    found: dict[str, Entitlement] = {}
    chunks: list[Sequence[str] | None] = (
        [None]
        if borrowers is None
        else [borrowers[i : i + _IN_CHUNK] for i in range(0, len(borrowers), _IN_CHUNK)]
    )
    for chunk in chunks:
        selected = query if chunk is None else query.where(table.c.borrower_id.in_(chunk))
        for row in session.execute(selected).mappings():
            found[row["borrower_id"]] = _entitlement(dict(row))
    return found


def sample(session: Session, **states: str) -> Entitlement | None:
    """The first entitlement (by borrower id) whose columns equal ``states``, if any."""
    query = select(EntitlementRow).where(EntitlementRow.loan_scope == "*")
    for column, value in states.items():
        query = query.where(getattr(EntitlementRow, column) == value)
    row = session.scalars(query.order_by(EntitlementRow.borrower_id).limit(1)).first()
    if row is None:
        return None
    return _entitlement({c.name: getattr(row, c.name) for c in table_of(EntitlementRow).columns})


def _entitlement(row: Mapping[str, Any]) -> Entitlement:
    return Entitlement(
        borrower_id=row["borrower_id"],
        states=MethodStates(
            row["auto_debit"], row["early_repayment"], row["manual"], tuple(row["manual_channels"])
        ),
        interim=MethodStates.from_dict(row["interim"]) if row["interim"] else None,
        effective_at=row["effective_at"],
        expires_at=row["expires_at"],
        review_at=row["review_at"],
        reasons=tuple(row["reasons"]),
        decision_id=row["decision_id"],
        rule_id=row["rule_id"],
        tier=row["tier"],
        tier_since=row["tier_since"],
    )


def row_of(entitlement: Entitlement, *, updated_at: datetime) -> dict[str, Any]:
    """The entitlements row that stores ``entitlement`` (all loans: scope ``*``), for
    :func:`upsert`; the inverse of reading one."""
    return {
        "borrower_id": entitlement.borrower_id,
        "loan_scope": "*",
        **entitlement.states.as_dict(),
        "reasons": list(entitlement.reasons),
        "interim": entitlement.interim.as_dict() if entitlement.interim else None,
        "effective_at": entitlement.effective_at,
        "expires_at": entitlement.expires_at,
        "review_at": entitlement.review_at,
        "decision_id": entitlement.decision_id,
        "rule_id": entitlement.rule_id,
        "tier": entitlement.tier,
        "tier_since": entitlement.tier_since,
        "updated_at": updated_at,
    }


def upsert(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace entitlement rows (keyed by borrower and loan scope)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), 5_000):
        statement = insert(table_of(EntitlementRow))
        update = {
            column.name: statement.excluded[column.name]
            for column in table_of(EntitlementRow).columns
            if not column.primary_key
        }
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["borrower_id", "loan_scope"], set_=update
            ),
            list(rows[start : start + 5_000]),
        )


_ROW_SCHEMA = pl.Schema(
    {
        "borrower_id": pl.String(),
        "loan_scope": pl.String(),
        "auto_debit": pl.String(),
        "early_repayment": pl.String(),
        "manual": pl.String(),
        "manual_channels": pl.String(),
        "reasons": pl.String(),
        "interim": pl.String(),
        "effective_at": pl.Datetime("us", "UTC"),
        "expires_at": pl.Datetime("us", "UTC"),
        "review_at": pl.Datetime("us", "UTC"),
        "decision_id": pl.String(),
        "rule_id": pl.String(),
        "tier": pl.Int16(),
        "tier_since": pl.Datetime("us", "UTC"),
        "updated_at": pl.Datetime("us", "UTC"),
    }
)


def upsert_all(
    session: Session, entitlements: Sequence[Entitlement], *, updated_at: datetime
) -> None:
    """Store ``entitlements`` (one per borrower, all loans) as :func:`upsert` stores their
    :func:`row_of` rows — the same values, JSON ``null`` for no interim states as the ORM
    writes it — in bulk: a run's changes are encoded column by column and written by one
    statement (``platform.bulk.upsert_frame``), not row by row through SQLAlchemy. JSON
    columns are made as text here (the engine's own serializer, orjson): a Polars list column
    built from 100k Python lists costs ten times more than the text."""
    if not entitlements:
        return
    frame = pl.DataFrame(
        {
            "borrower_id": [e.borrower_id for e in entitlements],
            "loan_scope": ["*"] * len(entitlements),
            "auto_debit": [e.states.auto_debit for e in entitlements],
            "early_repayment": [e.states.early_repayment for e in entitlements],
            "manual": [e.states.manual for e in entitlements],
            "manual_channels": [_json(list(e.states.manual_channels)) for e in entitlements],
            "reasons": [_json(list(e.reasons)) for e in entitlements],
            "interim": [_json(e.interim.as_dict() if e.interim else None) for e in entitlements],
            "effective_at": [e.effective_at for e in entitlements],
            "expires_at": [e.expires_at for e in entitlements],
            "review_at": [e.review_at for e in entitlements],
            "decision_id": [e.decision_id for e in entitlements],
            "rule_id": [e.rule_id for e in entitlements],
            "tier": [e.tier for e in entitlements],
            "tier_since": [e.tier_since for e in entitlements],
            "updated_at": [updated_at] * len(entitlements),
        },
        schema=_ROW_SCHEMA,
    )
    upsert_frame(session, table_of(EntitlementRow), frame, key=("borrower_id", "loan_scope"))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


# -- timed transitions (the scheduler's queries) -------------------------------------------------


def pending_due(session: Session, *, now: datetime, limit: int) -> list[Entitlement]:
    """Entitlements whose notice period is over but whose interim states are still recorded,
    oldest effective time first. (A JSON column stores "no interim" as JSON null or SQL NULL.)"""
    table = table_of(EntitlementRow)
    query = (
        select(*table.columns)
        .where(
            table.c.loan_scope == "*",
            table.c.effective_at <= now,
            table.c.interim.is_not(None),
            cast(table.c.interim, Text) != "null",
        )
        .order_by(table.c.effective_at, table.c.borrower_id)
        .limit(limit)
    )
    return [_entitlement(dict(row)) for row in session.execute(query).mappings()]


def review_due(session: Session, *, now: datetime, limit: int) -> list[Entitlement]:
    """Entitlements whose review date or expiry has come, by borrower id."""
    table = table_of(EntitlementRow)
    query = (
        select(*table.columns)
        .where(
            table.c.loan_scope == "*",
            or_(table.c.review_at <= now, table.c.expires_at <= now),
        )
        .order_by(table.c.borrower_id)
        .limit(limit)
    )
    return [_entitlement(dict(row)) for row in session.execute(query).mappings()]


def update_if_unchanged(
    session: Session,
    borrower_id: str,
    *,
    decision_id: str,
    rule_id: str,
    values: Mapping[str, Any],
) -> bool:
    """Write ``values`` only if the entitlement is still the one ``decision_id`` and ``rule_id``
    set (compare-and-set): a decision or override written meanwhile wins."""
    table = table_of(EntitlementRow)
    result = session.execute(
        update(table)
        .where(
            table.c.borrower_id == borrower_id,
            table.c.loan_scope == "*",
            table.c.decision_id == decision_id,
            table.c.rule_id == rule_id,
        )
        .values(dict(values))
    )
    return bool(getattr(result, "rowcount", 0))
