"""Portfolio monitoring: daily metric series over any date range, sliding-window snapshots
kept current from the bus, and their API, CLI and console page (docs/monitoring.md)."""

from repayguard.monitoring.catalogue import MARKET_SIGNAL_PREFIX, METRICS, MetricSpec, spec_of
from repayguard.monitoring.metrics import SERIES_SCHEMA, MetricInputs, compute_series
from repayguard.monitoring.psi import BASELINE_SOURCE, ScoreReference
from repayguard.monitoring.series import daily_series, production_reference
from repayguard.monitoring.snapshot import (
    FOLLOWED,
    WINDOWS,
    PortfolioMonitor,
    PortfolioSnapshot,
    WindowValue,
    window_values,
)

__all__ = [
    "BASELINE_SOURCE",
    "FOLLOWED",
    "MARKET_SIGNAL_PREFIX",
    "METRICS",
    "SERIES_SCHEMA",
    "WINDOWS",
    "MetricInputs",
    "MetricSpec",
    "PortfolioMonitor",
    "PortfolioSnapshot",
    "ScoreReference",
    "WindowValue",
    "compute_series",
    "daily_series",
    "production_reference",
    "spec_of",
    "window_values",
]
