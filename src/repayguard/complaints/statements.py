"""The borrower's statement: personal data, encrypted per case like profile fields (AES-GCM
under the keyring's active key, bound to its row), and re-encrypted when the key rotates (the
sealed-column machinery of ``platform.sealed``, shared with hardship notes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from repayguard.complaints.messages import StatementsRotated
from repayguard.complaints.models import ComplaintRow
from repayguard.platform import sealed
from repayguard.platform.crypto import Keyring
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

StatementRotation = sealed.SealedRotation


def statement_context(complaint_id: str) -> str:
    """The associated data a statement's ciphertext is bound to: its table, row and column."""
    return f"complaints/{complaint_id}/statement"


SEALED: Final = sealed.SealedColumns(
    model=ComplaintRow,
    id_attribute="complaint_id",
    key_attribute="key_id",
    columns={"statement_enc": statement_context},
    rotated=StatementsRotated.of,
)


def seal(keyring: Keyring, complaint_id: str, statement: str) -> str:
    return keyring.encrypt(statement, context=statement_context(complaint_id))


def unseal(keyring: Keyring, complaint_id: str, token: str) -> str:
    return keyring.decrypt(token, context=statement_context(complaint_id))


def pending_statement_rotation(*, uow: UnitOfWork, keyring: Keyring) -> int:
    """How many statements are still encrypted under an older key."""
    return sealed.pending_rotation(uow=uow, spec=SEALED, keyring=keyring)


def statement_key_usage(*, uow: UnitOfWork) -> dict[str, int]:
    """Statements per data key id (a key still in use must stay in the keyring)."""
    return sealed.key_usage(uow=uow, spec=SEALED)


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
    return sealed.rotate_sealed(
        SEALED, uow=uow, keyring=keyring, batch_size=batch_size, on_batch=on_batch
    )
