"""The refusals of operators, logins and API tokens.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import InvalidInput, RepayguardError


class TokenInvalid(RepayguardError):
    """No usable API token was presented (missing, unknown, revoked or expired)."""

    code = "token_invalid"
    http_status = 401


class LoginFailed(RepayguardError):
    """The username or password is wrong, or the operator cannot log in (one answer for all,
    so a caller learns nothing about which usernames exist)."""

    code = "login_failed"
    http_status = 401


class LoginLocked(RepayguardError):
    """Too many failed logins in a row: the operator's password login is paused for a while."""

    code = "login_locked"
    http_status = 429


class PasswordRejected(InvalidInput):
    """A new password does not meet the rules (length, not the username)."""

    code = "password_rejected"


class OperatorExists(RepayguardError):
    """An operator with this username already exists."""

    code = "operator_exists"
    http_status = 409


class OperatorRequired(RepayguardError):
    """Maker-checker needs to know which operator acts (an operator token, or ``--as``)."""

    code = "operator_required"
    http_status = 401
