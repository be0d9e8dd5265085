"""The refusals of complaints and appeals.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import InvalidInput, NotFound, RepayguardError


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


class ComplaintInvalid(InvalidInput):
    """A complaint or its resolution that cannot be accepted as given (an empty statement, an
    unknown method, a reversal without a way to reverse it)."""

    code = "complaint_invalid"


class ComplaintAlreadyOpen(RepayguardError):
    """The borrower already has an open case about this decision."""

    code = "complaint_already_open"
    http_status = 409


class ComplaintNotOpen(RepayguardError):
    """The case is resolved already, or a reversal of it waits for a second person."""

    code = "complaint_not_open"
    http_status = 409


class ComplaintResolverNotAllowed(RepayguardError):
    """The operator's role may not resolve complaints."""

    code = "complaint_resolver_not_allowed"
    http_status = 403
