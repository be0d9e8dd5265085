"""Complaint use-cases: file a case against a decision, read the queue and one borrower's cases.

Filing is one transaction: the case (statement encrypted), the borrower's ``open_appeal`` flag
(entitlements), the borrower's ``complaint_received`` notice (the notices package delivers it)
and ``repayguard.complaint.filed``. The flag reaches the policy when the borrower is next
decided — at once, by the consumer of that message — so the policy says what an open appeal
means (the shipped one keeps the current methods, ``appeal-freeze``). Resolving lives in
``resolution``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repayguard import decisions, entitlements, notices
from repayguard.approvals import ApprovalContext
from repayguard.complaints import repository
from repayguard.complaints.errors import ComplaintAlreadyOpen, ComplaintInvalid, ComplaintNotFound
from repayguard.complaints.messages import (
    ComplaintFiled,
)
from repayguard.complaints.models import ACTIVE, CONTESTABLE, OPEN, ComplaintRow
from repayguard.complaints.repository import QueueFilter
from repayguard.complaints.statements import seal
from repayguard.decisions import DecisionEngine, LoggedDecision
from repayguard.decisions.errors import DecisionNotFound
from repayguard.platform.crypto import Keyring
from repayguard.platform.messages import Message
from repayguard.platform.records import record_of
from repayguard.platform.uow import UnitOfWork
from repayguard.remedies import RemedySetup

MAX_STATEMENT = 4_000
"""Characters of the borrower's own words a case keeps."""


@dataclass(frozen=True, slots=True)
class ComplaintSetup:
    """What complaints needs, built once by bootstrap: the keyring (statements), the notices
    setup (what the borrower is told), the approvals context (a reversal is a manual
    override), the decision engine in force (lineage, explanations, defaults of a reversal)
    and the SLA rules."""

    keyring: Keyring
    notices: notices.NoticeSetup
    approvals: ApprovalContext
    engine: Callable[[], DecisionEngine]
    sla: timedelta = timedelta(days=15)
    escalate_before: timedelta = timedelta(days=3)
    reversal_days: int = 90
    remedies: RemedySetup | None = None
    """What a reversal owes the borrower (None: no remedies are recorded)."""


@dataclass(frozen=True, slots=True)
class FileComplaint:
    """A borrower contests ``contested`` methods of a decision (None: their latest one) in
    their own words. ``filed_by`` says who filed it (``borrower``, ``operator:<id>``, …)."""

    borrower_id: str
    statement: str = field(repr=False)
    contested: Sequence[str]
    decision_id: str | None = None
    filed_by: str = "borrower"


@dataclass(frozen=True, slots=True)
class ComplaintInfo:
    """A case as callers see it; ``statement`` only when it was asked to be revealed."""

    complaint_id: str
    borrower_id: str
    decision_id: str
    contested: tuple[str, ...]
    status: str
    filed_by: str
    filed_at: datetime
    due_at: datetime
    overdue: bool
    escalation: str | None
    escalated_at: datetime | None
    reviewer_name: str | None
    comment: str | None
    approval_id: str | None
    resolved_at: datetime | None
    notices: tuple[notices.NoticeInfo, ...] = ()
    """What the borrower was told about the case (``complaint_received``,
    ``complaint_resolved``), each notice with its delivery per channel."""
    statement: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ComplaintPage:
    items: list[ComplaintInfo]
    total: int


def info(
    row: ComplaintRow,
    *,
    now: datetime,
    told: Sequence[notices.NoticeInfo] = (),
    statement: str | None = None,
) -> ComplaintInfo:
    return record_of(
        ComplaintInfo,
        row,
        contested=tuple(row.contested),
        overdue=row.status in ACTIVE and row.due_at <= now,
        notices=tuple(told),
        statement=statement,
    )


def _contested(methods: Sequence[str]) -> list[str]:
    unknown = [m for m in methods if m not in CONTESTABLE]
    if unknown or not methods:
        raise ComplaintInvalid(
            "say which repayment methods the complaint contests"
            + (f" ({', '.join(map(repr, unknown))} is not one)" if unknown else ""),
            hint=f"one or more of: {', '.join(CONTESTABLE)}",
        )
    return list(dict.fromkeys(methods))


def contested_decision(
    session: Session, borrower_id: str, decision_id: str | None
) -> LoggedDecision:
    """The decision a complaint is about: the named one, which must be the borrower's own, or
    the borrower's latest decision not taken while an appeal of theirs was open (a freeze is
    the appeal's effect, not something to contest)."""
    if decision_id is not None:
        found = decisions.find_decision(session, decision_id)
        if found is None or found.borrower_id != borrower_id:
            raise DecisionNotFound(
                f"borrower {borrower_id} has no decision {decision_id!r}",
                hint="leave the decision out to contest the borrower's latest one, or take the "
                "id from one of the borrower's notices",
            )
        return found
    recent = decisions.recent_decisions(session, borrower_id, limit=50)
    if not recent:
        raise DecisionNotFound(
            f"no decision has been made for borrower {borrower_id} yet, so there is nothing "
            "to contest",
            hint="check the borrower id",
        )
    return next((d for d in recent if d.inputs.get("open_appeal") is not True), recent[0])


def file_complaint(cmd: FileComplaint, *, uow: UnitOfWork, setup: ComplaintSetup) -> ComplaintInfo:
    """Open a case against a decision (one active case per borrower and decision) with its
    SLA deadline, raise the borrower's open-appeal flag, send the borrower the
    ``complaint_received`` notice and emit ``repayguard.complaint.filed`` — all in one
    transaction."""
    statement = cmd.statement.strip()
    if not statement:
        raise ComplaintInvalid(
            "the complaint needs the borrower's statement", hint="say what is wrong and why"
        )
    if len(statement) > MAX_STATEMENT:
        raise ComplaintInvalid(
            f"the statement is longer than {MAX_STATEMENT:,} characters",
            hint="shorten it; attach documents through the lender's own channels",
        )
    contested = _contested(cmd.contested)
    with uow:
        session = uow.session
        now = uow.clock.now()
        decision = contested_decision(session, cmd.borrower_id, cmd.decision_id)
        existing = repository.active_for(session, cmd.borrower_id, decision.decision_id)
        if existing is not None:
            raise _already_open(existing.complaint_id, decision.decision_id)
        complaint_id = uuid.uuid4().hex
        sealed = seal(setup.keyring, complaint_id, statement)
        row = ComplaintRow(
            complaint_id=complaint_id,
            borrower_id=cmd.borrower_id,
            decision_id=decision.decision_id,
            contested=contested,
            statement_enc=sealed,
            key_id=setup.keyring.key_id_of(sealed),
            filed_by=cmd.filed_by[:120],
            status=OPEN,
            filed_at=now,
            due_at=now + setup.sla,
            updated_at=now,
        )
        try:
            repository.add(session, row)
        except IntegrityError as exc:
            # A concurrent filing about the same decision won the partial unique index.
            raise _already_open(None, decision.decision_id) from exc
        entitlements.raise_flag(
            session, cmd.borrower_id, entitlements.OPEN_APPEAL, reference=complaint_id, now=now
        )
        tell(
            uow, row, notices.NoticeKind.COMPLAINT_RECEIVED, decided_at=decision.as_of, setup=setup
        )
        uow.emit(Message(ComplaintFiled.of(row, filed_by=row.filed_by)))
        result = info(row, now=now, told=told(uow, row))
        uow.commit()
    return result


def tell(
    uow: UnitOfWork,
    row: ComplaintRow,
    kind: notices.NoticeKind,
    *,
    decided_at: datetime,
    setup: ComplaintSetup,
) -> None:
    """Send the borrower the notice of ``kind`` about case ``row`` in the caller's transaction
    (once per case and kind). It states the case number, the contested decision's time, what
    is contested, the deadline and the outcome — never the statement or an agent's comment."""
    notices.record_notice(
        notices.RecordNotice(
            row.borrower_id,
            kind,
            row.complaint_id,
            {
                "case": row.complaint_id,
                "decided": decided_at,
                "due": row.due_at,
                "contested": list(row.contested),
                "outcome": row.status,
            },
            decision_id=row.decision_id,
        ),
        uow=uow,
        setup=setup.notices,
    )


def told(uow: UnitOfWork, row: ComplaintRow) -> tuple[notices.NoticeInfo, ...]:
    """The notices the borrower was sent about case ``row``, oldest first."""
    return notices.occasion_notices(row.borrower_id, [row.complaint_id], uow=uow).get(
        row.complaint_id, ()
    )


def _already_open(complaint_id: str | None, decision_id: str) -> ComplaintAlreadyOpen:
    which = f"case {complaint_id}" if complaint_id else "a case"
    return ComplaintAlreadyOpen(
        f"{which} about decision {decision_id} is already open",
        hint="add to that case through customer service; a new case is possible once it is "
        "resolved",
        complaint_id=complaint_id,
    )


def list_complaints(
    where: QueueFilter, *, uow: UnitOfWork, limit: int = 50, offset: int = 0
) -> ComplaintPage:
    """The queue: matching cases, nearest deadline first, and how many match in all."""
    with uow:
        now = uow.clock.now()
        rows, total = repository.listed(uow.session, where, now=now, limit=limit, offset=offset)
        return ComplaintPage([info(r, now=now) for r in rows], total)


def borrower_complaints(
    borrower_id: str, *, uow: UnitOfWork, limit: int = 50
) -> list[ComplaintInfo]:
    """A borrower's cases, newest first, each with the notices the borrower was sent about it."""
    with uow:
        now = uow.clock.now()
        rows = repository.for_borrower(uow.session, borrower_id, limit=limit)
        sent = notices.occasion_notices(borrower_id, [r.complaint_id for r in rows], uow=uow)
        return [info(row, now=now, told=sent.get(row.complaint_id, ())) for row in rows]


def existing(session: Session, complaint_id: str, *, for_update: bool = False) -> ComplaintRow:
    """The case, or ComplaintNotFound."""
    row = repository.get(session, complaint_id, for_update=for_update)
    if row is None:
        raise ComplaintNotFound(
            f"no complaint {complaint_id!r}", hint="'repayguard complaints list' shows them"
        )
    return row
