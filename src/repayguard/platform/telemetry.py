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
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Final

import structlog
from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from repayguard.errors import ConfigurationInvalid
from repayguard.platform.clock import Clock
from repayguard.platform.telemetry_probes import (
    BusReading,
    LeaseReading,
    PolicyReading,
    PortfolioGauges,
    Probes,
    ScrapeTimeGauges,
)

__all__ = [
    "AUTHORIZE_BUCKETS",
    "AuthorizeMetrics",
    "BusReading",
    "LeaseReading",
    "PolicyReading",
    "PortfolioGauges",
    "Probes",
    "Telemetry",
]

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

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, labels, registry=r)

        self._ingested = counter(
            "repayguard_events_ingested", "Events stored, by source.", "source"
        )
        self._rejected = counter(
            "repayguard_events_rejected",
            "Event records refused by validation (quarantined), by source.",
            "source",
        )
        self._duplicates = counter(
            "repayguard_events_duplicate",
            "Event records whose event_id was already stored (no effect).",
        )
        self._runs = counter(
            "repayguard_decision_runs", "Decision runs committed, by trigger.", "trigger"
        )
        self._decisions = counter(
            "repayguard_decisions", "Borrower decisions made, by trigger.", "trigger"
        )
        self._held = counter(
            "repayguard_decisions_held", "Decisions held for a second person's approval."
        )
        self._changes = counter(
            "repayguard_entitlement_changes",
            "Entitlements whose methods changed (written and announced).",
        )
        self._deliveries = counter(
            "repayguard_notice_deliveries",
            "Notices delivered through an external channel, by channel.",
            "channel",
        )
        self._delivery_failures = counter(
            "repayguard_notice_delivery_failures",
            "Notice deliveries given up after their last attempt, by channel.",
            "channel",
        )
        self._job_runs = counter(
            "repayguard_job_runs",
            "Scheduler job runs in this process, by job and how they ended "
            "(ran, failed, lease_lost).",
            "job",
            "status",
        )
        self._job_failures = counter(
            "repayguard_job_failures", "Scheduler job runs that raised, by job.", "job"
        )
        self._rate_limited = counter(
            "repayguard_rate_limited",
            "API calls refused for going over their rate limit (429), by route class "
            "(authorize, api, login).",
            "route_class",
        )
        self._rate_limit_storage_errors = counter(
            "repayguard_rate_limit_storage_errors",
            "Rate-limit checks skipped because the storage (Redis) failed; those calls went "
            "unlimited.",
        )
        r.register(ScrapeTimeGauges(self.probes, clock=clock))

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

    def rate_limited(self, route_class: str) -> None:
        """A call refused with 429. Meets ``api.ratelimit.RateLimitMeter``."""
        self._rate_limited.labels(route_class=route_class).inc()

    def rate_limit_storage_failed(self) -> None:
        """A rate-limit check the storage could not answer (the call went unlimited)."""
        self._rate_limit_storage_errors.inc()

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
