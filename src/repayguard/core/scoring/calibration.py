"""PD calibration: map a model's raw log-odds to probabilities that match observed rates.

``platt`` fits ``PD = logistic(a + b * raw)``; ``isotonic`` fits a non-decreasing step function
of raw log-odds (pool adjacent violators), interpolated linearly between its knots and clipped
to ``[1e-6, 1 - 1e-6]``; ``none`` is the identity ``PD = logistic(raw)``. Both keep the order of
scores wherever they are strictly increasing, so ranking metrics (AUC, KS) do not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

METHODS: Final = ("platt", "isotonic", "none")
_FLOOR: Final = 1e-6

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def logistic(x: FloatArray) -> FloatArray:
    """1 / (1 + exp(-x)), without overflow warnings for large |x|."""
    out: FloatArray = np.exp(-np.logaddexp(0.0, -x))
    return out


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted calibration; ``knots`` and ``values`` are used by isotonic only."""

    method: str = "none"
    a: float = 0.0
    b: float = 1.0
    knots: tuple[float, ...] = ()
    values: tuple[float, ...] = ()

    def apply(self, raw: FloatArray) -> FloatArray:
        """Calibrated PD for raw log-odds."""
        if self.method == "isotonic":
            pd: FloatArray = np.interp(raw, np.asarray(self.knots), np.asarray(self.values))
            return np.clip(pd, _FLOOR, 1.0 - _FLOOR)
        return logistic(self.a + self.b * raw)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "a": self.a, "b": self.b}
        if self.method == "isotonic":
            out.update(knots=list(self.knots), values=list(self.values))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        method = str(data.get("method", "none"))
        if method not in METHODS:
            raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")
        knots = tuple(float(k) for k in data.get("knots", ()))
        values = tuple(float(v) for v in data.get("values", ()))
        if method == "isotonic" and (len(knots) != len(values) or len(knots) < 2):
            raise ValueError("isotonic calibration needs as many knots as values, at least two")
        ascending = list(knots) == sorted(knots) and list(values) == sorted(values)
        if method == "isotonic" and not ascending:
            raise ValueError("isotonic knots and values must ascend")
        return cls(method, float(data.get("a", 0.0)), float(data.get("b", 1.0)), knots, values)


def fit_calibration(raw: FloatArray, target: Any, method: str) -> Calibration:
    """Fit ``method`` on raw log-odds and 0/1 outcomes (ideally out-of-fold predictions)."""
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; expected one of {METHODS}")
    y = np.asarray(target, dtype=np.float64)
    if method == "none" or y.min() == y.max():
        return Calibration()
    if method == "platt":
        a, b = _platt(np.asarray(raw, dtype=np.float64), y)
        return Calibration("platt", a, b)
    knots, values = _isotonic(np.asarray(raw, dtype=np.float64), y)
    return Calibration("isotonic", knots=knots, values=values)


def _platt(x: FloatArray, y: FloatArray, iterations: int = 50) -> tuple[float, float]:
    """Newton-Raphson for a two-parameter logistic regression of y on x (tiny ridge)."""
    a, b = 0.0, 1.0
    design = np.column_stack([np.ones_like(x), x])
    for _ in range(iterations):
        p = logistic(a + b * x)
        w = p * (1.0 - p)
        grad = design.T @ (p - y) + 1e-6 * np.array([0.0, b - 1.0])
        hess = (design * w[:, None]).T @ design + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a - float(step[0]), b - float(step[1])
        if float(np.abs(step).max()) < 1e-10:
            break
    return a, b


def _isotonic(x: FloatArray, y: FloatArray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Pool adjacent violators over the distinct raw scores (ties pooled first, weighted by
    count); one knot per pooled block, at the block's weighted mean score."""
    distinct, inverse = np.unique(x, return_inverse=True)
    counts = np.bincount(inverse).astype(np.float64)
    sums = np.bincount(inverse, weights=y)
    means: list[float] = []
    weights: list[float] = []
    xsum: list[float] = []
    for xv, n, s in zip(distinct.tolist(), counts.tolist(), sums.tolist(), strict=True):
        means.append(s / n)
        weights.append(n)
        xsum.append(xv * n)
        while len(means) > 1 and means[-2] >= means[-1]:
            w = weights[-2] + weights[-1]
            means[-2] = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w
            xsum[-2] += xsum[-1]
            weights[-2] = w
            del means[-1], weights[-1], xsum[-1]
    knots = [s / w for s, w in zip(xsum, weights, strict=True)]
    values = [float(np.clip(m, _FLOOR, 1.0 - _FLOOR)) for m in means]
    if len(knots) == 1:
        knots, values = [knots[0] - 1.0, knots[0] + 1.0], [values[0], values[0]]
    return tuple(knots), tuple(values)
