"""The case's free text — the evidence note and the reviewer's note — sealed per row like
complaint statements (``platform.sealed``), and re-sealed when the data key rotates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from repayguard.hardship.messages import HardshipNotesRotated
from repayguard.hardship.models import HardshipCaseRow
from repayguard.platform import sealed
from repayguard.platform.crypto import Keyring
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

NoteRotation = sealed.SealedRotation


def evidence_context(case_id: str) -> str:
    """The associated data the evidence's ciphertext is bound to: table, row and column."""
    return f"hardship_cases/{case_id}/evidence"


def note_context(case_id: str) -> str:
    return f"hardship_cases/{case_id}/note"


SEALED: Final = sealed.SealedColumns(
    model=HardshipCaseRow,
    id_attribute="case_id",
    key_attribute="key_id",
    columns={"evidence_enc": evidence_context, "note_enc": note_context},
    rotated=HardshipNotesRotated.of,
)


def evidence_of(keyring: Keyring, row: HardshipCaseRow) -> str:
    return sealed.unseal_column(keyring, SEALED, row, "evidence_enc") or ""


def note_of(keyring: Keyring, row: HardshipCaseRow) -> str | None:
    return sealed.unseal_column(keyring, SEALED, row, "note_enc")


def seal_notes(keyring: Keyring, row: HardshipCaseRow, **plain: str) -> None:
    """Seal ``evidence_enc`` / ``note_enc`` from ``plain`` (the other is re-sealed, so both
    are under the active key the row names)."""
    sealed.seal_row(keyring, SEALED, row, plain)


def pending_note_rotation(*, uow: UnitOfWork, keyring: Keyring) -> int:
    """How many cases still have notes under an older key."""
    return sealed.pending_rotation(uow=uow, spec=SEALED, keyring=keyring)


def note_key_usage(*, uow: UnitOfWork) -> dict[str, int]:
    """Cases per data key id (a key still in use must stay in the keyring)."""
    return sealed.key_usage(uow=uow, spec=SEALED)


def rotate_notes(
    *,
    uow: UnitOfWorkFactory,
    keyring: Keyring,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> NoteRotation:
    """Re-encrypt every case's notes under the active key, one transaction per batch;
    resumable; each batch emits ``repayguard.hardship.notes_rotated``."""
    return sealed.rotate_sealed(
        SEALED, uow=uow, keyring=keyring, batch_size=batch_size, on_batch=on_batch
    )
