"""The worker's ``monitoring.detect`` job on the portfolio's own series (``daily_series``, what
bootstrap hands it) with the shipped thresholds, on SQLite and PostgreSQL: every metric the
thresholds watch is one the series computes, so the job runs instead of failing each pass."""

from __future__ import annotations

from repayguard import monitoring
from repayguard.bootstrap import Container

from support.builders import healthy_history
from support.common import NOW
from support.notices import ingest, one_pass


def test_the_shipped_thresholds_watch_only_metrics_the_series_computes(
    container: Container,
) -> None:
    ingest(container, healthy_history("B1", NOW))
    report = one_pass(container)[monitoring.JOB_NAME]
    assert report.status == "ran", report.summary
    assert report.summary.startswith("no new alarm in 16 metric(s)")
