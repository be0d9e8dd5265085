"""The refusals of borrowers and their profiles.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import NotFound


class BorrowerNotFound(NotFound):
    code = "borrower_not_found"


class BorrowerProfileNotFound(NotFound):
    code = "borrower_profile_not_found"
