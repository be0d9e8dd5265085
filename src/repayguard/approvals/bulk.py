"""Bulk approval of a filtered queue, for routine decisions held for approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from repayguard.approvals import repository, rules, service
from repayguard.approvals.errors import ApprovalCheckerNotAllowed
from repayguard.approvals.kinds import ApprovalContext
from repayguard.approvals.models import PENDING
from repayguard.approvals.queue import ApprovalRead
from repayguard.approvals.repository import QueueFilter
from repayguard.core.articles import with_article
from repayguard.errors import InvalidInput, RepayguardError
from repayguard.identity import role_allows
from repayguard.platform.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class BulkApprove:
    """Approve the pending routine decisions matching the filter (``category`` is the policy
    row), oldest first, at most ``limit``; only requests made before the call (or before
    ``created_before``) are touched, so nothing arriving meanwhile is approved unseen."""

    by: str
    comment: str
    category: str | None = None
    subject: str | None = None
    created_before: datetime | None = None
    limit: int = 500


@dataclass(frozen=True, slots=True)
class Refusal:
    request_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    approved: list[ApprovalRead]
    refused: list[Refusal]


BULK_KIND: Final = "decision"
"""Only decisions held for approval are routine enough to approve in bulk; policy versions,
models, overrides and emergency reviews are approved one by one."""


def bulk_approve(
    cmd: BulkApprove, *, uow: UnitOfWorkFactory, context: ApprovalContext
) -> BulkOutcome:
    """Approve each matching request in its own transaction (one stale request does not hold
    back the rest); returns what was approved and what was refused, with why."""
    if not 1 <= cmd.limit <= 1_000:
        raise InvalidInput("approve between 1 and 1,000 requests at a time")
    if cmd.created_before is not None:
        _check_cut_off(cmd.created_before)
    with uow() as probe:
        checker = rules.operator(probe.session, cmd.by)
        if not role_allows(checker.role, rules.DECIDE):
            raise ApprovalCheckerNotAllowed(
                f"{with_article(checker.role)} may not approve or reject requests"
            )
        where = QueueFilter(
            state=PENDING,
            kind=BULK_KIND,
            category=cmd.category,
            subject=cmd.subject,
            created_before=cmd.created_before or probe.clock.now(),
        )
        rows, _ = repository.listed(probe.session, where, limit=cmd.limit)
        ids = [row.request_id for row in rows]
    approved: list[ApprovalRead] = []
    refused: list[Refusal] = []
    for request_id in ids:
        try:
            approved.append(
                service.approve(
                    service.Approve(request_id, cmd.by, cmd.comment), uow=uow(), context=context
                )
            )
        except RepayguardError as exc:
            refused.append(Refusal(request_id, exc.code, exc.message))
    return BulkOutcome(approved, refused)


def _check_cut_off(moment: datetime) -> None:
    """The queue compares ``created_before`` with stored UTC times: it must name its zone and
    still be a time once in UTC (9999-12-31T23:00-05:00 is past the calendar's end)."""
    if moment.tzinfo is None:
        raise InvalidInput("created_before needs a time zone (for example 2026-01-31T09:00:00Z)")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("created_before is out of range once converted to UTC") from None
