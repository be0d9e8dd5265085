"""The refusals of hardship cases: each a ``repayguard.errors.RepayguardError``, the one base."""

from __future__ import annotations

from repayguard.errors import InvalidInput, NotFound, RepayguardError


class HardshipCaseNotFound(NotFound):
    code = "hardship_case_not_found"


class HardshipCaseInvalid(InvalidInput):
    """A hardship case or its closing that cannot be accepted as given (an unknown reason, an
    empty evidence note, a close without a note)."""

    code = "hardship_case_invalid"


class HardshipCaseAlreadyOpen(RepayguardError):
    """The borrower already has an open hardship case."""

    code = "hardship_case_already_open"
    http_status = 409


class HardshipCaseNotOpen(RepayguardError):
    """The hardship case is closed already."""

    code = "hardship_case_not_open"
    http_status = 409


class HardshipReviewerNotAllowed(RepayguardError):
    """The operator may not close this hardship case: their role does not review hardship, or
    they opened it themselves (the opener never decides their own case)."""

    code = "hardship_reviewer_not_allowed"
    http_status = 403
