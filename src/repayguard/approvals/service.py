"""Maker-checker use-cases: request, approve, reject, withdraw, expire (reading: ``queue``).

The rules, and where each holds:

- the maker can never approve or reject their own request — checked here, and the database
  refuses a row whose checker is its maker (CHECK constraint), whoever writes it;
- a checker-only operator (``approver``) cannot initiate: initiating needs
  ``approvals:request`` and the kind's own permission (identity's one permission map);
- at most one pending request per (kind, subject) — checked here and by a partial unique
  index, whose refusal of a concurrent submission is reported as the same error;
- a request is decided once — deciding (approve, reject, withdraw) first claims it with a
  compare-and-set on its state, so of two operators deciding it at once the second finds it
  decided, and the database's triggers refuse a second decision whoever writes it;
- approval applies exactly what was submitted: the payload's sha256 is pinned at submission
  and re-computed before applying, and applying re-checks what the payload refers to;
- requests expire: past ``expires_at`` they cannot be decided, and :func:`expire_due` (the
  scheduler's job, also ``repayguard approvals expire``) closes them.

Each use-case is one transaction, with its ``repayguard.approval.*`` message in the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repayguard import policies
from repayguard.approvals import kinds, repository
from repayguard.approvals.errors import (
    ApprovalCheckerNotAllowed,
    ApprovalExpired,
    ApprovalInitiatorNotAllowed,
    ApprovalNotFound,
    ApprovalNotPending,
    ApprovalNotYours,
    MakerCannotApprove,
    PendingApprovalExists,
)
from repayguard.approvals.kinds import ApprovalContext
from repayguard.approvals.messages import (
    ApprovalApproved,
    ApprovalRejected,
    ApprovalRequested,
    ApprovalRequestExpired,
    ApprovalWithdrawn,
)
from repayguard.approvals.models import (
    APPROVED,
    EXPIRED,
    KINDS,
    PENDING,
    REJECTED,
    WITHDRAWN,
    ApprovalRequestRow,
)
from repayguard.approvals.queue import ApprovalRead, read
from repayguard.approvals.rules import (
    DECIDE,
    canonical_payload,
    may_initiate,
    operator,
    payload_sha256,
)
from repayguard.core.articles import with_article
from repayguard.errors import ApprovalPayloadChanged, InvalidInput
from repayguard.identity import OperatorRead, role_allows
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

SYSTEM_MAKER: Final = "repayguard"
MAX_LIFETIME: Final = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class RequestApproval:
    """Ask a second person to approve ``payload`` (see ``kinds`` for each kind's fields).

    ``by`` is the maker's operator id; ``expires_in`` shortens or lengthens the kind's
    default lifetime (at most 30 days)."""

    kind: str
    payload: Mapping[str, Any]
    by: str
    reason: str = ""
    expires_in: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Approve:
    request_id: str
    by: str
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse a request; the comment (why) is required."""

    request_id: str
    by: str
    comment: str


@dataclass(frozen=True, slots=True)
class Withdraw:
    request_id: str
    by: str
    comment: str = ""


def request_approval(
    cmd: RequestApproval, *, uow: UnitOfWork, context: ApprovalContext
) -> ApprovalRead:
    """Store a pending request with its pinned payload and emit
    ``repayguard.approval.requested``."""
    if cmd.kind not in KINDS:
        raise InvalidInput(
            f"unknown approval kind {cmd.kind!r}", hint=f"one of: {', '.join(KINDS)}"
        )
    with uow:
        session = uow.session
        now = uow.clock.now()
        maker = operator(session, cmd.by)
        if not may_initiate(maker.role, cmd.kind):
            raise ApprovalInitiatorNotAllowed(
                f"{with_article(maker.role)} may not ask for {cmd.kind.replace('_', ' ')} approvals"
                + (
                    " (checkers decide requests, they never make them)"
                    if role_allows(maker.role, DECIDE)
                    else ""
                ),
            )
        prepared = kinds.prepare(
            cmd.kind, cmd.payload, session=session, context=context, maker=maker, now=now
        )
        if cmd.kind == "policy_publish":
            # A request whose stated number was taken can never be applied: it must not
            # stand in the way of this one (normally withdrawn when that number was taken).
            _withdraw_impossible(uow, prepared.subject, now)
        row = _insert(
            session,
            cmd.kind,
            prepared,
            maker_id=maker.operator_id,
            maker_name=maker.username,
            reason=cmd.reason,
            now=now,
            lifetime=_lifetime(cmd, context),
        )
        uow.emit(Message(ApprovalRequested.of(row)))
        result = read(row)
        uow.commit()
    return result


def _lifetime(cmd: RequestApproval, context: ApprovalContext) -> timedelta:
    if cmd.expires_in is None:
        return context.lifetimes[cmd.kind]
    if not timedelta(minutes=1) <= cmd.expires_in <= MAX_LIFETIME:
        raise InvalidInput("a request stays open between 1 minute and 30 days")
    return cmd.expires_in


def _insert(
    session: Session,
    kind: str,
    prepared: kinds.Prepared,
    *,
    maker_id: str | None,
    maker_name: str,
    reason: str,
    now: datetime,
    lifetime: timedelta,
) -> ApprovalRequestRow:
    """Insert a pending request; refused when one about the same subject is pending."""
    if repository.pending_for(session, kind, prepared.subject) is not None:
        raise _pending_exists(kind, prepared.subject)
    # Stored as it reads back from a JSON column, so the hash re-computed later matches.
    payload: dict[str, Any] = canonical_payload(prepared.payload)
    row = ApprovalRequestRow(
        request_id=uuid.uuid4().hex,
        kind=kind,
        subject=prepared.subject[:200],
        category=prepared.category[:100],
        summary=prepared.summary[:300],
        payload=payload,
        payload_sha256=payload_sha256(payload),
        reason=reason[:2000],
        maker_id=maker_id,
        maker_name=maker_name[:120],
        state=PENDING,
        created_at=now,
        expires_at=now + lifetime,
    )
    try:
        repository.add(session, row)
    except IntegrityError as exc:
        # A concurrent submission about the same subject won the partial unique index.
        if "pending_subject" in str(exc) or "approval_requests.kind" in str(exc):
            raise _pending_exists(kind, prepared.subject) from exc
        raise
    return row


def _pending_exists(kind: str, subject: str) -> PendingApprovalExists:
    return PendingApprovalExists(
        f"a {kind.replace('_', ' ')} request about {subject} is already pending",
        hint="decide or withdraw that request first ('repayguard approvals list')",
        subject=subject,
    )


def _decidable(
    session: Session, cmd: Approve | Reject, now: datetime
) -> tuple[ApprovalRequestRow, OperatorRead]:
    """The request and its checker, after every rule a decision must pass."""
    checker = operator(session, cmd.by)
    if not role_allows(checker.role, DECIDE):
        raise ApprovalCheckerNotAllowed(
            f"{with_article(checker.role)} may not approve or reject requests"
        )
    row = _pending(session, cmd.request_id, now)
    if checker.operator_id == row.maker_id or kinds.also_excluded(row, checker):
        raise MakerCannotApprove(
            f"{checker.username} made request {row.request_id} and cannot decide it",
            hint="another approver decides it; the maker may withdraw it",
        )
    return row, checker


def _pending(session: Session, request_id: str, now: datetime) -> ApprovalRequestRow:
    """The request, still pending and held by this transaction until it ends: of two
    operators deciding it at once, the second reads it as the first left it."""
    claimed = repository.claim(session, request_id)
    row = repository.get(session, request_id)
    if row is None:
        raise ApprovalNotFound(
            f"no approval request {request_id!r}", hint="'repayguard approvals list' shows them"
        )
    if not claimed or row.state != PENDING:
        raise ApprovalNotPending(f"request {request_id} is already {row.state}")
    if now >= row.expires_at:
        raise ApprovalExpired(
            f"request {request_id} expired at {row.expires_at.isoformat()}",
            hint="submit it again if it is still wanted",
        )
    return row


def approve(cmd: Approve, *, uow: UnitOfWork, context: ApprovalContext) -> ApprovalRead:
    """Approve a pending request and apply its pinned payload in the same transaction."""
    with uow:
        session = uow.session
        now = uow.clock.now()
        row, checker = _decidable(session, cmd, now)
        if payload_sha256(row.payload) != row.payload_sha256:
            raise ApprovalPayloadChanged(
                f"request {row.request_id}'s stored payload no longer matches its pinned hash",
                hint="reject it and look for tampering: the table refuses such edits",
            )
        outcome = kinds.apply(row, uow=uow, context=context, checker=checker)
        _decide(row, APPROVED, now, checker=checker, comment=cmd.comment, outcome=outcome)
        session.flush()
        uow.emit(Message(ApprovalApproved.of(row, outcome=outcome)))
        result = read(row)
        uow.commit()
    return result


def reject(cmd: Reject, *, uow: UnitOfWork) -> ApprovalRead:
    """Refuse a pending request; nothing of it is applied."""
    if not cmd.comment.strip():
        raise InvalidInput("say why the request is rejected", hint="pass a comment")
    with uow:
        session = uow.session
        now = uow.clock.now()
        row, checker = _decidable(session, cmd, now)
        _decide(row, REJECTED, now, checker=checker, comment=cmd.comment)
        session.flush()
        kinds.on_rejected(row, uow=uow, checker=checker)
        uow.emit(Message(ApprovalRejected.of(row)))
        result = read(row)
        uow.commit()
    return result


def withdraw(cmd: Withdraw, *, uow: UnitOfWork) -> ApprovalRead:
    """The maker takes back their pending request."""
    with uow:
        session = uow.session
        now = uow.clock.now()
        actor = operator(session, cmd.by)
        row = _pending(session, cmd.request_id, now)
        if row.maker_id != actor.operator_id:
            raise ApprovalNotYours(
                f"only {row.maker_name}, who made request {row.request_id}, may withdraw it"
            )
        _decide(row, WITHDRAWN, now, comment=cmd.comment)
        session.flush()
        uow.emit(Message(ApprovalWithdrawn.of(row)))
        result = read(row)
        uow.commit()
    return result


def expire_due(now: datetime, *, uow: UnitOfWork, limit: int = 1_000) -> list[ApprovalRead]:
    """Close pending requests whose time has passed (the scheduler's job); returns them.
    Idempotent: a request is expired once, and a second run finds nothing."""
    with uow:
        due = repository.due(uow.session, now, limit=limit)
        rows = [row for row in due if _claimed(uow.session, row)]
        for row in rows:
            _decide(row, EXPIRED, now, comment="not decided in time")
            uow.emit(Message(ApprovalRequestExpired.of(row)))
        uow.session.flush()
        result = [read(row) for row in rows]
        uow.commit()
    return result


def _decide(
    row: ApprovalRequestRow,
    state: str,
    now: datetime,
    *,
    checker: OperatorRead | None = None,
    comment: str = "",
    outcome: dict[str, Any] | None = None,
) -> None:
    row.state = state
    row.decided_at = now
    row.comment = comment[:2000] or None
    row.outcome = outcome
    if checker is not None:
        row.checker_id = checker.operator_id
        row.checker_name = checker.username


def system_request(
    session: Session,
    prepared: kinds.Prepared,
    *,
    kind: str,
    now: datetime,
    lifetime: timedelta,
    maker_id: str | None = None,
    maker_name: str = SYSTEM_MAKER,
    reason: str = "the policy row requires approval",
) -> ApprovalRequestRow:
    """A request repayguard makes itself: a held decision (no operator is its maker, so any
    approver may decide it) or a remedy (made on behalf of ``maker_id``, the operator whose
    action it follows, who then may not decide it). The caller emits and commits."""
    return _insert(
        session,
        kind,
        prepared,
        maker_id=maker_id,
        maker_name=maker_name,
        reason=reason,
        now=now,
        lifetime=lifetime,
    )


def system_withdraw(
    session: Session, row: ApprovalRequestRow, now: datetime, why: str
) -> Message | None:
    """Withdraw a request repayguard made (superseded); returns the message to emit, or None
    when an approver decided it since it was read (theirs stands)."""
    if not _claimed(session, row):
        return None
    _decide(row, WITHDRAWN, now, comment=why)
    return Message(ApprovalWithdrawn.of(row))


def withdraw_outdated_publications(uow: UnitOfWork, published: policies.VersionInfo) -> None:
    """Version ``published`` of a policy was just published (in ``uow``): withdraw, as the
    system and in the same transaction, a pending publish request of that name whose draft
    states a number no longer available, saying why; it could never be applied and would
    block every later request about the name (one pending request per subject)."""
    _withdraw_impossible(uow, published.name, uow.clock.now())


def _withdraw_impossible(uow: UnitOfWork, name: str, now: datetime) -> None:
    session = uow.session
    row = repository.pending_for(session, "policy_publish", name)
    if row is None:
        return
    stated = row.payload.get("stated_version")
    number = policies.next_version(session, name)
    if stated is None or str(stated) == str(number):
        return
    why = (
        f"withdrawn by repayguard: the draft states version {stated} of {name}, but version "
        f"{number - 1} is published and the next is {number}; submit the policy again "
        "without 'version' (it is assigned on publication)"
    )
    withdrawn = system_withdraw(session, row, now, why)
    if withdrawn is not None:
        session.flush()
        uow.emit(withdrawn)


def _claimed(session: Session, row: ApprovalRequestRow) -> bool:
    """Claim a request that a system path read without claiming (queries over the queue);
    False when someone decided it meanwhile — the row is re-read either way."""
    claimed = repository.claim(session, row.request_id)
    session.refresh(row)
    return claimed and row.state == PENDING


def requested(row: ApprovalRequestRow) -> Message:
    return Message(ApprovalRequested.of(row))
