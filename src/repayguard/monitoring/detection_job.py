"""The worker's ``monitoring.detect`` job: chart every watched metric and segment over the
lookback window and open an incident for each new alarm.

The series come from a :class:`SeriesSource` (bootstrap hands it the monitoring package's
``daily_series``): a frame with columns ``metric, segment, day, value, numerator,
denominator``, one row per metric, segment and day. :func:`scan` is the pure part — it drops
days whose denominator is below the metric's minimum, keeps the last ``lookback_days`` days,
runs the metric's detectors and returns the alarms still going on at the last day (one per
metric and segment: the earliest-starting). The job then opens an incident for each, unless
the metric and segment have an unresolved one, or an incident in the same direction already
covered a day of this run (a resolved incident is not reopened by the run it reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

import polars as pl
from sqlalchemy.orm import Session

from repayguard.monitoring import incident_repository as repository
from repayguard.monitoring.detectors import Alarm, chart, current_alarm
from repayguard.monitoring.errors import IncidentAlreadyOpen
from repayguard.monitoring.incidents import OpenIncident, open_incident
from repayguard.monitoring.thresholds import MetricThresholds, Thresholds
from repayguard.platform.jobs import JobContext, JobOutcome

JOB_NAME = "monitoring.detect"
SERIES_COLUMNS = ("metric", "segment", "day", "value", "numerator", "denominator")


class SeriesSource(Protocol):
    """Daily portfolio metric series between ``start`` and ``end`` (inclusive) for
    ``metrics`` (None: all), in the column shape of ``SERIES_COLUMNS``."""

    def __call__(
        self, session: Session, /, *, start: date, end: date, metrics: Sequence[str] | None
    ) -> pl.DataFrame: ...


def segment_alarm(
    days: pl.DataFrame, watch: MetricThresholds, metric: str, segment: str
) -> Alarm | None:
    """The alarm going on at the last of ``days`` (one segment's rows, in day order) under
    the metric's detectors: the earliest-starting when several are out of control."""
    if days.height <= watch.warmup_days:
        return None
    day_list = tuple(days["day"].to_list())
    values = days["value"].cast(pl.Float64).to_numpy()
    found = [
        current_alarm(
            chart(
                day_list,
                values,
                params=params,
                warmup=watch.warmup_days,
                direction=watch.direction,
                min_sigma=watch.min_sigma,
            ),
            metric=metric,
            segment=segment,
        )
        for params in watch.detectors
    ]
    alarms = [a for a in found if a is not None]
    return min(alarms, key=lambda a: a.since) if alarms else None


def scan(series: pl.DataFrame, thresholds: Thresholds, *, end: date) -> list[Alarm]:
    """The alarms going on at ``end`` in ``series`` under ``thresholds`` (pure)."""
    missing = [c for c in SERIES_COLUMNS if c not in series.columns]
    if missing:
        raise ValueError(f"the metric series lacks column(s) {', '.join(missing)}")
    start = end - timedelta(days=thresholds.lookback_days - 1)
    window = series.filter(
        pl.col("day").is_between(start, end) & pl.col("value").is_not_null()
    ).sort("metric", "segment", "day")
    alarms: list[Alarm] = []
    for (metric, segment), rows in window.group_by("metric", "segment", maintain_order=True):
        watch = thresholds.get(str(metric))
        if watch is None or not watch.watches(str(segment)):
            continue
        kept = rows.filter(
            pl.col("denominator").is_null() | (pl.col("denominator") >= watch.min_denominator)
        )
        alarm = segment_alarm(kept, watch, str(metric), str(segment))
        if alarm is not None:
            alarms.append(alarm)
    return alarms


@dataclass(frozen=True, slots=True)
class DetectIncidents:
    """Run the detectors over the series ``source`` gives and open incidents for new alarms
    (alerts to ``alert_webhooks``)."""

    source: SeriesSource
    thresholds: Thresholds
    every: timedelta
    alert_webhooks: tuple[str, ...] = ()
    name: str = JOB_NAME

    def run(self, context: JobContext) -> JobOutcome:
        end = context.clock.now().date() - timedelta(days=1)  # the last complete day
        start = end - timedelta(days=self.thresholds.lookback_days - 1)
        metrics = [m.metric for m in self.thresholds.metrics]
        with context.uow() as unit:
            series = self.source(unit.session, start=start, end=end, metrics=metrics)
        alarms = scan(series, self.thresholds, end=end)
        opened = known = 0
        for alarm in alarms:
            with context.uow() as probe:
                session = probe.session
                busy = repository.unresolved_for(session, alarm.metric, alarm.segment)
                covered = repository.reported_through(
                    session, alarm.metric, alarm.segment, alarm.direction
                )
            if busy is not None or (covered is not None and covered >= alarm.since):
                known += 1
                continue
            try:
                open_incident(
                    OpenIncident(alarm, self.thresholds.version, self.thresholds.sha256),
                    uow=context.uow(),
                    alert_webhooks=self.alert_webhooks,
                )
            except IncidentAlreadyOpen:
                known += 1  # another worker's run opened it meanwhile
                continue
            opened += 1
        counts = {"alarms": len(alarms), "opened": opened, "known": known}
        if not opened:
            return JobOutcome(
                f"no new alarm in {len(metrics)} metric(s) through {end.isoformat()}", counts
            )
        return JobOutcome(f"{opened} incident(s) opened through {end.isoformat()}", counts)
