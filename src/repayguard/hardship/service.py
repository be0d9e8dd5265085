"""Hardship use-cases: open a case, close it, read the queue, a borrower's cases and one case.

Opening is one transaction: the case (evidence sealed), the borrower's ``open_hardship`` flag
(entitlements), the borrower's ``hardship_opened`` notice and ``repayguard.hardship.opened``.
The flag reaches the policy when the borrower is next decided — at once, by the consumer of
that message — so the policy says what an open hardship case means (the shipped one keeps the
methods in force, ``hardship-freeze``, and a restriction still in its notice period is withdrawn
exactly as for an open appeal: ``entitlements.in_force_for_open_cases``). Closing lowers the
flag in one transaction with the outcome, the sealed note, the ``hardship_closed`` notice and
``repayguard.hardship.closed``, whose consumer decides the borrower afresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repayguard import decisions, entitlements, identity, notices
from repayguard.borrowers.errors import BorrowerNotFound
from repayguard.entitlements import Entitlement
from repayguard.errors import NotFound, PermissionDenied
from repayguard.hardship import repository
from repayguard.hardship.errors import (
    HardshipCaseAlreadyOpen,
    HardshipCaseInvalid,
    HardshipCaseNotFound,
    HardshipCaseNotOpen,
    HardshipReviewerNotAllowed,
)
from repayguard.hardship.messages import (
    HardshipClosed,
    HardshipOpened,
    HardshipViewed,
)
from repayguard.hardship.models import OPEN, OUTCOMES, REASONS, WITHDRAWN, HardshipCaseRow
from repayguard.hardship.notes import evidence_of, note_of, seal_notes
from repayguard.hardship.repository import HardshipFilter
from repayguard.identity import OperatorRead
from repayguard.identity.errors import OperatorRequired
from repayguard.platform.crypto import Keyring
from repayguard.platform.messages import Message
from repayguard.platform.records import record_of
from repayguard.platform.uow import UnitOfWork

MAX_NOTE: Final = 4_000
"""Characters an evidence or review note keeps."""
OPEN_PERMISSION: Final = "hardship:open"
REVIEW_PERMISSION: Final = "hardship:review"


@dataclass(frozen=True, slots=True)
class HardshipSetup:
    """What hardship needs, built once by bootstrap: the keyring (notes), the notices setup
    (what the borrower is told) and the SLA rules."""

    keyring: Keyring
    notices: notices.NoticeSetup
    sla: timedelta = timedelta(days=10)
    escalate_before: timedelta = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class OpenHardship:
    """Open a hardship case for ``borrower_id`` because of ``reason`` (one of ``REASONS``),
    with ``evidence``: what the borrower says of their circumstances (sealed). ``operator_id``:
    the cs_agent opening it for the borrower (None when the borrower opens it themselves)."""

    borrower_id: str
    reason: str
    evidence: str = field(repr=False)
    operator_id: str | None = None


@dataclass(frozen=True, slots=True)
class CloseHardship:
    """Close a case as ``granted``, ``declined`` or ``withdrawn``; ``by`` is the reviewing
    operator's id, ``note`` why (sealed, never sent to the borrower)."""

    case_id: str
    by: str
    outcome: str
    note: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class GetHardship:
    """Read one case for review; ``reveal`` unseals the notes (recorded on the audit trail
    with ``purpose``)."""

    case_id: str
    reveal: bool = True
    purpose: str = "hardship_review"


@dataclass(frozen=True, slots=True)
class HardshipInfo:
    """A case as callers see it; ``evidence`` and ``note`` only when asked to be revealed."""

    case_id: str
    borrower_id: str
    reason: str
    status: str
    opened_by: str
    opened_at: datetime
    due_at: datetime
    overdue: bool
    escalation: str | None
    escalated_at: datetime | None
    reviewer_name: str | None
    closed_at: datetime | None
    notices: tuple[notices.NoticeInfo, ...] = ()
    """What the borrower was told about the case (``hardship_opened``, ``hardship_closed``)."""
    evidence: str | None = field(default=None, repr=False)
    note: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class HardshipCase:
    case: HardshipInfo
    current: Entitlement | None
    """The borrower's methods now."""


@dataclass(frozen=True, slots=True)
class HardshipPage:
    items: list[HardshipInfo]
    total: int


def info(
    row: HardshipCaseRow,
    *,
    now: datetime,
    told: Sequence[notices.NoticeInfo] = (),
    keyring: Keyring | None = None,
) -> HardshipInfo:
    """The case as callers see it; with ``keyring``, its notes unsealed."""
    return record_of(
        HardshipInfo,
        row,
        overdue=row.status == OPEN and row.due_at <= now,
        notices=tuple(told),
        evidence=evidence_of(keyring, row) if keyring is not None else None,
        note=note_of(keyring, row) if keyring is not None else None,
    )


def _text(value: str, what: str, hint: str) -> str:
    text = value.strip()
    if not text:
        raise HardshipCaseInvalid(f"the case needs {what}", hint=hint)
    if len(text) > MAX_NOTE:
        raise HardshipCaseInvalid(
            f"{what} is longer than {MAX_NOTE:,} characters",
            hint="shorten it; keep documents in the lender's own records",
        )
    return text


def _operator(session: Session, operator_id: str, permission: str, doing: str) -> OperatorRead:
    """The acting operator, who must exist, be active and hold ``permission``."""
    try:
        found = identity.find_operator(session, operator_id=operator_id)
    except NotFound as exc:
        raise OperatorRequired(
            f"no operator with id {operator_id!r} can {doing}",
            hint="act as an operator: an operator token, or --as USERNAME",
        ) from exc
    if not found.active:
        raise PermissionDenied(f"operator {found.username} is disabled")
    if not identity.role_allows(found.role, permission):
        article = "an" if found.role[0] in "aeiou" else "a"
        raise HardshipReviewerNotAllowed(
            f"{article} {found.role} may not {doing}", hint="a cs_agent or an admin does"
        )
    return found


def open_hardship(cmd: OpenHardship, *, uow: UnitOfWork, setup: HardshipSetup) -> HardshipInfo:
    """Open a case (one open case per borrower) with its SLA deadline, raise the borrower's
    open-hardship flag, send the ``hardship_opened`` notice and emit
    ``repayguard.hardship.opened`` — all in one transaction."""
    if cmd.reason not in REASONS:
        raise HardshipCaseInvalid(
            f"{cmd.reason!r} is not a hardship reason", hint=f"one of: {', '.join(REASONS)}"
        )
    evidence = _text(
        cmd.evidence, "an evidence note", "say what happened and since when (kept encrypted)"
    )
    with uow:
        session = uow.session
        now = uow.clock.now()
        opened_by = "borrower"
        if cmd.operator_id is not None:
            opener = _operator(session, cmd.operator_id, OPEN_PERMISSION, "open hardship cases")
            opened_by = f"operator:{opener.operator_id}"
        if not decisions.recent_decisions(session, cmd.borrower_id, limit=1):
            raise BorrowerNotFound(
                f"repayguard has not decided borrower {cmd.borrower_id} yet",
                hint="check the borrower id; a borrower is known once their events arrived",
            )
        existing = repository.open_for(session, cmd.borrower_id)
        if existing is not None:
            raise _already_open(existing.case_id)
        row = HardshipCaseRow(
            case_id=uuid.uuid4().hex,
            borrower_id=cmd.borrower_id,
            reason=cmd.reason,
            opened_by=opened_by,
            opener_id=cmd.operator_id,
            status=OPEN,
            opened_at=now,
            due_at=now + setup.sla,
            updated_at=now,
        )
        seal_notes(setup.keyring, row, evidence_enc=evidence)
        try:
            repository.add(session, row)
        except IntegrityError as exc:
            # A concurrent opening for the same borrower won the partial unique index.
            raise _already_open(None) from exc
        entitlements.raise_flag(
            session, cmd.borrower_id, entitlements.OPEN_HARDSHIP, reference=row.case_id, now=now
        )
        _tell(uow, row, notices.NoticeKind.HARDSHIP_OPENED, setup=setup)
        uow.emit(Message(HardshipOpened.of(row)))
        result = info(row, now=now, told=_told(uow, row))
        uow.commit()
    return result


def close_hardship(cmd: CloseHardship, *, uow: UnitOfWork, setup: HardshipSetup) -> HardshipInfo:
    """Close an open case as ``granted``, ``declined`` or ``withdrawn`` with the reviewer's
    sealed note: the flag is lowered (the borrower is then decided afresh), the borrower gets
    the ``hardship_closed`` notice, ``repayguard.hardship.closed`` is emitted. The operator who
    opened the case may record its withdrawal but never grant or decline it."""
    if cmd.outcome not in OUTCOMES:
        raise HardshipCaseInvalid(
            f"{cmd.outcome!r} is not an outcome", hint=f"one of: {', '.join(OUTCOMES)}"
        )
    note = _text(cmd.note, "a note saying why", "say why the case closes this way")
    with uow:
        session = uow.session
        now = uow.clock.now()
        reviewer = _operator(session, cmd.by, REVIEW_PERMISSION, "close hardship cases")
        row = existing(session, cmd.case_id, for_update=True)
        if row.status != OPEN:
            raise HardshipCaseNotOpen(f"hardship case {row.case_id} is already {row.status}")
        if cmd.outcome != WITHDRAWN and row.opener_id == reviewer.operator_id:
            raise HardshipReviewerNotAllowed(
                f"{reviewer.username} opened hardship case {row.case_id}, so may not decide it",
                hint="another cs_agent reviews it (the opener may only record a withdrawal)",
            )
        row.status = cmd.outcome
        row.closed_at = now
        row.updated_at = now
        row.reviewer_id = reviewer.operator_id
        row.reviewer_name = reviewer.username
        seal_notes(setup.keyring, row, note_enc=note)
        entitlements.lower_flag(
            session, row.borrower_id, entitlements.OPEN_HARDSHIP, reference=row.case_id
        )
        session.flush()
        _tell(uow, row, notices.NoticeKind.HARDSHIP_CLOSED, setup=setup)
        uow.emit(Message(HardshipClosed.of(row, outcome=cmd.outcome)))
        result = info(row, now=now, told=_told(uow, row))
        uow.commit()
    return result


def get_hardship(cmd: GetHardship, *, uow: UnitOfWork, setup: HardshipSetup) -> HardshipCase:
    """One case with what a reviewer needs: its notes (the reading is audited), the notices
    the borrower was sent and the borrower's methods now."""
    with uow:
        session = uow.session
        now = uow.clock.now()
        row = existing(session, cmd.case_id)
        keyring = setup.keyring if cmd.reveal else None
        found = HardshipCase(
            info(row, now=now, told=_told(uow, row), keyring=keyring),
            entitlements.load(session, [row.borrower_id]).get(row.borrower_id),
        )
        if cmd.reveal:
            uow.emit(Message(HardshipViewed.of(row, purpose=cmd.purpose[:100])))
            uow.commit()
    return found


def list_hardship(
    where: HardshipFilter, *, uow: UnitOfWork, limit: int = 50, offset: int = 0
) -> HardshipPage:
    """The queue: matching cases, nearest deadline first, and how many match in all."""
    with uow:
        now = uow.clock.now()
        rows, total = repository.listed(uow.session, where, now=now, limit=limit, offset=offset)
        return HardshipPage([info(r, now=now) for r in rows], total)


def borrower_hardship(borrower_id: str, *, uow: UnitOfWork, limit: int = 50) -> list[HardshipInfo]:
    """A borrower's cases, newest first, each with the notices the borrower was sent about it."""
    with uow:
        now = uow.clock.now()
        rows = repository.for_borrower(uow.session, borrower_id, limit=limit)
        sent = notices.occasion_notices(borrower_id, [r.case_id for r in rows], uow=uow)
        return [info(row, now=now, told=sent.get(row.case_id, ())) for row in rows]


def existing(session: Session, case_id: str, *, for_update: bool = False) -> HardshipCaseRow:
    """The case, or HardshipCaseNotFound."""
    row = repository.get(session, case_id, for_update=for_update)
    if row is None:
        raise HardshipCaseNotFound(
            f"no hardship case {case_id!r}", hint="'repayguard hardship list' shows them"
        )
    return row


def _tell(
    uow: UnitOfWork, row: HardshipCaseRow, kind: notices.NoticeKind, *, setup: HardshipSetup
) -> None:
    """The borrower's notice of ``kind`` about the case, in the caller's transaction: the case
    number, reason, dates and outcome — never the evidence or the reviewer's note."""
    notices.record_notice(
        notices.RecordNotice(
            row.borrower_id,
            kind,
            row.case_id,
            {
                "case": row.case_id,
                "reason": row.reason,
                "opened": row.opened_at,
                "due": row.due_at,
                "outcome": row.status,
            },
        ),
        uow=uow,
        setup=setup.notices,
    )


def _told(uow: UnitOfWork, row: HardshipCaseRow) -> tuple[notices.NoticeInfo, ...]:
    return notices.occasion_notices(row.borrower_id, [row.case_id], uow=uow).get(row.case_id, ())


def _already_open(case_id: str | None) -> HardshipCaseAlreadyOpen:
    which = f"hardship case {case_id}" if case_id else "a hardship case"
    return HardshipCaseAlreadyOpen(
        f"{which} is already open for this borrower",
        hint="add to that case through customer service; a new one can open once it is closed",
        case_id=case_id,
    )
