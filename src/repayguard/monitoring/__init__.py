"""Portfolio monitoring: control charts (EWMA, CUSUM) over daily metric series, the versioned
thresholds they run on, incidents (open → acknowledged → resolved) with their evidence
chart, signed alert webhooks, and the worker's detection job (docs/incidents.md).

``repayguard.monitoring.incident_opened`` (:class:`IncidentOpened`) is the message other
capabilities arm on."""

from repayguard.monitoring.alerts import ALERT_TYPE, AlertOnIncident, AlertWebhooks, RetryAlerts
from repayguard.monitoring.detection_job import (
    JOB_NAME,
    SERIES_COLUMNS,
    DetectIncidents,
    SeriesSource,
    scan,
)
from repayguard.monitoring.detectors import (
    CUSUM,
    EWMA,
    Alarm,
    Chart,
    CusumParams,
    EwmaParams,
    chart,
    current_alarm,
)
from repayguard.monitoring.incident_models import STATES
from repayguard.monitoring.incidents import (
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_OPENED,
    INCIDENT_RESOLVED,
    AcknowledgeIncident,
    IncidentInfo,
    IncidentOpened,
    IncidentPage,
    IncidentStep,
    OpenIncident,
    ResolveIncident,
    acknowledge_incident,
    get_incident,
    list_incidents,
    open_incident,
    resolve_incident,
)
from repayguard.monitoring.thresholds import (
    METRIC_NAMES,
    MetricThresholds,
    Thresholds,
    load_thresholds,
    parse_thresholds,
)

__all__ = [
    "ALERT_TYPE",
    "CUSUM",
    "EWMA",
    "INCIDENT_ACKNOWLEDGED",
    "INCIDENT_OPENED",
    "INCIDENT_RESOLVED",
    "JOB_NAME",
    "METRIC_NAMES",
    "SERIES_COLUMNS",
    "STATES",
    "AcknowledgeIncident",
    "Alarm",
    "AlertOnIncident",
    "AlertWebhooks",
    "Chart",
    "CusumParams",
    "DetectIncidents",
    "EwmaParams",
    "IncidentInfo",
    "IncidentOpened",
    "IncidentPage",
    "IncidentStep",
    "MetricThresholds",
    "OpenIncident",
    "ResolveIncident",
    "RetryAlerts",
    "SeriesSource",
    "Thresholds",
    "acknowledge_incident",
    "chart",
    "current_alarm",
    "get_incident",
    "list_incidents",
    "load_thresholds",
    "open_incident",
    "parse_thresholds",
    "resolve_incident",
    "scan",
]
