"""The messages hardship emits: ``repayguard.hardship.*`` (also their audit actions).

Payloads name the borrower under ``borrower_id`` (the audit trail pseudonymises it) and carry
no free text: the evidence and the reviewer's note stay sealed in their table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Self

from repayguard.hardship.models import HardshipCaseRow
from repayguard.platform.messages import Fact, omitted_when_none


@dataclass(frozen=True, slots=True, kw_only=True)
class HardshipFact(Fact):
    """A hardship case as it stands after a step; the optional fields are the step's own."""

    subject: str
    case_id: str
    borrower_id: str
    reason: str
    status: str
    opened_by: str
    opened_at: datetime
    due_at: datetime
    escalation: str | None
    reviewer: str | None
    closed_at: datetime | None
    outcome: str | None = omitted_when_none()
    purpose: str | None = omitted_when_none()
    level: str | None = omitted_when_none()

    @classmethod
    def of(
        cls,
        row: HardshipCaseRow,
        *,
        outcome: str | None = None,
        purpose: str | None = None,
        level: str | None = None,
    ) -> Self:
        return cls(
            subject=f"hardship:{row.case_id}",
            case_id=row.case_id,
            borrower_id=row.borrower_id,
            reason=row.reason,
            status=row.status,
            opened_by=row.opened_by,
            opened_at=row.opened_at,
            due_at=row.due_at,
            escalation=row.escalation,
            reviewer=row.reviewer_name,
            closed_at=row.closed_at,
            outcome=outcome,
            purpose=purpose,
            level=level,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HardshipOpened(HardshipFact):
    NAME = "repayguard.hardship.opened"


@dataclass(frozen=True, slots=True, kw_only=True)
class HardshipEscalated(HardshipFact):
    NAME = "repayguard.hardship.escalated"


@dataclass(frozen=True, slots=True, kw_only=True)
class HardshipClosed(HardshipFact):
    NAME = "repayguard.hardship.closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class HardshipViewed(HardshipFact):
    NAME = "repayguard.hardship.viewed"


@dataclass(frozen=True, slots=True, kw_only=True)
class HardshipNotesRotated(Fact):
    """A batch of cases' sealed evidence and notes re-encrypted under the active data key."""

    NAME = "repayguard.hardship.notes_rotated"

    subject: str
    key_id: str
    cases: int

    @classmethod
    def of(cls, key_id: str, count: int) -> Self:
        return cls(subject=f"data_key:{key_id}", key_id=key_id, cases=count)


HARDSHIP_OPENED: Final = HardshipOpened.NAME
HARDSHIP_ESCALATED: Final = HardshipEscalated.NAME
HARDSHIP_CLOSED: Final = HardshipClosed.NAME
HARDSHIP_VIEWED: Final = HardshipViewed.NAME
HARDSHIP_NOTES_ROTATED: Final = HardshipNotesRotated.NAME
