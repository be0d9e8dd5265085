"""Remedies use-cases: record what a reversed restriction cost the borrower, approve or refuse
a remedy waiting for a checker, list a case's remedies.

- :func:`record_remedies` runs in the caller's unit of work (the case closing as reversed), so
  the remedies exist if and only if the reversal is recorded. Each amount comes from the
  borrower's events (``compute``); at most ``auto_approve_up_to`` it is approved at once
  (``repayguard.remedy.approved``, the ledger's entry), above it it waits for a second person
  (``repayguard.remedy.proposed``: approvals makes a ``remedy`` request whose maker is the
  agent who resolved the case, so that agent can never approve it). The borrower is sent an
  apology notice listing the remedies. Recording twice for a case records nothing new.
- :func:`approve_remedy_within` / :func:`refuse_remedy_within` are what approving or rejecting
  that request applies, inside the approval's unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from repayguard import ingestion, notices
from repayguard.errors import ApprovalPayloadChanged
from repayguard.platform.messages import Message
from repayguard.platform.records import record_of
from repayguard.platform.uow import UnitOfWork
from repayguard.remedies import repository
from repayguard.remedies.compute import Rates, harms
from repayguard.remedies.messages import (
    RemedyApproved,
    RemedyProposed,
    RemedyRejected,
    amount_text,
)
from repayguard.remedies.models import (
    APOLOGY,
    APPROVED,
    AWAITING_APPROVAL,
    REJECTED,
    RemedyRow,
)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
AUTO: Final = "repayguard (within remedies.auto_approve_up_to)"


@dataclass(frozen=True, slots=True)
class RemedySetup:
    """What remedies needs, built once by bootstrap from ``remedies.*`` settings."""

    notices: notices.NoticeSetup
    rates: Rates = field(default_factory=Rates)
    currency: str = "CNY"
    auto_approve_up_to_minor: int = 10_000


@dataclass(frozen=True, slots=True)
class RecordRemedies:
    """Complaint ``complaint_id`` reversed decision ``decision_id``, which restricted the
    borrower to ``states`` from ``start`` (when it took effect) until ``end`` (the reversal).
    ``maker_id``/``maker_name``: the operator who resolved the case."""

    complaint_id: str
    borrower_id: str
    decision_id: str
    states: Mapping[str, Any]
    offered_channels: Sequence[str]
    start: datetime
    end: datetime
    maker_id: str | None
    maker_name: str


@dataclass(frozen=True, slots=True)
class RemedyInfo:
    """One remedy as a case lists it."""

    remedy_id: str
    complaint_id: str
    borrower_id: str
    kind: str
    amount_minor: int
    currency: str
    state: str
    basis: dict[str, Any] = field(repr=False)
    maker_name: str
    approval_id: str | None
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None
    exported_at: datetime | None
    export_attempts: int
    export_error: str | None

    @property
    def amount(self) -> str:
        return amount_text(self.amount_minor)


def info(row: RemedyRow) -> RemedyInfo:
    return record_of(RemedyInfo, row, basis=dict(row.basis))


def record_remedies(
    cmd: RecordRemedies, *, uow: UnitOfWork, setup: RemedySetup
) -> tuple[RemedyInfo, ...]:
    """Record the case's remedies in the caller's open unit of work (it neither opens nor
    commits one); see the module docstring."""
    session = uow.session
    recorded = repository.of_complaint(session, cmd.complaint_id)
    if recorded:
        return tuple(info(row) for row in recorded)
    now = uow.clock.now()
    events = ingestion.load_history(
        session, since=_EPOCH, until=cmd.end, borrowers=[cmd.borrower_id]
    )
    owed = harms(
        events,
        borrower_id=cmd.borrower_id,
        states=cmd.states,
        offered_channels=cmd.offered_channels,
        start=cmd.start,
        end=cmd.end,
        rates=setup.rates,
    )
    window = {"restricted_from": cmd.start.isoformat(), "restricted_until": cmd.end.isoformat()}
    rows = [
        _row(cmd, setup, harm.kind, harm.amount_minor, {**window, **harm.basis}, now=now)
        for harm in owed
    ]
    rows.append(_row(cmd, setup, APOLOGY, 0, window, now=now))
    repository.add(session, rows)
    for row in rows:
        if row.kind == APOLOGY:
            continue
        uow.emit(Message((RemedyApproved if row.state == APPROVED else RemedyProposed).of(row)))
    notices.record_notice(
        notices.RecordNotice(
            cmd.borrower_id,
            notices.NoticeKind.REMEDY_APOLOGY,
            cmd.complaint_id,
            {
                "case": cmd.complaint_id,
                "since": cmd.start,
                "remedies": [
                    {
                        "kind": row.kind,
                        "amount": amount_text(row.amount_minor),
                        "currency": row.currency,
                        "approved": row.state == APPROVED,
                    }
                    for row in rows
                    if row.kind != APOLOGY
                ],
            },
            decision_id=cmd.decision_id,
        ),
        uow=uow,
        setup=setup.notices,
    )
    return tuple(info(row) for row in rows)


def _row(
    cmd: RecordRemedies,
    setup: RemedySetup,
    kind: str,
    amount_minor: int,
    basis: dict[str, Any],
    *,
    now: datetime,
) -> RemedyRow:
    """A remedy as recorded: approved at once up to the auto-approval amount (the apology, a
    notice, always), else waiting for a checker."""
    automatic = amount_minor <= setup.auto_approve_up_to_minor
    return RemedyRow(
        remedy_id=uuid.uuid4().hex,
        complaint_id=cmd.complaint_id,
        borrower_id=cmd.borrower_id,
        decision_id=cmd.decision_id,
        kind=kind,
        amount_minor=amount_minor,
        currency=setup.currency,
        basis=basis,
        state=APPROVED if automatic else AWAITING_APPROVAL,
        maker_id=cmd.maker_id,
        maker_name=cmd.maker_name[:120],
        decided_by=AUTO if automatic else None,
        created_at=now,
        decided_at=now if automatic else None,
        next_export_at=now if automatic and kind != APOLOGY else None,
        export_attempts=0,
    )


@dataclass(frozen=True, slots=True)
class SettleRemedy:
    """The fate of remedy ``remedy_id`` as approval request ``approval_id`` pinned it
    (``amount_minor``, ``currency``), decided by ``by`` (the checker's username)."""

    remedy_id: str
    amount_minor: int
    currency: str
    approval_id: str
    by: str


def _awaiting(uow: UnitOfWork, cmd: SettleRemedy) -> RemedyRow:
    row = repository.get(uow.session, cmd.remedy_id, for_update=True)
    if (
        row is None
        or row.state != AWAITING_APPROVAL
        or (row.amount_minor, row.currency) != (cmd.amount_minor, cmd.currency)
    ):
        raise ApprovalPayloadChanged(
            f"remedy {cmd.remedy_id} is not waiting for approval as it was submitted",
            hint="reject this request; the case's remedies show what became of it "
            "('repayguard complaints show CASE')",
        )
    return row


def link_approval(remedy_id: str, approval_id: str, *, uow: UnitOfWork) -> None:
    """Note the approval request a waiting remedy is decided by (caller's unit of work)."""
    row = repository.get(uow.session, remedy_id, for_update=True)
    if row is not None and row.state == AWAITING_APPROVAL:
        row.approval_id = approval_id


def approve_remedy_within(cmd: SettleRemedy, *, uow: UnitOfWork) -> RemedyInfo:
    """Approve a waiting remedy in the approval's unit of work: ``repayguard.remedy.approved``
    (the ledger's entry) leaves with it."""
    row = _awaiting(uow, cmd)
    row.state = APPROVED
    row.approval_id = cmd.approval_id
    row.decided_by = cmd.by[:120]
    row.decided_at = uow.clock.now()
    row.next_export_at = row.decided_at
    uow.emit(Message(RemedyApproved.of(row)))
    return info(row)


def refuse_remedy_within(cmd: SettleRemedy, *, uow: UnitOfWork) -> RemedyInfo:
    """A checker rejected the remedy: it is never exported."""
    row = _awaiting(uow, cmd)
    row.state = REJECTED
    row.approval_id = cmd.approval_id
    row.decided_by = cmd.by[:120]
    row.decided_at = uow.clock.now()
    uow.emit(Message(RemedyRejected.of(row)))
    return info(row)


@dataclass(frozen=True, slots=True)
class ListRemedies:
    complaint_id: str


def list_remedies(cmd: ListRemedies, *, uow: UnitOfWork) -> tuple[RemedyInfo, ...]:
    """The remedies recorded for a case (none until it is reversed), oldest first."""
    with uow:
        return tuple(info(row) for row in repository.of_complaint(uow.session, cmd.complaint_id))
