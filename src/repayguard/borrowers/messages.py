"""The messages borrower profiles emit (also their audit actions). Field names and key ids
only: personal data never leaves its encrypted columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from repayguard.platform.messages import Fact


@dataclass(frozen=True, slots=True, kw_only=True)
class BorrowerProfileSaved(Fact):
    """A profile created or changed: which fields changed, under which key they are sealed."""

    NAME = "repayguard.borrowers.profile_saved"

    borrower_id: str
    created: bool
    changed_fields: tuple[str, ...]
    locale: str
    key_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BorrowerProfileViewed(Fact):
    """A profile decrypted for a caller: revealed or masked, and why."""

    NAME = "repayguard.borrowers.profile_viewed"

    borrower_id: str
    revealed: bool
    purpose: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BorrowerKeysRotated(Fact):
    """A batch of profiles moved to the active data key."""

    NAME = "repayguard.borrowers.keys_rotated"

    subject: str
    key_id: str
    profiles: int
    at: datetime


PROFILE_SAVED: Final = BorrowerProfileSaved.NAME
PROFILE_VIEWED: Final = BorrowerProfileViewed.NAME
KEYS_ROTATED: Final = BorrowerKeysRotated.NAME
