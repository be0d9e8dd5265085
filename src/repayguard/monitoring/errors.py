"""The refusals of portfolio monitoring and incidents.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import ConfigurationInvalid, InvalidInput, NotFound, RepayguardError


class ThresholdsInvalid(ConfigurationInvalid):
    """The monitoring thresholds file cannot be used as written (the message names the key)."""

    code = "thresholds_invalid"


class IncidentNotFound(NotFound):
    code = "incident_not_found"


class IncidentStateInvalid(RepayguardError):
    """The incident cannot take that step from where it is (acknowledging a resolved one,
    resolving one twice)."""

    code = "incident_state_invalid"
    http_status = 409


class IncidentAlreadyOpen(RepayguardError):
    """The metric and segment already have an open incident (one at a time)."""

    code = "incident_already_open"
    http_status = 409


class UnknownMetric(InvalidInput):
    """A metrics request named a metric the catalogue does not hold."""

    code = "unknown_metric"


class MetricRangeInvalid(InvalidInput):
    """A metrics request's date range is reversed or longer than one request may cover."""

    code = "metric_range_invalid"
