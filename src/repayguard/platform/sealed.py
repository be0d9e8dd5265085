"""Free text sealed per row (AES-GCM under the keyring's active key, bound to its table, row and
column) and re-sealed when the key rotates: the machinery complaint statements and hardship
notes share.

A feature describes where its sealed text lives with :class:`SealedColumns` (the ORM class, its
id and ``key_id`` attributes, and the sealed attributes with the associated data of each);
:func:`rotate_sealed` then re-encrypts every row still on an older key, one transaction per
batch, and :func:`key_usage` says which keys are still in use (a key in use must stay in the
keyring).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repayguard.platform.crypto import Keyring
from repayguard.platform.messages import Fact, Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class SealedColumns:
    """Where sealed text lives. ``columns`` maps a sealed attribute to the associated data its
    ciphertext is bound to, given the row id (e.g. ``complaints/<id>/statement``); a None
    value in such a column (text not written yet) is left alone. Every sealed column of a row
    is under the key named by ``key_attribute``."""

    model: type[Any]
    id_attribute: str
    key_attribute: str
    columns: Mapping[str, Callable[[str], str]]
    rotated: Callable[[str, int], Fact]
    """The fact each rotated batch emits (``repayguard.<feature>.<what>_rotated``), given the
    active key id and how many rows the batch moved to it."""


@dataclass(frozen=True, slots=True)
class SealedRotation:
    key_id: str
    rotated: int
    remaining: int


def seal_row(keyring: Keyring, spec: SealedColumns, row: Any, plain: Mapping[str, str]) -> None:
    """Set ``row``'s sealed columns from ``plain`` (attribute → text; others are re-sealed from
    what they hold) under the active key, so the row's single ``key_id`` stays true."""
    row_id = getattr(row, spec.id_attribute)
    current_key = getattr(row, spec.key_attribute, None)
    for attribute, context in spec.columns.items():
        if attribute in plain:
            text: str | None = plain[attribute]
        else:
            held = getattr(row, attribute, None)
            text = (
                keyring.decrypt(held, context=context(row_id))
                if held is not None and current_key is not None
                else None
            )
        if text is not None:
            setattr(row, attribute, keyring.encrypt(text, context=context(row_id)))
    setattr(row, spec.key_attribute, keyring.active)


def unseal_column(keyring: Keyring, spec: SealedColumns, row: Any, attribute: str) -> str | None:
    """The plain text of one sealed column of ``row`` (None when nothing was written)."""
    held = getattr(row, attribute)
    if held is None:
        return None
    return keyring.decrypt(held, context=spec.columns[attribute](getattr(row, spec.id_attribute)))


def _not_on_key(query: Any, spec: SealedColumns, key_id: str) -> Any:
    return query.where(getattr(spec.model, spec.key_attribute) != key_id)


def count_not_on_key(session: Session, spec: SealedColumns, key_id: str) -> int:
    query = _not_on_key(select(func.count()).select_from(spec.model), spec, key_id)
    return int(session.scalar(query) or 0)


def key_usage(*, uow: UnitOfWork, spec: SealedColumns) -> dict[str, int]:
    """Rows per data key id."""
    column = getattr(spec.model, spec.key_attribute)
    with uow:
        rows = uow.session.execute(select(column, func.count()).group_by(column)).all()
        return {key_id: int(count) for key_id, count in rows}


def pending_rotation(*, uow: UnitOfWork, spec: SealedColumns, keyring: Keyring) -> int:
    """How many rows are still sealed under an older key."""
    with uow:
        return count_not_on_key(uow.session, spec, keyring.active)


def rotate_sealed(
    spec: SealedColumns,
    *,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> SealedRotation:
    """Re-encrypt every row of ``spec`` under the active key, one transaction per batch (rows
    are locked while re-encrypted, so a case closed meanwhile keeps its outcome). Resumable;
    each batch emits ``spec.rotated``."""
    rotated = 0
    after = ""
    ident = getattr(spec.model, spec.id_attribute)
    while True:
        with uow() as unit:
            query = _not_on_key(select(spec.model), spec, keyring.active)
            rows = list(
                unit.session.scalars(
                    query.where(ident > after).order_by(ident).limit(batch_size).with_for_update()
                )
            )
            if not rows:
                remaining = count_not_on_key(unit.session, spec, keyring.active)
                return SealedRotation(keyring.active, rotated, remaining)
            for row in rows:
                seal_row(keyring, spec, row, {})
            after = getattr(rows[-1], spec.id_attribute)
            unit.emit(Message(spec.rotated(keyring.active, len(rows))))
            unit.commit()
        rotated += len(rows)
        if on_batch is not None:
            on_batch(len(rows))
