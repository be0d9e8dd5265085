"""Identity and access: operators with roles and passwords, API tokens and sessions, and the
one permission map."""

from repayguard.identity.callers import acting_operator
from repayguard.identity.passwords import (
    LoggedIn,
    LogIn,
    SetPassword,
    log_in,
    set_password,
)
from repayguard.identity.permissions import (
    PUBLIC,
    ROLES,
    ROUTES,
    Principal,
    allows,
    permissions_of,
    role_allows,
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
    find_operator,
    list_operators,
    list_tokens,
    operator_named,
    permitted_operator,
    revoke_token,
)
from repayguard.identity.usage import TOKEN_REJECTED, TOKEN_USED, TokenUsage

__all__ = [
    "PUBLIC",
    "ROLES",
    "ROUTES",
    "TOKEN_REJECTED",
    "TOKEN_USED",
    "AddOperator",
    "CreateToken",
    "DisableOperator",
    "IssuedToken",
    "LogIn",
    "LoggedIn",
    "OperatorRead",
    "Principal",
    "RevokeToken",
    "SetPassword",
    "TokenResolver",
    "TokenUsage",
    "acting_operator",
    "add_operator",
    "allows",
    "create_token",
    "disable_operator",
    "find_operator",
    "list_operators",
    "list_tokens",
    "log_in",
    "operator_named",
    "permissions_of",
    "permitted_operator",
    "revoke_token",
    "role_allows",
    "set_password",
]
