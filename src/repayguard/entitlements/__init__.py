"""Entitlements: each borrower's method states, the in-memory view and the authorize API."""

from repayguard.entitlements.repository import load, sample
from repayguard.entitlements.service import (
    ENTITLEMENTS_CHANGED,
    AppliedDecisions,
    apply_decisions,
    change_messages,
    current_frame,
)
from repayguard.entitlements.states import Entitlement, MethodStates
from repayguard.entitlements.view import (
    Alternative,
    AuthorizeRequest,
    AuthorizeResult,
    EntitlementView,
)

__all__ = [
    "ENTITLEMENTS_CHANGED",
    "Alternative",
    "AppliedDecisions",
    "AuthorizeRequest",
    "AuthorizeResult",
    "Entitlement",
    "EntitlementView",
    "MethodStates",
    "apply_decisions",
    "change_messages",
    "current_frame",
    "load",
    "sample",
]
