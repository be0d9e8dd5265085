"""The refusals of maker-checker requests.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import InvalidInput, NotFound, RepayguardError


class ApprovalNotFound(NotFound):
    code = "approval_not_found"


class ApprovalInitiatorNotAllowed(RepayguardError):
    """The operator's role may not ask for this kind of approval (checkers never initiate)."""

    code = "approval_initiator_not_allowed"
    http_status = 403


class ApprovalCheckerNotAllowed(RepayguardError):
    """The operator's role may not approve or reject requests."""

    code = "approval_checker_not_allowed"
    http_status = 403


class MakerCannotApprove(RepayguardError):
    """The operator who made a request can never approve or reject it."""

    code = "maker_cannot_approve"
    http_status = 403


class ApprovalNotYours(RepayguardError):
    """Only the maker of a request may withdraw it."""

    code = "approval_not_yours"
    http_status = 403


class ApprovalNotPending(RepayguardError):
    """The request was already approved, rejected, withdrawn or expired."""

    code = "approval_not_pending"
    http_status = 409


class ApprovalExpired(RepayguardError):
    """The request's time to be decided has passed; it can only be made again."""

    code = "approval_expired"
    http_status = 409


class PendingApprovalExists(RepayguardError):
    """Another request about the same subject is still pending."""

    code = "pending_approval_exists"
    http_status = 409


class ApprovalPayloadInvalid(InvalidInput):
    """The payload does not describe something that could be approved (unknown draft, a
    model already in production, an override breaking a guardrail, …)."""

    code = "approval_payload_invalid"
