"""Open cases the policy sees (G5): a borrower's ``open_appeal`` / ``open_hardship`` inputs.

A capability that handles such cases (complaints: appeals) raises the flag in the transaction
that opens a case and lowers it in the one that closes it; decisions read the flags with the
current entitlements (``current_frame``), so the policy decides what an open case means — the
shipped policy keeps the current methods (``appeal-freeze``). A flag is held per case, so a
borrower with two open cases keeps the input true until both are closed. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from repayguard.core.pipeline import FLAG_INPUTS
from repayguard.entitlements.models import BorrowerFlagRow

OPEN_APPEAL: Final = "open_appeal"
OPEN_HARDSHIP: Final = "open_hardship"
_IN_CHUNK: Final = 500


def _known(flag: str) -> str:
    if flag not in FLAG_INPUTS:
        raise ValueError(f"unknown borrower flag {flag!r}; one of {', '.join(FLAG_INPUTS)}")
    return flag


def raise_flag(
    session: Session, borrower_id: str, flag: str, *, reference: str, now: datetime
) -> None:
    """Hold ``flag`` up for ``borrower_id`` while the case ``reference`` is open (idempotent)."""
    key = (borrower_id, _known(flag), reference)
    if session.get(BorrowerFlagRow, key) is None:
        session.add(
            BorrowerFlagRow(borrower_id=borrower_id, flag=flag, reference=reference, raised_at=now)
        )
        session.flush()


def lower_flag(session: Session, borrower_id: str, flag: str, *, reference: str) -> bool:
    """Let go of ``flag`` for the closed case ``reference``; returns whether it was held. The
    input stays true while another case of the same flag is open."""
    result = session.execute(
        delete(BorrowerFlagRow).where(
            BorrowerFlagRow.borrower_id == borrower_id,
            BorrowerFlagRow.flag == _known(flag),
            BorrowerFlagRow.reference == reference,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def flags_of(session: Session, borrowers: Sequence[str] | None) -> dict[str, frozenset[str]]:
    """The flags up per borrower (of the named borrowers, or everyone when None); borrowers
    without any are absent."""
    query = select(BorrowerFlagRow.borrower_id, BorrowerFlagRow.flag).distinct()
    chunks: list[Sequence[str] | None] = (
        [None]
        if borrowers is None
        else [borrowers[i : i + _IN_CHUNK] for i in range(0, len(borrowers), _IN_CHUNK)]
    )
    found: dict[str, set[str]] = {}
    for chunk in chunks:
        selected = query if chunk is None else query.where(BorrowerFlagRow.borrower_id.in_(chunk))
        for borrower_id, flag in session.execute(selected):
            found.setdefault(borrower_id, set()).add(flag)
    return {borrower: frozenset(flags) for borrower, flags in found.items()}


def with_flags(
    current: pl.DataFrame, session: Session, borrowers: Sequence[str] | None
) -> pl.DataFrame:
    """``current`` (one row per borrower) with a Boolean column per flag input. A flagged
    borrower without an entitlement row (their first decision waits for approval) gets a row
    of nulls, so the flag still reaches the policy. A portfolio without open cases costs one
    indexed lookup and two constant columns."""
    up = flags_of(session, borrowers)
    if not up:
        return current.with_columns(pl.lit(False).alias(flag) for flag in FLAG_INPUTS)
    flagged = pl.DataFrame(
        {
            "borrower_id": list(up),
            **{flag: [flag in flags for flags in up.values()] for flag in FLAG_INPUTS},
        },
        schema={"borrower_id": pl.String(), **dict.fromkeys(FLAG_INPUTS, pl.Boolean())},
    )
    joined = current.join(flagged, on="borrower_id", how="full", coalesce=True)
    return joined.with_columns(pl.col(flag).fill_null(False) for flag in FLAG_INPUTS)
