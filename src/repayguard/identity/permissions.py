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
        }
    ),
    "analyst": frozenset(
        {"borrowers:read", "policies:read", "policies:write", "models:read", "models:write",
         "operations:read"}
    ),
    "approver": frozenset({"borrowers:read", "policies:read", "models:read", "operations:read"}),
    "cs_agent": frozenset({"borrowers:read", "profiles:read", "operations:read"}),
    "auditor": frozenset(
        {"borrowers:read", "policies:read", "models:read", "audit:read", "operations:read"}
    ),
}  # fmt: skip
SERVICE_PERMISSIONS: Final = frozenset({"events:write", "authorize", "borrowers:read"})
BORROWER_PERMISSIONS: Final = frozenset({"borrowers:read:own", "profiles:read:own"})

PUBLIC: Final = "public"
ROUTES: Final[dict[tuple[str, str], str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("POST", "/v1/events"): "events:write",
    ("POST", "/v1/authorize"): "authorize",
    ("GET", "/v1/borrowers/{borrower_id}/repayment-methods"): "borrowers:read",
    ("PUT", "/v1/borrowers/{borrower_id}/profile"): "profiles:write",
    ("GET", "/v1/borrowers/{borrower_id}/profile"): "profiles:read",
    ("GET", "/v1/policies/schema"): "policies:read",
    ("POST", "/v1/policies/check"): "policies:read",
    ("GET", "/v1/policies/drafts/{draft_id}"): "policies:read",
    ("GET", "/v1/policies/versions"): "policies:read",
    ("GET", "/v1/policies/versions/{name}"): "policies:read",
    ("GET", "/v1/policies/versions/{name}/{version}"): "policies:read",
    ("POST", "/v1/policies/diff"): "policies:read",
    ("POST", "/v1/policies/impact"): "policies:read",
    ("POST", "/v1/policies/explain"): "policies:read",
    ("POST", "/v1/policies/drafts"): "policies:write",
    ("POST", "/v1/policies/drafts/{draft_id}/publish"): "policies:write",
    ("GET", "/v1/models"): "models:read",
    ("GET", "/v1/models/{version}"): "models:read",
    ("GET", "/v1/models/{version}/report"): "models:read",
    ("GET", "/v1/models/{version}/report.html"): "models:read",
}
"""(method, path template) → the permission it needs; ``public`` needs no token."""


def permissions_of(principal: Principal) -> frozenset[str]:
    if principal.kind == "service":
        return SERVICE_PERMISSIONS
    if principal.kind == "borrower":
        return BORROWER_PERMISSIONS
    assert principal.role is not None
    return OPERATOR_PERMISSIONS[principal.role]


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
