"""One error tree: every expected refusal has a stable code, a message and an HTTP status.

Business code raises these; the API maps them to ``application/problem+json`` in one place
and the CLI prints the message and the hint. Anything else reaching a user is a bug.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RepayguardError(Exception):
    """Base of every expected refusal."""

    code: ClassVar[str] = "repayguard_error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, hint: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail


class NotFound(RepayguardError):
    code = "not_found"
    http_status = 404


class BorrowerNotFound(NotFound):
    code = "borrower_not_found"


class InvalidInput(RepayguardError):
    code = "invalid_input"
    http_status = 422


class BatchTooLarge(InvalidInput):
    code = "batch_too_large"
    http_status = 413


class UnreadableFile(InvalidInput):
    code = "unreadable_file"


class ConfigurationInvalid(RepayguardError):
    code = "configuration_invalid"
    http_status = 500


class PolicyNotLoadable(ConfigurationInvalid):
    code = "policy_not_loadable"


class DatabaseNotReady(RepayguardError):
    code = "database_not_ready"
    http_status = 503
