"""The borrower's statement: personal data, encrypted per case like profile fields (AES-GCM
under the keyring's active key, bound to its row), and re-encrypted when the key rotates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from repayguard.complaints import repository
from repayguard.platform.crypto import Keyring
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

STATEMENTS_ROTATED: Final = "repayguard.complaint.statements_rotated"


def statement_context(complaint_id: str) -> str:
    """The associated data a statement's ciphertext is bound to: its table, row and column."""
    return f"complaints/{complaint_id}/statement"


def seal(keyring: Keyring, complaint_id: str, statement: str) -> str:
    return keyring.encrypt(statement, context=statement_context(complaint_id))


def unseal(keyring: Keyring, complaint_id: str, token: str) -> str:
    return keyring.decrypt(token, context=statement_context(complaint_id))


@dataclass(frozen=True, slots=True)
class StatementRotation:
    key_id: str
    rotated: int
    remaining: int


def pending_statement_rotation(*, uow: UnitOfWork, keyring: Keyring) -> int:
    """How many statements are still encrypted under an older key."""
    with uow:
        return repository.count_not_on_key(uow.session, keyring.active)


def statement_key_usage(*, uow: UnitOfWork) -> dict[str, int]:
    """Statements per data key id (a key still in use must stay in the keyring)."""
    with uow:
        return repository.key_usage(uow.session)


def rotate_statements(
    *,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> StatementRotation:
    """Re-encrypt every statement under the active key, one transaction per batch (rows are
    locked while re-encrypted, so a case resolved meanwhile keeps its outcome). Resumable;
    each batch emits ``repayguard.complaint.statements_rotated``."""
    rotated = 0
    after = ""
    while True:
        with uow() as unit:
            rows = repository.not_on_key(
                unit.session, keyring.active, after=after, limit=batch_size
            )
            if not rows:
                remaining = repository.count_not_on_key(unit.session, keyring.active)
                return StatementRotation(keyring.active, rotated, remaining)
            for row in rows:
                plain = unseal(keyring, row.complaint_id, row.statement_enc)
                row.statement_enc = seal(keyring, row.complaint_id, plain)
                row.key_id = keyring.active
            after = rows[-1].complaint_id
            unit.emit(
                Message(
                    STATEMENTS_ROTATED,
                    {
                        "subject": f"data_key:{keyring.active}",
                        "key_id": keyring.active,
                        "statements": len(rows),
                    },
                )
            )
            unit.commit()
        rotated += len(rows)
        if on_batch is not None:
            on_batch(len(rows))
