"""Resolving a case: uphold the decision, or reverse it through a manual override that a second
person approves (maker-checker).

- **Uphold** closes the case in one transaction: outcome label, open-appeal flag lowered,
  the borrower's ``complaint_resolved`` notice, ``repayguard.complaint.resolved``.
- **Reverse** asks approvals for an ``override`` of the borrower's methods (the agent is the
  maker, so the agent can never approve it) and marks the case ``reversal_pending`` with the
  request's id. The case closes as ``reversed`` when the request is approved; if it is
  rejected, withdrawn or expires, the case is open again for another resolution
  (:func:`settle_reversal`, driven by the approval messages). The request and the case are two
  transactions: should the case have been resolved meanwhile, the request is withdrawn again.
  Closing as reversed records the remedies the restriction owes the borrower in the same
  transaction (``remedies.record_remedies``); upholding the decision owes none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy.orm import Session

from repayguard import approvals, decisions, entitlements, identity, notices, remedies
from repayguard.complaints import repository
from repayguard.complaints.errors import (
    ComplaintInvalid,
    ComplaintNotOpen,
    ComplaintResolverNotAllowed,
)
from repayguard.complaints.messages import (
    ComplaintResolved,
    ComplaintReversalRefused,
    ComplaintReversalRequested,
)
from repayguard.complaints.models import (
    OPEN,
    REVERSAL_PENDING,
    REVERSED,
    UPHELD,
    ComplaintLabelRow,
    ComplaintRow,
)
from repayguard.complaints.service import (
    ComplaintInfo,
    ComplaintSetup,
    existing,
    info,
    tell,
    told,
)
from repayguard.core.articles import with_article
from repayguard.core.policy.outcome import OPEN as OPEN_STATES
from repayguard.core.policy.outcome import restricts
from repayguard.decisions import LoggedDecision
from repayguard.decisions.errors import DecisionNotFound
from repayguard.entitlements import METHODS
from repayguard.errors import NotFound, PermissionDenied
from repayguard.identity import OperatorRead
from repayguard.identity.errors import OperatorRequired
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

RESOLVE: Final = "complaints:resolve"
APPROVED: Final = "approved"
REFUSED: Final = ("rejected", "withdrawn", "expired")
_LOOK_BACK: Final = 500
"""Decisions read back to find when a reversed restriction took effect."""


@dataclass(frozen=True, slots=True)
class Reversal:
    """What the override reversing a decision sets. Left out: the borrower's methods in force,
    with each contested method back to its open state (contested channels: every channel the
    policy offers), for ``complaints.reversal_days``."""

    auto_debit: str | None = None
    early_repayment: str | None = None
    manual: str | None = None
    manual_channels: tuple[str, ...] | None = None
    days: int | None = None
    reasons: tuple[str, ...] = ("MANUAL_OVERRIDE",)


@dataclass(frozen=True, slots=True)
class ResolveComplaint:
    """Resolve a case: ``uphold`` the decision or ``reverse`` it; ``by`` is the acting
    operator's id, ``comment`` why (kept with the case, never sent to the borrower)."""

    complaint_id: str
    by: str
    outcome: Literal["uphold", "reverse"]
    comment: str
    reversal: Reversal = Reversal()


def resolve_complaint(
    cmd: ResolveComplaint, *, uow: UnitOfWorkFactory, setup: ComplaintSetup
) -> ComplaintInfo:
    """Uphold (closes the case) or reverse (asks a second person to approve the override;
    the case closes when they do). See the module docstring."""
    if not cmd.comment.strip():
        raise ComplaintInvalid("say why the case is resolved this way", hint="pass a comment")
    if cmd.outcome == "uphold":
        return _uphold(cmd, uow=uow, setup=setup)
    if cmd.outcome == "reverse":
        return _reverse(cmd, uow=uow, setup=setup)
    raise ComplaintInvalid(f"unknown outcome {cmd.outcome!r}", hint="uphold or reverse")


def _resolver(session: Session, operator_id: str) -> OperatorRead:
    try:
        found = identity.find_operator(session, operator_id=operator_id)
    except NotFound as exc:
        raise OperatorRequired(
            f"no operator with id {operator_id!r} can resolve complaints",
            hint="act as an operator: an operator token, or --as USERNAME",
        ) from exc
    if not found.active:
        raise PermissionDenied(f"operator {found.username} is disabled")
    if not identity.role_allows(found.role, RESOLVE):
        raise ComplaintResolverNotAllowed(
            f"{with_article(found.role)} may not resolve complaints",
            hint="a cs_agent or an admin does",
        )
    return found


def _open(row: ComplaintRow) -> ComplaintRow:
    """The case, which must be open (not resolved, no reversal waiting for approval)."""
    if row.status == REVERSAL_PENDING:
        raise ComplaintNotOpen(
            f"a reversal of complaint {row.complaint_id} waits for a second person's approval "
            f"(request {row.approval_id})",
            hint="the case closes as reversed when it is approved; to uphold the decision "
            f"instead, withdraw it first ('repayguard approvals withdraw {row.approval_id} "
            "--as YOU')",
        )
    if row.status != OPEN:
        raise ComplaintNotOpen(f"complaint {row.complaint_id} is already {row.status}")
    return row


def _decision(session: Session, row: ComplaintRow) -> LoggedDecision:
    found = decisions.find_decision(session, row.decision_id)
    if found is None:
        raise DecisionNotFound(
            f"decision {row.decision_id} of complaint {row.complaint_id} is not in the log",
            hint="the decision log is append-only: check it for tampering ('repayguard audit "
            "verify')",
        )
    return found


def _close(
    uow: UnitOfWork,
    row: ComplaintRow,
    outcome: str,
    *,
    now: datetime,
    setup: ComplaintSetup,
    reviewer: OperatorRead | None = None,
    comment: str | None = None,
) -> None:
    """Close the case as ``outcome``: its label, the flag lowered, the borrower's
    ``complaint_resolved`` notice — in the caller's transaction."""
    session = uow.session
    decision = _decision(session, row)
    row.status = outcome
    row.resolved_at = now
    row.updated_at = now
    if reviewer is not None:
        row.reviewer_id = reviewer.operator_id
        row.reviewer_name = reviewer.username
    if comment is not None:
        row.comment = comment[:2_000]
    repository.add_label(
        session,
        ComplaintLabelRow(
            complaint_id=row.complaint_id,
            borrower_id=row.borrower_id,
            decision_id=row.decision_id,
            as_of=decision.as_of,
            rule_id=decision.rule_id,
            model_version=decision.model_version,
            outcome=outcome,
            resolved_at=now,
        ),
    )
    entitlements.lower_flag(
        session, row.borrower_id, entitlements.OPEN_APPEAL, reference=row.complaint_id
    )
    session.flush()
    tell(uow, row, notices.NoticeKind.COMPLAINT_RESOLVED, decided_at=decision.as_of, setup=setup)


def _uphold(
    cmd: ResolveComplaint, *, uow: UnitOfWorkFactory, setup: ComplaintSetup
) -> ComplaintInfo:
    with uow() as unit:
        session = unit.session
        now = unit.clock.now()
        reviewer = _resolver(session, cmd.by)
        row = _open(existing(session, cmd.complaint_id, for_update=True))
        _close(unit, row, UPHELD, now=now, setup=setup, reviewer=reviewer, comment=cmd.comment)
        unit.emit(Message(ComplaintResolved.of(row, outcome=UPHELD)))
        result = info(row, now=now, told=told(unit, row))
        unit.commit()
    return result


def reversal_payload(
    row: ComplaintRow,
    decision: LoggedDecision,
    reversal: Reversal,
    *,
    current: entitlements.Entitlement | None,
    now: datetime,
    setup: ComplaintSetup,
) -> dict[str, Any]:
    """The override request's payload (see :class:`Reversal` for the defaults). A reversal
    that still restricts something gets the jurisdiction's minimum notice (G3)."""
    engine = setup.engine()
    policy = engine.policy
    base = (current.states_at(now) if current is not None else decision.states).as_dict()
    for method in METHODS:
        if method in row.contested:
            base[method] = OPEN_STATES[method]
    if "manual_channels" in row.contested:
        base["manual_channels"] = list(dict.fromkeys([*base["manual_channels"], *policy.channels]))
    given = {
        "auto_debit": reversal.auto_debit,
        "early_repayment": reversal.early_repayment,
        "manual": reversal.manual,
        "manual_channels": list(reversal.manual_channels) if reversal.manual_channels else None,
    }
    states = {**base, **{k: v for k, v in given.items() if v is not None}}
    profile = setup.approvals.profiles.get(policy.jurisdiction)
    notice = profile.min_notice_days if profile is not None else 0
    return {
        "borrower_id": row.borrower_id,
        **states,
        "reasons": list(reversal.reasons),
        "days": reversal.days or setup.reversal_days,
        "notice_days": notice if restricts(states, policy.channels) else 0,
        "note": f"reverses decision {decision.decision_id} on complaint {row.complaint_id}",
    }


def _reverse(
    cmd: ResolveComplaint, *, uow: UnitOfWorkFactory, setup: ComplaintSetup
) -> ComplaintInfo:
    with uow() as unit:
        session = unit.session
        now = unit.clock.now()
        _resolver(session, cmd.by)
        row = _open(existing(session, cmd.complaint_id))
        current = entitlements.load(session, [row.borrower_id]).get(row.borrower_id)
        payload = reversal_payload(
            row, _decision(session, row), cmd.reversal, current=current, now=now, setup=setup
        )
    requested = approvals.request_approval(
        approvals.RequestApproval(
            "override",
            payload,
            by=cmd.by,
            reason=f"complaint {cmd.complaint_id}: {cmd.comment}"[:2_000],
        ),
        uow=uow(),
        context=setup.approvals,
    )
    try:
        with uow() as unit:
            session = unit.session
            now = unit.clock.now()
            reviewer = _resolver(session, cmd.by)
            row = _open(existing(session, cmd.complaint_id, for_update=True))
            row.status = REVERSAL_PENDING
            row.approval_id = requested.request_id
            row.reviewer_id = reviewer.operator_id
            row.reviewer_name = reviewer.username
            row.comment = cmd.comment[:2_000]
            row.updated_at = now
            unit.emit(Message(ComplaintReversalRequested.of(row)))
            result = info(row, now=now, told=told(unit, row))
            unit.commit()
    except ComplaintNotOpen:
        approvals.withdraw(
            approvals.Withdraw(
                requested.request_id, cmd.by, "the complaint was resolved in the meantime"
            ),
            uow=uow(),
        )
        raise
    # A checker may have decided the request before the case pointed at it.
    decided = approvals.get_request(requested.request_id, uow=uow())
    if decided.state != "pending":
        settled = settle_reversal(
            requested.request_id,
            decided.state,
            uow=uow(),
            setup=setup,
            checker=decided.checker_name,
        )
        return settled or result
    return result


def _remedy(uow: UnitOfWork, row: ComplaintRow, *, now: datetime, setup: ComplaintSetup) -> None:
    """Record what the reversed restriction owes the borrower, from when it took effect until
    now, in the caller's transaction."""
    if setup.remedies is None:
        return
    decision = _decision(uow.session, row)
    remedies.record_remedies(
        remedies.RecordRemedies(
            complaint_id=row.complaint_id,
            borrower_id=row.borrower_id,
            decision_id=decision.decision_id,
            states=decision.states.as_dict(),
            offered_channels=tuple(setup.engine().policy.channels),
            start=_restricted_since(uow.session, decision),
            end=now,
            maker_id=row.reviewer_id,
            maker_name=row.reviewer_name or "unknown",
        ),
        uow=uow,
        setup=setup.remedies,
    )


def _restricted_since(session: Session, decision: LoggedDecision) -> datetime:
    """When the contested restriction took effect: the borrower is re-decided as events
    arrive, so it is the earliest of the unbroken run of decisions up to the contested one
    that set the same states (as-of time plus notice period)."""
    since = decision
    for earlier in decisions.recent_decisions(session, decision.borrower_id, limit=_LOOK_BACK):
        if earlier.as_of > since.as_of or earlier.decision_id == since.decision_id:
            continue
        if earlier.states != decision.states:
            break
        since = earlier
    return since.as_of + timedelta(days=since.notice_days)


def settle_reversal(
    request_id: str,
    state: str,
    *,
    uow: UnitOfWork,
    setup: ComplaintSetup,
    checker: str | None = None,
) -> ComplaintInfo | None:
    """Apply the fate of override request ``request_id`` to the case waiting for it:
    approved → the case closes as ``reversed``; rejected, withdrawn or expired → it is open
    again. Returns the case, or None when no case waits for this request (idempotent)."""
    if state != APPROVED and state not in REFUSED:
        return None
    with uow:
        session = uow.session
        now = uow.clock.now()
        row = repository.by_approval(session, request_id, for_update=True)
        if row is None or row.status != REVERSAL_PENDING:
            return None
        if state == APPROVED:
            _close(uow, row, REVERSED, now=now, setup=setup)
            _remedy(uow, row, now=now, setup=setup)
            uow.emit(Message(ComplaintResolved.of(row, outcome=REVERSED, approved_by=checker)))
        else:
            row.status = OPEN
            row.updated_at = now
            uow.emit(Message(ComplaintReversalRefused.of(row, approval_state=state)))
        result = info(row, now=now, told=told(uow, row))
        uow.commit()
    return result
