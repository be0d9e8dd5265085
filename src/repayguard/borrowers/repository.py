"""Every query of borrower profiles (repositories never commit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from repayguard.borrowers.models import BorrowerProfileRow
from repayguard.platform.db import table_of

_PROFILES = table_of(BorrowerProfileRow)


def get(session: Session, borrower_id: str) -> BorrowerProfileRow | None:
    return session.get(BorrowerProfileRow, borrower_id)


def add(session: Session, row: BorrowerProfileRow) -> None:
    session.add(row)


def locale_of(session: Session, borrower_id: str) -> str | None:
    return session.scalar(
        select(BorrowerProfileRow.locale).where(BorrowerProfileRow.borrower_id == borrower_id)
    )


def encrypted_fields(
    session: Session, borrower_id: str, fields: Sequence[str]
) -> dict[str, str | None] | None:
    """The ciphertexts of just these personal fields of a profile (None: no profile)."""
    columns = [_PROFILES.c[f"{name}_enc"] for name in fields]
    row = session.execute(
        select(*columns).where(_PROFILES.c.borrower_id == borrower_id)
    ).one_or_none()
    if row is None:
        return None
    return {
        name: (None if token is None else str(token))
        for name, token in zip(fields, row, strict=True)
    }


def locales_of(session: Session, borrower_ids: Sequence[str]) -> dict[str, str]:
    """The locale of each of these borrowers that has a profile."""
    found: dict[str, str] = {}
    for start in range(0, len(borrower_ids), 500):
        chunk = borrower_ids[start : start + 500]
        rows = session.execute(
            select(BorrowerProfileRow.borrower_id, BorrowerProfileRow.locale).where(
                BorrowerProfileRow.borrower_id.in_(chunk)
            )
        )
        found.update({str(borrower_id): str(locale) for borrower_id, locale in rows})
    return found


def not_on_key(
    session: Session, key_id: str, *, after: str, limit: int
) -> Sequence[BorrowerProfileRow]:
    """Profiles encrypted under another key than ``key_id``, by borrower id after ``after``."""
    return session.scalars(
        select(BorrowerProfileRow)
        .where(BorrowerProfileRow.key_id != key_id, BorrowerProfileRow.borrower_id > after)
        .order_by(BorrowerProfileRow.borrower_id)
        .limit(limit)
    ).all()


def replace_if_unchanged(
    session: Session, borrower_id: str, *, version: int, values: dict[str, Any]
) -> bool:
    """Write ``values`` only if the row is still at ``version`` (compare-and-set): a profile
    updated meanwhile is left alone (it is already on the newer key)."""
    result = session.execute(
        update(_PROFILES)
        .where(_PROFILES.c.borrower_id == borrower_id, _PROFILES.c.version == version)
        .values(**values, version=version + 1)
    )
    return bool(getattr(result, "rowcount", 0))


def count_not_on_key(session: Session, key_id: str) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(_PROFILES).where(_PROFILES.c.key_id != key_id)
        )
        or 0
    )


def key_usage(session: Session) -> dict[str, int]:
    """Profiles per data key id."""
    rows = session.execute(
        select(_PROFILES.c.key_id, func.count()).group_by(_PROFILES.c.key_id)
    ).all()
    return {str(key_id): int(n) for key_id, n in rows}


def fairness_rows(session: Session, borrower_ids: Sequence[str] | None) -> list[Any]:
    """(borrower_id, region_enc, birth_year_enc) of the profiles named (all when None)."""
    query = select(
        BorrowerProfileRow.borrower_id, BorrowerProfileRow.region_enc,
        BorrowerProfileRow.birth_year_enc,
    )  # fmt: skip
    if borrower_ids is None:
        return list(session.execute(query).all())
    ids = list(borrower_ids)
    found: list[Any] = []
    for start in range(0, len(ids), 1_000):
        chunk = ids[start : start + 1_000]
        found.extend(session.execute(query.where(BorrowerProfileRow.borrower_id.in_(chunk))).all())
    return found
