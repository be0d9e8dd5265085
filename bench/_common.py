"""Helpers shared by the benchmarks: a fresh embedded repayguard and a synthetic portfolio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from repayguard.bootstrap import Container, bootstrap
from repayguard.config import Settings
from repayguard.platform.clock import FixedClock
from repayguard.platform.logging import configure_logging
from repayguard.simulation import PortfolioSpec, generate_portfolio

# A benchmark's stdout is its one JSON object: log lines (an in-process server's access lines,
# warnings) go to stderr, as the CLI's do, instead of structlog's default of stdout.
configure_logging(json=False, level="WARNING")

START = datetime(2025, 1, 1, tzinfo=UTC)
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
T = TypeVar("T")


def portfolio(borrowers: int, out: Path, *, months: int = 12, seed: int = 11) -> int:
    """Write a synthetic portfolio into ``out``; returns the number of events."""
    spec = PortfolioSpec(borrowers=borrowers, months=months, seed=seed, start=START)
    return generate_portfolio(spec, out, workers=2).total_events


def embedded(data_dir: Path) -> Container:
    """repayguard on a fresh SQLite file, relay inline, no online deciding."""
    settings = Settings(data_dir=data_dir, bus={"relay": "inline"}, decisions={"online": False})
    return bootstrap(settings, clock=FixedClock(AS_OF), migrate=True)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    return float(statistics.median(values))
