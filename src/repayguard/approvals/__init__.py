"""Maker-checker approvals: policy versions, model promotions, overrides, held decisions and
emergency reviews are applied only after a second person approves exactly what was asked."""

from repayguard.approvals.bulk import BULK_KIND, BulkApprove, BulkOutcome, Refusal, bulk_approve
from repayguard.approvals.consumers import (
    HeldDecisions,
    ProposedRemedies,
    SupersededHeldDecisions,
)
from repayguard.approvals.jobs import ExpireOverdueRequests
from repayguard.approvals.kinds import (
    DEFAULT_LIFETIMES,
    ApprovalContext,
)
from repayguard.approvals.messages import (
    APPROVAL_APPROVED,
    APPROVAL_EXPIRED,
    APPROVAL_REJECTED,
    APPROVAL_REQUESTED,
    APPROVAL_WITHDRAWN,
    APPROVALS_DECIDED,
    EMERGENCY_REVIEWED,
    ApprovalApproved,
    ApprovalDecided,
    ApprovalFact,
    ApprovalRejected,
    ApprovalRequested,
    ApprovalRequestExpired,
    ApprovalWithdrawn,
    EmergencyReviewed,
)
from repayguard.approvals.models import KINDS, STATES, Kind
from repayguard.approvals.queue import ApprovalPage, ApprovalRead, get_request, list_requests
from repayguard.approvals.repository import QueueFilter, waiting_spans
from repayguard.approvals.rules import INITIATE, may_initiate, payload_sha256
from repayguard.approvals.service import (
    Approve,
    Reject,
    RequestApproval,
    Withdraw,
    approve,
    expire_due,
    reject,
    request_approval,
    withdraw,
    withdraw_outdated_publications,
)

__all__ = [
    "APPROVALS_DECIDED",
    "APPROVAL_APPROVED",
    "APPROVAL_EXPIRED",
    "APPROVAL_REJECTED",
    "APPROVAL_REQUESTED",
    "APPROVAL_WITHDRAWN",
    "BULK_KIND",
    "DEFAULT_LIFETIMES",
    "EMERGENCY_REVIEWED",
    "INITIATE",
    "KINDS",
    "STATES",
    "ApprovalApproved",
    "ApprovalContext",
    "ApprovalDecided",
    "ApprovalFact",
    "ApprovalPage",
    "ApprovalRead",
    "ApprovalRejected",
    "ApprovalRequestExpired",
    "ApprovalRequested",
    "ApprovalWithdrawn",
    "Approve",
    "BulkApprove",
    "BulkOutcome",
    "EmergencyReviewed",
    "ExpireOverdueRequests",
    "HeldDecisions",
    "Kind",
    "ProposedRemedies",
    "QueueFilter",
    "Refusal",
    "Reject",
    "RequestApproval",
    "SupersededHeldDecisions",
    "Withdraw",
    "approve",
    "bulk_approve",
    "expire_due",
    "get_request",
    "list_requests",
    "may_initiate",
    "payload_sha256",
    "reject",
    "request_approval",
    "waiting_spans",
    "withdraw",
    "withdraw_outdated_publications",
]
