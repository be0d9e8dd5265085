"""The gauges Prometheus reads at scrape time: what bootstrap plugs in (:class:`Probes`) and
the collector that reads them, each probe guarded so one failing leaves the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

import structlog
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from repayguard.platform.clock import Clock

log = structlog.get_logger(__name__)


class PortfolioGauges(Protocol):
    """A source of portfolio metrics (overdue rate by tier, failed-debit rate, …) read at
    scrape time: each item is (metric name, segment, value). It should answer from memory;
    the scrape waits for it."""

    def snapshot(self) -> Iterable[tuple[str, str, float]]: ...


@dataclass(frozen=True, slots=True)
class LeaseReading:
    """One scheduler job's lease now: ``held`` (a worker runs it), ``due`` (free, its next
    run time passed — waiting for a worker) or ``waiting`` (free, not due yet); and how many
    seconds past due a free job is (0 unless ``due``)."""

    job: str
    state: str
    overdue_seconds: float


@dataclass(frozen=True, slots=True)
class PolicyReading:
    """The policy version this process decides with."""

    name: str
    version: str
    sha256: str


@dataclass(frozen=True, slots=True)
class BusReading:
    """This process's link to the bus: connected, and how old its followed state may be."""

    connected: bool
    staleness_seconds: float


@dataclass(slots=True)
class Probes:
    """What the scrape-time gauges read; each None until bootstrap plugs it in."""

    outbox: Callable[[], tuple[int, datetime | None]] | None = None
    """Unpublished outbox rows: (count, creation time of the oldest)."""
    leases: Callable[[], Iterable[LeaseReading]] | None = None
    policy: Callable[[], PolicyReading | None] | None = None
    bus: Callable[[], BusReading] | None = None
    view_size: Callable[[], int] | None = None
    portfolio: PortfolioGauges | None = None


LEASE_STATES: Final = ("held", "due", "waiting")


class ScrapeTimeGauges(Collector):
    """Gauges read when Prometheus scrapes, from the plugged probes."""

    def __init__(self, probes: Probes, *, clock: Clock) -> None:
        self.probes = probes
        self.clock = clock

    def collect(self) -> Iterable[Metric]:
        up: dict[str, bool] = {}
        yield from _guarded("outbox", self._outbox, up)
        yield from _guarded("leases", self._leases, up)
        yield from _guarded("policy", self._policy, up)
        yield from _guarded("bus", self._bus, up)
        yield from _guarded("view", self._view, up)
        yield from _guarded("portfolio", self._portfolio, up)
        family = GaugeMetricFamily(
            "repayguard_telemetry_probe_up",
            "1 when a scrape-time probe answered, 0 when it failed (see the log).",
            labels=("probe",),
        )
        for probe, ok in sorted(up.items()):
            family.add_metric((probe,), 1.0 if ok else 0.0)
        yield family

    def _outbox(self) -> list[Metric] | None:
        if self.probes.outbox is None:
            return None
        pending, oldest = self.probes.outbox()
        lag = 0.0 if oldest is None else max(0.0, (self.clock.now() - oldest).total_seconds())
        return [
            GaugeMetricFamily(
                "repayguard_outbox_pending", "Committed messages not yet published.", value=pending
            ),
            GaugeMetricFamily(
                "repayguard_outbox_lag_seconds",
                "Age of the oldest unpublished outbox message (0 when none is pending).",
                value=lag,
            ),
        ]

    def _leases(self) -> list[Metric] | None:
        if self.probes.leases is None:
            return None
        states = GaugeMetricFamily(
            "repayguard_job_leases",
            "1 for the state each scheduler job's lease is in (held, due, waiting).",
            labels=("job", "state"),
        )
        overdue = GaugeMetricFamily(
            "repayguard_job_overdue_seconds",
            "How long a free job has been past due with no worker taking it.",
            labels=("job",),
        )
        for reading in self.probes.leases():
            for state in LEASE_STATES:
                states.add_metric((reading.job, state), 1.0 if state == reading.state else 0.0)
            overdue.add_metric((reading.job,), reading.overdue_seconds)
        return [states, overdue]

    def _policy(self) -> list[Metric] | None:
        if self.probes.policy is None:
            return None
        reading = self.probes.policy()
        info = InfoMetricFamily(
            "repayguard_policy_in_force", "The policy version this process decides with."
        )
        if reading is not None:
            info.add_metric(
                (), {"name": reading.name, "version": reading.version, "hash": reading.sha256}
            )
        return [info]

    def _bus(self) -> list[Metric] | None:
        if self.probes.bus is None:
            return None
        reading = self.probes.bus()
        return [
            GaugeMetricFamily(
                "repayguard_bus_connected",
                "1 while this process is connected to the bus.",
                value=1.0 if reading.connected else 0.0,
            ),
            GaugeMetricFamily(
                "repayguard_bus_staleness_seconds",
                "How old the state this process follows from the bus may be (consumer lag).",
                value=reading.staleness_seconds,
            ),
        ]

    def _view(self) -> list[Metric] | None:
        if self.probes.view_size is None:
            return None
        return [
            GaugeMetricFamily(
                "repayguard_view_entitlements",
                "Entitlements held in memory for authorize.",
                value=self.probes.view_size(),
            )
        ]

    def _portfolio(self) -> list[Metric] | None:
        if self.probes.portfolio is None:
            return None  # no source plugged in: nothing exported
        family = GaugeMetricFamily(
            "repayguard_portfolio",
            "Portfolio metrics by segment (from the portfolio monitoring source).",
            labels=("metric", "segment"),
        )
        for metric, segment, value in self.probes.portfolio.snapshot():
            family.add_metric((metric, segment), float(value))
        return [family]


def _guarded(
    name: str, read: Callable[[], list[Metric] | None], up: dict[str, bool]
) -> Iterator[Metric]:
    """The metrics of one probe, or none (and ``up[name]`` False) when it fails."""
    try:
        metrics = read()
    except Exception:
        # A scrape must still answer when the database does not: the counters matter most
        # exactly then.
        log.exception("telemetry.probe_failed", probe=name)
        up[name] = False
        return
    if metrics is not None:
        up[name] = True
        yield from metrics
