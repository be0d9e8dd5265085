"""Who may do what: roles, their permissions, and the one map from API route to permission.

Every route of the API must appear in ``ROUTES`` (a test enumerates the application's routes
and fails on any that is missing), so a new endpoint is closed until someone decides who may
call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Role = Literal["admin", "analyst", "approver", "cs_agent", "auditor"]
ROLES: Final[tuple[Role, ...]] = ("admin", "analyst", "approver", "cs_agent", "auditor")
Kind = Literal["operator", "service", "borrower"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's kind, the operator's role, or the borrower it speaks for."""

    kind: Kind
    token_id: str
    role: Role | None = None
    operator_id: str | None = None
    borrower_id: str | None = None
    username: str | None = None
    """The operator's login name (what the console shows); None for services and borrowers."""

    @property
    def label(self) -> str:
        """How the caller appears in the audit trail."""
        if self.kind == "operator":
            return f"operator:{self.operator_id}"
        if self.kind == "borrower":
            return f"borrower:{self.borrower_id}"
        return f"service:{self.token_id}"


# What each permission lets a caller do. Borrower-scoped permissions (suffix ":own") apply
# only to the borrower named in the route.
OPERATOR_PERMISSIONS: Final[dict[Role, frozenset[str]]] = {
    "admin": frozenset(
        {
            "events:write", "authorize", "borrowers:read", "profiles:read", "profiles:write",
            "policies:read", "policies:write", "models:read", "models:write", "audit:read",
            "identity:manage", "operations:read",
            "approvals:read", "approvals:request", "approvals:decide", "overrides:request",
            "emergencies:request", "notices:read",
            "complaints:file", "complaints:read", "complaints:resolve",
            "hardship:open", "hardship:read", "hardship:review", "monitoring:read",
            "incidents:read", "incidents:manage",
            "overlays:arm", "overlays:review",
        }
    ),
    "analyst": frozenset(
        {"borrowers:read", "policies:read", "policies:write", "models:read", "models:write",
         "operations:read", "approvals:read", "approvals:request", "emergencies:request",
         "incidents:read", "incidents:manage", "overlays:arm", "monitoring:read"}
    ),
    # The checker: decides requests, never initiates one (no "approvals:request"); reviews
    # emergency overlays after the fact.
    "approver": frozenset(
        {"borrowers:read", "policies:read", "models:read", "operations:read", "approvals:read",
         "approvals:decide", "incidents:read", "overlays:review", "monitoring:read"}
    ),
    "cs_agent": frozenset(
        {"borrowers:read", "profiles:read", "operations:read", "approvals:read",
         "approvals:request", "overrides:request", "notices:read",
         "complaints:file", "complaints:read", "complaints:resolve",
         "hardship:open", "hardship:read", "hardship:review"}
    ),
    "auditor": frozenset(
        {"borrowers:read", "policies:read", "models:read", "audit:read", "operations:read",
         "approvals:read", "notices:read", "complaints:read", "hardship:read", "incidents:read",
         "monitoring:read"}
    ),
}  # fmt: skip
SESSION_PERMISSIONS: Final = frozenset({"sessions:end"})
CONSOLE_PERMISSIONS: Final = frozenset({"console:view"})
"""Every operator may open the console; what each page shows needs the page's permission."""
SERVICE_PERMISSIONS: Final = frozenset({"events:write", "authorize", "borrowers:read"})
BORROWER_PERMISSIONS: Final = frozenset(
    {
        "borrowers:read:own",
        "profiles:read:own",
        "notices:read:own",
        "complaints:file:own",
        "complaints:read:own",
        "hardship:open:own",
        "hardship:read:own",
    }
)

PUBLIC: Final = "public"
ROUTES: Final[dict[tuple[str, str], str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/livez"): PUBLIC,
    # Prometheus: guarded by the metrics token, not API tokens (api/metrics_endpoint.py).
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/v1/sessions"): PUBLIC,
    ("DELETE", "/v1/sessions/current"): "sessions:end",
    ("POST", "/v1/events"): "events:write",
    ("POST", "/v1/authorize"): "authorize",
    ("GET", "/v1/borrowers/{borrower_id}/repayment-methods"): "borrowers:read",
    ("GET", "/v1/borrowers/{borrower_id}/what-would-change"): "borrowers:read",
    ("PUT", "/v1/borrowers/{borrower_id}/profile"): "profiles:write",
    ("GET", "/v1/borrowers/{borrower_id}/profile"): "profiles:read",
    ("GET", "/v1/borrowers/{borrower_id}/notices"): "notices:read",
    ("GET", "/v1/policies/schema"): "policies:read",
    ("POST", "/v1/policies/check"): "policies:read",
    ("GET", "/v1/policies/drafts/{draft_id}"): "policies:read",
    ("GET", "/v1/policies/versions"): "policies:read",
    ("GET", "/v1/policies/versions/{name}"): "policies:read",
    ("GET", "/v1/policies/versions/{name}/{version}"): "policies:read",
    ("POST", "/v1/policies/diff"): "policies:read",
    ("POST", "/v1/policies/impact"): "policies:read",
    ("POST", "/v1/policies/explain"): "policies:read",
    ("GET", "/v1/shadow/summary"): "policies:read",
    ("GET", "/v1/shadow/disagreements"): "policies:read",
    ("GET", "/v1/monitoring/metrics"): "monitoring:read",
    ("GET", "/v1/monitoring/snapshot"): "monitoring:read",
    ("POST", "/v1/policies/drafts"): "policies:write",
    ("POST", "/v1/policies/drafts/{draft_id}/publish"): "policies:write",
    ("GET", "/v1/models"): "models:read",
    ("GET", "/v1/models/{version}"): "models:read",
    ("GET", "/v1/models/{version}/report"): "models:read",
    ("GET", "/v1/models/{version}/report.html"): "models:read",
    ("GET", "/v1/approvals"): "approvals:read",
    ("GET", "/v1/approvals/{request_id}"): "approvals:read",
    ("POST", "/v1/approvals"): "approvals:request",
    ("POST", "/v1/approvals/{request_id}/approve"): "approvals:decide",
    ("POST", "/v1/approvals/{request_id}/reject"): "approvals:decide",
    ("POST", "/v1/approvals/{request_id}/withdraw"): "approvals:request",
    ("POST", "/v1/approvals/bulk-approve"): "approvals:decide",
    ("POST", "/v1/borrowers/{borrower_id}/complaints"): "complaints:file",
    ("GET", "/v1/borrowers/{borrower_id}/complaints"): "complaints:read",
    ("GET", "/v1/complaints"): "complaints:read",
    ("GET", "/v1/complaints/{complaint_id}"): "complaints:read",
    ("POST", "/v1/complaints/{complaint_id}/resolve"): "complaints:resolve",
    ("POST", "/v1/borrowers/{borrower_id}/hardship"): "hardship:open",
    ("GET", "/v1/borrowers/{borrower_id}/hardship"): "hardship:read",
    ("GET", "/v1/hardship"): "hardship:read",
    ("GET", "/v1/hardship/{case_id}"): "hardship:read",
    ("POST", "/v1/hardship/{case_id}/close"): "hardship:review",
    ("GET", "/v1/complaints/{complaint_id}/remedies"): "complaints:read",
    ("GET", "/v1/incidents"): "incidents:read",
    ("GET", "/v1/incidents/{incident_id}"): "incidents:read",
    ("POST", "/v1/incidents/{incident_id}/acknowledge"): "incidents:manage",
    ("POST", "/v1/incidents/{incident_id}/resolve"): "incidents:manage",
    ("GET", "/v1/playbooks"): "policies:read",
    ("GET", "/v1/playbooks/{name}/{version}"): "policies:read",
    ("POST", "/v1/playbooks"): "policies:write",
    ("GET", "/v1/overlays"): "policies:read",
    ("POST", "/v1/overlays"): "overlays:arm",
    ("POST", "/v1/overlays/{overlay_id}/lift"): "overlays:arm",
    ("POST", "/v1/overlays/{overlay_id}/review"): "overlays:review",
    # The web console (a session cookie stands in for the bearer token on these paths).
    ("GET", "/console"): PUBLIC,
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): PUBLIC,
    ("GET", "/console/static/console.css"): PUBLIC,
    ("GET", "/console/static/plotly.js"): PUBLIC,
    ("POST", "/console/logout"): "sessions:end",
    ("GET", "/console/"): "console:view",
    ("GET", "/console/approvals"): "approvals:read",
    ("GET", "/console/approvals/{request_id}"): "approvals:read",
    ("POST", "/console/approvals/{request_id}/approve"): "approvals:decide",
    ("POST", "/console/approvals/{request_id}/reject"): "approvals:decide",
    ("POST", "/console/approvals/bulk-approve"): "approvals:decide",
    ("GET", "/console/complaints"): "complaints:read",
    ("GET", "/console/complaints/{complaint_id}"): "complaints:read",
    ("POST", "/console/complaints/{complaint_id}/resolve"): "complaints:resolve",
    ("GET", "/console/hardship"): "hardship:read",
    ("POST", "/console/hardship"): "hardship:open",
    ("GET", "/console/hardship/{case_id}"): "hardship:read",
    ("POST", "/console/hardship/{case_id}/close"): "hardship:review",
    ("GET", "/console/incidents"): "incidents:read",
    ("GET", "/console/incidents/{incident_id}"): "incidents:read",
    # Operators only: ``borrowers:read`` has a borrower-own form, console pages must not.
    ("GET", "/console/borrowers"): "console:view",
    ("GET", "/console/borrowers/{borrower_id}"): "console:view",
    ("GET", "/console/audit"): "audit:read",
    ("POST", "/console/audit/verify"): "audit:read",
    ("GET", "/console/policies"): "policies:read",
    ("GET", "/console/policies/diff"): "policies:read",
    ("GET", "/console/policies/{name}/{version}"): "policies:read",
    ("GET", "/console/shadow"): "policies:read",
    ("GET", "/console/simulations"): "policies:read",
    ("GET", "/console/monitoring"): "monitoring:read",
    ("GET", "/console/simulations/{run_id}"): "policies:read",
    ("GET", "/console/simulations/{run_id}/report"): "policies:read",
}
"""(method, path template) → the permission it needs; ``public`` needs no token."""


_OPERATOR_HELD: Final = {
    role: held | SESSION_PERMISSIONS | CONSOLE_PERMISSIONS
    for role, held in OPERATOR_PERMISSIONS.items()
}


def permissions_of(principal: Principal) -> frozenset[str]:
    """What the principal holds; every operator may end their own session."""
    if principal.kind == "service":
        return SERVICE_PERMISSIONS
    if principal.kind == "borrower":
        return BORROWER_PERMISSIONS
    assert principal.role is not None
    return _OPERATOR_HELD[principal.role]


def role_allows(role: str, permission: str) -> bool:
    """Whether operators of ``role`` hold ``permission`` (unknown roles hold nothing)."""
    return any(name == role and permission in held for name, held in OPERATOR_PERMISSIONS.items())


def allows(principal: Principal, permission: str, *, borrower_id: str | None) -> bool:
    """Whether ``principal`` holds ``permission`` for a route about ``borrower_id`` (if any).

    A borrower holds only the ``:own`` form of a permission, and only for their own id; a route
    without a borrower in its path is never open to a borrower token.
    """
    if permission == PUBLIC:
        return True
    held = permissions_of(principal)
    if permission in held:
        return True
    return (
        principal.kind == "borrower"
        and f"{permission}:own" in held
        and borrower_id is not None
        and borrower_id == principal.borrower_id
    )
