"""Portfolio monitoring: daily metric series over any date range, sliding-window snapshots
kept current from the bus, and their API, CLI and console page (docs/monitoring.md); control
charts (EWMA, CUSUM) over those series, the versioned thresholds they run on, incidents
(open → acknowledged → resolved) with their evidence chart, signed alert webhooks, and the
worker's detection job (docs/incidents.md).

``repayguard.monitoring.incident_opened`` (:class:`IncidentOpened`) is the message other
capabilities arm on."""

from repayguard.monitoring.alerts import ALERT_TYPE, AlertOnIncident, AlertWebhooks, RetryAlerts
from repayguard.monitoring.catalogue import MARKET_SIGNAL_PREFIX, METRICS, MetricSpec, spec_of
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
    AcknowledgeIncident,
    IncidentInfo,
    IncidentPage,
    OpenIncident,
    ResolveIncident,
    acknowledge_incident,
    get_incident,
    list_incidents,
    open_incident,
    resolve_incident,
)
from repayguard.monitoring.messages import (
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_OPENED,
    INCIDENT_RESOLVED,
    IncidentAcknowledged,
    IncidentOpened,
    IncidentResolved,
    IncidentStep,
)
from repayguard.monitoring.metrics import SERIES_SCHEMA, MetricInputs, compute_series
from repayguard.monitoring.psi import BASELINE_SOURCE, ScoreReference
from repayguard.monitoring.series import daily_series, production_reference
from repayguard.monitoring.snapshot import (
    FOLLOWED,
    WINDOWS,
    PortfolioGauges,
    PortfolioMonitor,
    PortfolioSnapshot,
    WindowValue,
    window_values,
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
    "BASELINE_SOURCE",
    "CUSUM",
    "EWMA",
    "FOLLOWED",
    "INCIDENT_ACKNOWLEDGED",
    "INCIDENT_OPENED",
    "INCIDENT_RESOLVED",
    "JOB_NAME",
    "MARKET_SIGNAL_PREFIX",
    "METRICS",
    "METRIC_NAMES",
    "SERIES_COLUMNS",
    "SERIES_SCHEMA",
    "STATES",
    "WINDOWS",
    "AcknowledgeIncident",
    "Alarm",
    "AlertOnIncident",
    "AlertWebhooks",
    "Chart",
    "CusumParams",
    "DetectIncidents",
    "EwmaParams",
    "IncidentAcknowledged",
    "IncidentInfo",
    "IncidentOpened",
    "IncidentPage",
    "IncidentResolved",
    "IncidentStep",
    "MetricInputs",
    "MetricSpec",
    "MetricThresholds",
    "OpenIncident",
    "PortfolioGauges",
    "PortfolioMonitor",
    "PortfolioSnapshot",
    "ResolveIncident",
    "RetryAlerts",
    "ScoreReference",
    "SeriesSource",
    "Thresholds",
    "WindowValue",
    "acknowledge_incident",
    "chart",
    "compute_series",
    "current_alarm",
    "daily_series",
    "get_incident",
    "list_incidents",
    "load_thresholds",
    "open_incident",
    "parse_thresholds",
    "production_reference",
    "resolve_incident",
    "scan",
    "spec_of",
    "window_values",
]
