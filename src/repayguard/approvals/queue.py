"""Reading the approval queue: requests as callers see them, one by id, a filtered page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from repayguard.approvals import repository
from repayguard.approvals.errors import ApprovalNotFound
from repayguard.approvals.models import ApprovalRequestRow
from repayguard.approvals.repository import QueueFilter
from repayguard.platform.records import record_of
from repayguard.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ApprovalRead:
    """A request as callers see it (not the ORM row)."""

    request_id: str
    kind: str
    subject: str
    category: str
    summary: str
    payload: dict[str, Any]
    payload_sha256: str
    reason: str
    maker_id: str | None
    maker_name: str
    state: str
    created_at: datetime
    expires_at: datetime
    checker_id: str | None
    checker_name: str | None
    comment: str | None
    decided_at: datetime | None
    outcome: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ApprovalPage:
    items: list[ApprovalRead]
    total: int


def read(row: ApprovalRequestRow) -> ApprovalRead:
    return record_of(
        ApprovalRead,
        row,
        payload=dict(row.payload),
        outcome=dict(row.outcome) if row.outcome is not None else None,
    )


def get_request(request_id: str, *, uow: UnitOfWork) -> ApprovalRead:
    with uow:
        row = repository.get(uow.session, request_id)
        if row is None:
            raise ApprovalNotFound(
                f"no approval request {request_id!r}", hint="'repayguard approvals list' shows them"
            )
        return read(row)


def list_requests(
    where: QueueFilter, *, uow: UnitOfWork, limit: int = 50, offset: int = 0
) -> ApprovalPage:
    """The queue: matching requests, oldest first, and how many match in all."""
    with uow:
        rows, total = repository.listed(uow.session, where, limit=limit, offset=offset)
        return ApprovalPage([read(r) for r in rows], total)
