"""Entitlements: each borrower's method states, the in-memory view and the authorize API."""

from repayguard.entitlements import timed
from repayguard.entitlements.approved import (
    ApplyOverride,
    ReleaseDecision,
    apply_override,
    override_starts,
    release_decision,
)
from repayguard.entitlements.flags import (
    OPEN_APPEAL,
    OPEN_HARDSHIP,
    flags_of,
    lower_flag,
    raise_flag,
)
from repayguard.entitlements.messages import (
    DECISIONS_HELD,
    ENTITLEMENT_OVERRIDDEN,
    ENTITLEMENTS_ACTIVATED,
    ENTITLEMENTS_CHANGED,
    TOLD_AT,
    DecisionsHeld,
    EntitlementOverridden,
    EntitlementsActivated,
    EntitlementsChanged,
)
from repayguard.entitlements.repository import load, sample
from repayguard.entitlements.service import (
    OVERRIDE_RULE,
    AppliedDecisions,
    apply_decisions,
    change_messages,
    current_frame,
    held_messages,
    in_force_for_open_cases,
    overrides_at,
    told_at,
)
from repayguard.entitlements.states import (
    METHODS,
    Entitlement,
    HeldDecision,
    MethodStates,
    tightens,
)
from repayguard.entitlements.timed import EXPIRY_RULE, RESTRICTION_EXPIRED
from repayguard.entitlements.view import (
    Alternative,
    AuthorizeRequest,
    AuthorizeResult,
    EntitlementView,
)

__all__ = [
    "DECISIONS_HELD",
    "ENTITLEMENTS_ACTIVATED",
    "ENTITLEMENTS_CHANGED",
    "ENTITLEMENT_OVERRIDDEN",
    "EXPIRY_RULE",
    "METHODS",
    "OPEN_APPEAL",
    "OPEN_HARDSHIP",
    "OVERRIDE_RULE",
    "RESTRICTION_EXPIRED",
    "TOLD_AT",
    "Alternative",
    "AppliedDecisions",
    "ApplyOverride",
    "AuthorizeRequest",
    "AuthorizeResult",
    "DecisionsHeld",
    "Entitlement",
    "EntitlementOverridden",
    "EntitlementView",
    "EntitlementsActivated",
    "EntitlementsChanged",
    "HeldDecision",
    "MethodStates",
    "ReleaseDecision",
    "apply_decisions",
    "apply_override",
    "change_messages",
    "current_frame",
    "flags_of",
    "held_messages",
    "in_force_for_open_cases",
    "load",
    "lower_flag",
    "override_starts",
    "overrides_at",
    "raise_flag",
    "release_decision",
    "sample",
    "tightens",
    "timed",
    "told_at",
]
