"""Identity and access: operators with roles, API tokens, and the one permission map."""

from repayguard.identity.permissions import (
    PUBLIC,
    ROLES,
    ROUTES,
    Principal,
    allows,
)
from repayguard.identity.service import (
    AddOperator,
    CreateToken,
    DisableOperator,
    IssuedToken,
    OperatorRead,
    RevokeToken,
    TokenResolver,
    add_operator,
    create_token,
    disable_operator,
    list_operators,
    list_tokens,
    revoke_token,
)

__all__ = [
    "PUBLIC",
    "ROLES",
    "ROUTES",
    "AddOperator",
    "CreateToken",
    "DisableOperator",
    "IssuedToken",
    "OperatorRead",
    "Principal",
    "RevokeToken",
    "TokenResolver",
    "add_operator",
    "allows",
    "create_token",
    "disable_operator",
    "list_operators",
    "list_tokens",
    "revoke_token",
]
