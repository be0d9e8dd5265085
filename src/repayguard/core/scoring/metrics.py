"""Model metrics in plain numpy: AUC, KS, Gini, Brier, log loss, calibration, ROC, PSI.

Conventions: ``target`` is 1 for the event (30+ days past due) and 0 otherwise; ``score`` is
higher for riskier rows (a PD or its log-odds). Ties in the score count half (AUC is the
Mann-Whitney statistic), so a constant score has AUC 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
_CLIP: Final = 1e-15


def _arrays(target: Any, score: Any) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(target, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError("target and score must be 1-d arrays of the same length")
    if np.isnan(s).any():
        raise ValueError("score has NaN values")
    return y, s


def auc(target: Any, score: Any) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    y, s = _arrays(target, score)
    pos = float(y.sum())
    neg = float(y.size - pos)
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    # average ranks of ties: first and last position of each run of equal scores
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def gini(target: Any, score: Any) -> float:
    """Accuracy ratio, 2 * AUC - 1."""
    return 2.0 * auc(target, score) - 1.0


@dataclass(frozen=True, slots=True)
class RocCurve:
    """Points of the ROC curve (one per distinct score, from the riskiest down)."""

    fpr: FloatArray
    tpr: FloatArray
    thresholds: FloatArray


def roc_curve(target: Any, score: Any) -> RocCurve:
    """False and true positive rates when everyone scoring at least a threshold is flagged."""
    y, s = _arrays(target, score)
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(ss)), ss.size - 1] if ss.size else np.array([], int)
    tps = np.cumsum(ys)[last]
    fps = (last + 1) - tps
    pos, neg = max(float(y.sum()), 1.0), max(float(y.size - y.sum()), 1.0)
    return RocCurve(
        fpr=np.r_[0.0, fps / neg],
        tpr=np.r_[0.0, tps / pos],
        thresholds=np.r_[np.inf, ss[last]],
    )


def ks(target: Any, score: Any) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the classes' score CDFs."""
    curve = roc_curve(target, score)
    return float(np.max(curve.tpr - curve.fpr)) if curve.tpr.size else float("nan")


def brier(target: Any, pd: Any) -> float:
    """Mean squared error of the PD against the 0/1 outcome."""
    y, p = _arrays(target, pd)
    return float(np.mean((p - y) ** 2))


def log_loss(target: Any, pd: Any) -> float:
    """Mean negative log-likelihood of the outcomes under the PD."""
    y, p = _arrays(target, pd)
    p = np.clip(p, _CLIP, 1.0 - _CLIP)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


@dataclass(frozen=True, slots=True)
class CalibrationRow:
    """One group of rows with similar PD: how many, the mean PD, the observed event rate."""

    lower_pd: float
    upper_pd: float
    rows: int
    events: int
    mean_pd: float
    observed_rate: float


def calibration_table(target: Any, pd: Any, groups: int = 10) -> list[CalibrationRow]:
    """Rows sorted by PD and cut into ``groups`` groups of (nearly) equal size."""
    y, p = _arrays(target, pd)
    order = np.argsort(p, kind="mergesort")
    out = []
    for part in np.array_split(order, min(groups, max(p.size, 1))):
        if part.size == 0:
            continue
        pp, yy = p[part], y[part]
        out.append(
            CalibrationRow(
                lower_pd=float(pp.min()),
                upper_pd=float(pp.max()),
                rows=int(part.size),
                events=int(yy.sum()),
                mean_pd=float(pp.mean()),
                observed_rate=float(yy.mean()),
            )
        )
    return out


def quantile_edges(values: Any, bins: int = 10) -> list[float]:
    """Distinct inner edges that cut the non-missing values into about ``bins`` equal groups."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return []
    inner = np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1], method="lower")
    return sorted({float(e) for e in inner if e > v.min()})


def bin_shares(values: Any, edges: Sequence[float]) -> tuple[list[float], float]:
    """Share of rows in each bin ``(-inf, e1), [e1, e2), ..., [ek, inf)`` and the missing share."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return [0.0] * (len(edges) + 1), 0.0
    missing = np.isnan(v)
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), v[~missing], side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return (counts / v.size).tolist(), float(missing.mean())


def psi(expected: Sequence[float], actual: Sequence[float], floor: float = 1e-4) -> float:
    """Population stability index between two sets of bin shares (same bins, same order).

    Empty bins are floored at ``floor`` so a bin that appears or vanishes counts, finitely.
    Rule of thumb: below 0.1 stable, 0.1-0.25 a shift worth a look, above 0.25 a real shift.
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    if e.shape != a.shape:
        raise ValueError("expected and actual shares must cover the same bins")
    return float(np.sum((a - e) * np.log(a / e)))
