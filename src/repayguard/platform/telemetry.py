"""Prometheus instruments of one repayguard process: counters fed where work is done, gauges
read at scrape time.

Each process builds one :class:`Telemetry` (bootstrap does), with a ``CollectorRegistry`` of
its own: nothing is registered in prometheus_client's global registry, so two containers in
one test never share a count. Counters are per process, as Prometheus expects: a deployment's
total is ``sum()`` over its instances, so a fact is counted only in the process that did the
work (the one committing it, the worker running a job), never in every process following it.

Gauges that describe the shared database (outbox backlog, job leases) or this process's state
(policy in force, bus staleness, the portfolio) are read at scrape time through probes
bootstrap plugs in (:class:`Probes`); a probe that fails is logged and shows as
``repayguard_telemetry_probe_up{probe} 0``, and the rest of the scrape still answers.
Capabilities never import this module: they take small protocols of their own
(``entitlements.AuthorizeMeter``, ``ingestion.IngestMeter``) that :class:`Telemetry` meets.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import Final, Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from repayguard.errors import ConfigurationInvalid
from repayguard.platform.clock import Clock

log = structlog.get_logger(__name__)

AUTHORIZE_BUCKETS: Final = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
)
"""Seconds: an answer from memory takes tens of microseconds; 5 ms is the p99 target (§7)."""
NO_REASON: Final = "none"
"""The ``reason`` label of an answer without a reason code (an allow)."""


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


class AuthorizeMetrics:
    """Counts and times the authorize answers of one path (``fast`` or ``framework``).

    Authorize is the hottest call, so this is not a prometheus_client ``Counter`` and
    ``Histogram`` (a label lookup, then one lock per counter and per bucket: ~3 µs a call on
    this machine). An answer costs one uncontended lock, one dict update, a bisect over ten
    bucket bounds and an addition; :class:`_AuthorizeCollector` turns the tallies into the
    counter and histogram families at scrape time.
    """

    __slots__ = ("_buckets", "_counts", "_lock", "_sum", "path")

    def __init__(self, *, path: str) -> None:
        self.path = path
        self._counts: dict[tuple[str, bool, str | None], int] = {}
        self._buckets = [0] * (len(AUTHORIZE_BUCKETS) + 1)  # the last one is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()  # the route answers on several threads

    def record(self, method: str, allowed: bool, reason: str | None, seconds: float) -> None:
        """One answer: its method, allow or deny, its first reason code, the time it took."""
        key = (method, allowed, reason)
        with self._lock:
            counts = self._counts
            counts[key] = counts.get(key, 0) + 1
            # bisect_left: the first bound >= seconds, i.e. the bucket whose ``le`` holds it.
            self._buckets[bisect_left(AUTHORIZE_BUCKETS, seconds)] += 1
            self._sum += seconds

    def tallies(self) -> tuple[dict[tuple[str, bool, str | None], int], list[int], float]:
        """A consistent copy: answers by (method, allowed, reason), per-bucket counts, sum."""
        with self._lock:
            return dict(self._counts), list(self._buckets), self._sum


class _AuthorizeCollector(Collector):
    """``repayguard_authorize_total`` and ``repayguard_authorize_seconds`` from the paths'
    tallies."""

    def __init__(self, paths: tuple[AuthorizeMetrics, ...]) -> None:
        self._paths = paths

    def collect(self) -> Iterable[Metric]:
        total = CounterMetricFamily(
            "repayguard_authorize",
            "Authorize answers by outcome, first reason code and repayment method.",
            labels=("outcome", "reason", "method"),
        )
        seconds = HistogramMetricFamily(
            "repayguard_authorize_seconds",
            "Time to answer authorize inside repayguard (fast: the ASGI fast path from the "
            "request to the response handed to the server; framework: the FastAPI route's "
            "own work).",
            labels=("path",),
        )
        answers: dict[tuple[str, str, str], int] = {}
        bounds = [
            *(repr(b) for b in AUTHORIZE_BUCKETS),
            "+Inf",
        ]  # as prometheus_client writes ``le``
        for meter in self._paths:
            counts, buckets, total_seconds = meter.tallies()
            for (method, allowed, reason), n in counts.items():
                labels = ("allow" if allowed else "deny", reason or NO_REASON, method)
                answers[labels] = answers.get(labels, 0) + n
            cumulative = list(accumulate(buckets))
            seconds.add_metric(
                (meter.path,),
                buckets=list(zip(bounds, cumulative, strict=True)),
                sum_value=total_seconds,
            )
        for labels, n in sorted(answers.items()):
            total.add_metric(labels, n)
        return [total, seconds]


class Telemetry:
    """The instruments of one process, on a registry of its own (``registry``)."""

    def __init__(self, *, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        self.probes = Probes()
        r = self.registry
        self.fast_authorize = AuthorizeMetrics(path="fast")
        self.route_authorize = AuthorizeMetrics(path="framework")
        r.register(_AuthorizeCollector((self.fast_authorize, self.route_authorize)))
        self._ingested = Counter(
            "repayguard_events_ingested",
            "Events stored, by source.",
            ("source",),
            registry=r,
        )
        self._rejected = Counter(
            "repayguard_events_rejected",
            "Event records refused by validation (quarantined), by source.",
            ("source",),
            registry=r,
        )
        self._duplicates = Counter(
            "repayguard_events_duplicate",
            "Event records whose event_id was already stored (no effect).",
            registry=r,
        )
        self._runs = Counter(
            "repayguard_decision_runs",
            "Decision runs committed, by trigger.",
            ("trigger",),
            registry=r,
        )
        self._decisions = Counter(
            "repayguard_decisions", "Borrower decisions made, by trigger.", ("trigger",), registry=r
        )
        self._held = Counter(
            "repayguard_decisions_held",
            "Decisions held for a second person's approval.",
            registry=r,
        )
        self._changes = Counter(
            "repayguard_entitlement_changes",
            "Entitlements whose methods changed (written and announced).",
            registry=r,
        )
        self._deliveries = Counter(
            "repayguard_notice_deliveries",
            "Notices delivered through an external channel, by channel.",
            ("channel",),
            registry=r,
        )
        self._delivery_failures = Counter(
            "repayguard_notice_delivery_failures",
            "Notice deliveries given up after their last attempt, by channel.",
            ("channel",),
            registry=r,
        )
        self._job_runs = Counter(
            "repayguard_job_runs",
            "Scheduler job runs in this worker, by job and how they ended "
            "(ran, failed, lease_lost).",
            ("job", "status"),
            registry=r,
        )
        self._job_failures = Counter(
            "repayguard_job_failures",
            "Scheduler job runs that raised, by job.",
            ("job",),
            registry=r,
        )
        r.register(_ScrapeTimeGauges(self.probes, clock=clock))

    # --- counters: called where the work is done -------------------------------------------

    def events_ingested(
        self, source: str, *, accepted: int, duplicates: int, rejected: int
    ) -> None:
        """An ingested batch from ``source`` (``api``, ``file:…``): what was stored, refused and
        already known. Meets ``ingestion.IngestMeter``."""
        self._ingested.labels(source=source).inc(accepted)
        self._rejected.labels(source=source).inc(rejected)
        self._duplicates.inc(duplicates)

    def decision_run(self, trigger: str, *, borrowers: int, held: int) -> None:
        """A committed decision run over ``borrowers`` borrowers, ``held`` of them held."""
        self._runs.labels(trigger=trigger).inc()
        self._decisions.labels(trigger=trigger).inc(borrowers)
        self._held.inc(held)

    def entitlements_changed(self, count: int) -> None:
        self._changes.inc(count)

    def notice_delivery(self, channel: str, *, delivered: bool) -> None:
        """A delivery that ended: delivered, or failed for good (retries are not counted)."""
        (self._deliveries if delivered else self._delivery_failures).labels(channel=channel).inc()

    def job_run(self, job: str, status: str) -> None:
        """A scheduler job run that ended ``status`` (``ran``, ``failed``, ``lease_lost``)."""
        self._job_runs.labels(job=job, status=status).inc()
        if status == "failed":
            self._job_failures.labels(job=job).inc()

    # --- serving ---------------------------------------------------------------------------

    def serve(self, port: int, *, host: str = "127.0.0.1") -> Callable[[], None]:
        """Serve ``/metrics`` over HTTP on ``host:port`` (processes without an API server:
        the worker); returns what stops it."""
        try:
            server, thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ConfigurationInvalid(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
                hint="choose a free port for REPAYGUARD_TELEMETRY__WORKER_PORT",
            ) from exc

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        return stop


class _ScrapeTimeGauges(Collector):
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
