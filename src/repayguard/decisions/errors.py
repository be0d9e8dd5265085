"""The refusals of the decision log and the batch drivers.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import NotFound, RepayguardError


class DecisionNotFound(NotFound):
    """The borrower has no such decision (none yet, or the id names another's)."""

    code = "decision_not_found"


class SparkUnavailable(RepayguardError):
    """The Spark batch driver cannot start here: the ``spark`` extra (pyspark) or Java is
    missing, or the Spark master did not answer."""

    code = "spark_unavailable"
    http_status = 503
