"""Hardship relief (G5): a borrower in hard circumstances — job loss, illness, a natural
disaster, a family emergency — asks for relief (themselves, or through customer service). The
case has an SLA deadline and is escalated as it nears; while it is open the policy sees the
borrower's ``open_hardship`` input (the shipped policy keeps their methods, and an announced
restriction is withdrawn as for an open appeal); a cs_agent who did not open it closes it as
granted, declined or withdrawn; every step is on the audit trail and the borrower is told, in
their language. Evidence and review notes are sealed per row and rotate with the data key."""

from repayguard.hardship.escalation import (
    JOB_NAME,
    HardshipEscalation,
    escalate_hardship,
    hardship_escalation_job,
)
from repayguard.hardship.messages import (
    HARDSHIP_CLOSED,
    HARDSHIP_ESCALATED,
    HARDSHIP_NOTES_ROTATED,
    HARDSHIP_OPENED,
    HARDSHIP_VIEWED,
    HardshipClosed,
    HardshipEscalated,
    HardshipFact,
    HardshipNotesRotated,
    HardshipOpened,
    HardshipViewed,
)
from repayguard.hardship.models import OUTCOMES, REASONS, STATUSES
from repayguard.hardship.notes import (
    NoteRotation,
    note_key_usage,
    pending_note_rotation,
    rotate_notes,
)
from repayguard.hardship.repository import HardshipFilter
from repayguard.hardship.service import (
    CloseHardship,
    GetHardship,
    HardshipCase,
    HardshipInfo,
    HardshipPage,
    HardshipSetup,
    OpenHardship,
    borrower_hardship,
    close_hardship,
    get_hardship,
    list_hardship,
    open_hardship,
)

__all__ = [
    "HARDSHIP_CLOSED",
    "HARDSHIP_ESCALATED",
    "HARDSHIP_NOTES_ROTATED",
    "HARDSHIP_OPENED",
    "HARDSHIP_VIEWED",
    "JOB_NAME",
    "OUTCOMES",
    "REASONS",
    "STATUSES",
    "CloseHardship",
    "GetHardship",
    "HardshipCase",
    "HardshipClosed",
    "HardshipEscalated",
    "HardshipEscalation",
    "HardshipFact",
    "HardshipFilter",
    "HardshipInfo",
    "HardshipNotesRotated",
    "HardshipOpened",
    "HardshipPage",
    "HardshipSetup",
    "HardshipViewed",
    "NoteRotation",
    "OpenHardship",
    "borrower_hardship",
    "close_hardship",
    "escalate_hardship",
    "get_hardship",
    "hardship_escalation_job",
    "list_hardship",
    "note_key_usage",
    "open_hardship",
    "pending_note_rotation",
    "rotate_notes",
]
