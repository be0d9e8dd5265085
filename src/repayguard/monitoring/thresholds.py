"""The versioned thresholds file: which detectors watch which metric, in which direction and
segments, with what parameters (``resources/monitoring/thresholds.yaml``, docs/incidents.md).

The file states its ``version``; its sha256 is recorded on every incident it opened, so an
incident always names the exact thresholds that raised it. Every key is checked: an unknown
key, a metric outside the catalogue or a value out of range is refused with the key's path
(``metrics.overdue_rate_1p.detectors.ewma.lambda``), so a typo never silently keeps a default.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import yaml

from repayguard import resources
from repayguard.monitoring.catalogue import METRICS
from repayguard.monitoring.detectors import (
    CUSUM,
    DIRECTIONS,
    EWMA,
    CusumParams,
    Direction,
    EwmaParams,
    Params,
)
from repayguard.monitoring.errors import ThresholdsInvalid

THRESHOLDS_RESOURCE: Final = "monitoring/thresholds.yaml"
ALL_SEGMENTS: Final = "all"
MARKET_SIGNAL_PREFIX: Final = "market_signal:"
METRIC_NAMES: Final = tuple(name for name in METRICS if not name.startswith(MARKET_SIGNAL_PREFIX))
"""The portfolio metrics' names, taken from the monitoring catalogue (so a thresholds file
can only name a series ``daily_series`` computes), besides ``market_signal:<name>``."""

_METRIC_KEYS: Final = frozenset(
    {"direction", "segments", "min_denominator", "warmup_days", "min_sigma", "detectors"}
)
_TOP_KEYS: Final = frozenset({"version", "lookback_days", "defaults", "metrics"})
_DEFAULT_KEYS: Final = frozenset({"min_denominator", "warmup_days", "detectors"})
_PARAM_KEYS: Final = {EWMA: {"lambda": "lam", "width": "width"}, CUSUM: {"k": "k", "h": "h"}}


@dataclass(frozen=True, slots=True)
class MetricThresholds:
    """How one metric is watched. ``segments``: the series' segments charted (``("all",)``:
    every segment the series has); points whose denominator is below ``min_denominator`` are
    left out (too few borrowers to mean anything); ``warmup_days`` points set the baseline."""

    metric: str
    direction: Direction
    segments: tuple[str, ...]
    min_denominator: float
    warmup_days: int
    min_sigma: float
    detectors: tuple[Params, ...]

    def watches(self, segment: str) -> bool:
        return ALL_SEGMENTS in self.segments or segment in self.segments


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One version of the thresholds file. ``lookback_days``: the days each detection run
    charts (warm-up included)."""

    version: str
    sha256: str
    lookback_days: int
    metrics: tuple[MetricThresholds, ...]

    def get(self, metric: str) -> MetricThresholds | None:
        return next((m for m in self.metrics if m.metric == metric), None)


def is_metric_name(name: str) -> bool:
    """A catalogue metric, or ``market_signal:<name>``."""
    if name.startswith(MARKET_SIGNAL_PREFIX):
        return bool(name[len(MARKET_SIGNAL_PREFIX) :].strip())
    return name in METRIC_NAMES


def _fail(path: str, problem: str) -> ThresholdsInvalid:
    return ThresholdsInvalid(
        f"thresholds: {path}: {problem}",
        hint="fix the thresholds file (docs/incidents.md lists every key)",
    )


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, "must be a mapping")
    return cast(Mapping[str, Any], value)


def _known(found: Mapping[str, Any], allowed: frozenset[str] | set[str], path: str) -> None:
    for key in found:
        if key not in allowed:
            raise _fail(
                f"{path}.{key}" if path else str(key), f"unknown key; use {sorted(allowed)}"
            )


def _number(value: Any, path: str, *, low: float, high: float, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"must be a number, not {value!r}")
    number = float(value)
    if number < low or number > high or (open_low and number == low):
        bound = "(" if open_low else "["
        raise _fail(path, f"{number} is outside {bound}{low}, {high}]")
    return number


def _integer(value: Any, path: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise _fail(path, f"{value} is outside [{low}, {high}]")
    return value


def _detectors(value: Any, path: str) -> tuple[Params, ...]:
    found = _mapping(value, path)
    if not found:
        raise _fail(path, "name at least one detector (ewma, cusum)")
    _known(found, set(_PARAM_KEYS), path)
    made: list[Params] = []
    for name, raw in found.items():
        params = _mapping(raw if raw is not None else {}, f"{path}.{name}")
        _known(params, set(_PARAM_KEYS[name]), f"{path}.{name}")
        if name == EWMA:
            made.append(
                EwmaParams(
                    lam=_number(params.get("lambda", 0.2), f"{path}.ewma.lambda", low=0, high=1,
                                open_low=True),
                    width=_number(params.get("width", 3.0), f"{path}.ewma.width", low=0, high=10,
                                  open_low=True),
                )
            )  # fmt: skip
        else:
            made.append(
                CusumParams(
                    k=_number(params.get("k", 0.5), f"{path}.cusum.k", low=0, high=5),
                    h=_number(params.get("h", 5.0), f"{path}.cusum.h", low=0, high=50,
                              open_low=True),
                )
            )  # fmt: skip
    return tuple(made)


def _metric(name: str, raw: Any, defaults: Mapping[str, Any], lookback: int) -> MetricThresholds:
    path = f"metrics.{name}"
    if not is_metric_name(name):
        raise _fail(
            path,
            f"not a monitored metric; use one of {', '.join(METRIC_NAMES)} "
            f"or {MARKET_SIGNAL_PREFIX}<name>",
        )
    found = _mapping(raw, path)
    _known(found, _METRIC_KEYS, path)
    direction = found.get("direction", "both")
    if direction not in DIRECTIONS:
        raise _fail(f"{path}.direction", f"{direction!r} is not one of {', '.join(DIRECTIONS)}")
    segments = found.get("segments", [ALL_SEGMENTS])
    if (
        not isinstance(segments, list)
        or not segments
        or not all(isinstance(s, str) and s for s in segments)
    ):
        raise _fail(f"{path}.segments", "must be a non-empty list of segment names (or [all])")
    warmup = _integer(
        found.get("warmup_days", defaults.get("warmup_days", 56)),
        f"{path}.warmup_days",
        low=7,
        high=365,
    )
    if warmup >= lookback:
        raise _fail(f"{path}.warmup_days", f"{warmup} leaves no day to chart in {lookback}")
    return MetricThresholds(
        metric=name,
        direction=cast(Direction, direction),
        segments=tuple(segments),
        min_denominator=_number(
            found.get("min_denominator", defaults.get("min_denominator", 0)),
            f"{path}.min_denominator",
            low=0,
            high=1e12,
        ),
        warmup_days=warmup,
        min_sigma=_number(found.get("min_sigma", 0.0), f"{path}.min_sigma", low=0, high=1e12),
        detectors=_detectors(
            found.get("detectors", defaults.get("detectors")), f"{path}.detectors"
        ),
    )


def parse_thresholds(text: str) -> Thresholds:
    """The thresholds a YAML document states, validated (ThresholdsInvalid names the key)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail("(file)", f"not YAML: {exc}") from exc
    top = _mapping(raw, "(file)")
    _known(top, _TOP_KEYS, "")
    version = top.get("version")
    if not isinstance(version, str | int) or isinstance(version, bool) or not str(version):
        raise _fail("version", "state the file's version (a string such as '2026-12-07.1')")
    lookback = _integer(top.get("lookback_days", 120), "lookback_days", low=14, high=1_000)
    defaults = _mapping(top.get("defaults", {}), "defaults")
    _known(defaults, _DEFAULT_KEYS, "defaults")
    metrics = _mapping(top.get("metrics"), "metrics")
    if not metrics:
        raise _fail("metrics", "watch at least one metric")
    return Thresholds(
        version=str(version),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        lookback_days=lookback,
        metrics=tuple(_metric(str(n), m, defaults, lookback) for n, m in metrics.items()),
    )


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The thresholds at ``path`` (the ``monitoring.thresholds_path`` setting), else the
    shipped file."""
    if path is None:
        return parse_thresholds(resources.read_text(THRESHOLDS_RESOURCE))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThresholdsInvalid(
            f"cannot read the thresholds file {path}: {exc.strerror or exc}",
            hint="check REPAYGUARD_MONITORING__THRESHOLDS_PATH",
        ) from exc
    return parse_thresholds(text)
