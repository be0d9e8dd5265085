"""Monitoring tests' kit: daily metric series in the monitoring column shape (binomial noise,
a step where a test wants one), a series source that reads a fixed frame, and a local HTTP
receiver for incident alerts that checks each request's signature."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import orjson
import polars as pl
from sqlalchemy.orm import Session

from repayguard import notices

ALERT_SECRET = "alert-secret-0123456789"


def rate_series(
    metric: str,
    *,
    end: date,
    days: int = 120,
    p: float = 0.05,
    n: int = 5_000,
    step_at: int | None = None,
    step_sigma: float = 0.0,
    segment: str = "all",
    seed: int = 1,
) -> pl.DataFrame:
    """A daily rate with binomial noise (``n`` borrowers, probability ``p``); from day index
    ``step_at`` the probability moves by ``step_sigma`` binomial standard deviations."""
    rng = np.random.default_rng(seed)
    sigma = (p * (1 - p) / n) ** 0.5
    probability = np.full(days, p)
    if step_at is not None:
        probability[step_at:] += step_sigma * sigma
    numerator = rng.binomial(n, probability)
    first = end - timedelta(days=days - 1)
    return pl.DataFrame(
        {
            "metric": [metric] * days,
            "segment": [segment] * days,
            "day": [first + timedelta(days=i) for i in range(days)],
            "value": numerator / n,
            "numerator": numerator.astype(float),
            "denominator": [float(n)] * days,
        }
    )


@dataclass
class FixedSeries:
    """A series source over one frame: returns its rows within the asked window and
    metrics, and remembers each call."""

    frame: pl.DataFrame
    calls: list[tuple[date, date, tuple[str, ...] | None]] = field(default_factory=list)

    def __call__(
        self, session: Session, *, start: date, end: date, metrics: Sequence[str] | None
    ) -> pl.DataFrame:
        self.calls.append((start, end, tuple(metrics) if metrics is not None else None))
        rows = self.frame.filter(pl.col("day").is_between(start, end))
        return rows if metrics is None else rows.filter(pl.col("metric").is_in(list(metrics)))


@dataclass
class Receiver:
    """An alert webhook: records each request (with whether its signature verified) and
    answers the next scripted status (then 200)."""

    now: datetime
    replies: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, headers: dict[str, str], raw: bytes) -> int:
        verified = notices.verify_signature(
            ALERT_SECRET.encode(),
            timestamp=headers.get(notices.TIMESTAMP_HEADER.lower(), ""),
            body=raw,
            signature_header=headers.get(notices.SIGNATURE_HEADER.lower(), ""),
            now=self.now,
        )
        self.received.append(
            {
                "verified": verified,
                "delivery": headers.get(notices.DELIVERY_HEADER.lower()),
                "body": orjson.loads(raw),
            }
        )
        return self.replies.pop(0) if self.replies else 200


@contextmanager
def running_receiver(now: datetime) -> Iterator[Receiver]:
    receiver = Receiver(now)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            status = receiver.answer({k.lower(): v for k, v in self.headers.items()}, raw)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def open_stepped_incident(
    uow: Any, *, last_day: date, metric: str = "overdue_rate_1p", segment: str = "T3"
) -> Any:
    """An incident as the detection job opens it: ``metric`` stepped up 6σ ten days before
    ``last_day``, charted under the shipped thresholds. ``uow``: a fresh unit of work."""
    from repayguard import monitoring

    thresholds = monitoring.load_thresholds()
    frame = rate_series(metric, end=last_day, days=150, p=0.08, n=20_000, step_at=140,
                        step_sigma=6.0, segment=segment, seed=5)  # fmt: skip
    [alarm] = monitoring.scan(frame, thresholds, end=last_day)
    return monitoring.open_incident(
        monitoring.OpenIncident(alarm, thresholds.version, thresholds.sha256), uow=uow
    )
