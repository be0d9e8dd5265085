"""Fitting a scorecard: optimal WoE binning (optbinning), then a logistic regression on WoE.

Steps, each recorded in the points table: bin every input with monotone event rates (in the
declared direction of risk where one is declared); drop inputs whose information value is
below ``min_iv``; fit an L2 logistic regression on the WoE values; drop, one at a time, inputs
whose coefficient takes the wrong sign (more evidence of "good" meaning more risk, a sign of
collinearity) and refit. Points are ``coefficient * WoE * scale``, so the table reproduces the
regression exactly. WoE is ``ln(share of non-events / share of events)`` per bin (0.5 added to
an empty count), positive for bins safer than average; a missing bin smaller than the minimum
bin size gets WoE 0 (no evidence either way).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

import numpy as np
import polars as pl

from repayguard.core.scoring.inputs import InputColumn, check_columns
from repayguard.core.scoring.models import TRAIN_EXTRA_HINT
from repayguard.core.scoring.points import FloatArray
from repayguard.core.scoring.scorecard import (
    ScorecardBin,
    ScorecardFeature,
    ScorecardInvalid,
    ScorecardModel,
)

DEFAULT_SCALE: Final = 20.0 / math.log(2.0)  # 20 points double the odds
_TRENDS: Final = {1: "ascending", -1: "descending", 0: "auto_asc_desc"}


def auto_min_bin_size(rows: int) -> float:
    """At least 1 % of rows and about 50 rows per bin, but never more than 5 %."""
    return max(0.01, min(0.05, 50.0 / max(rows, 1)))


def fit_scorecard(
    frame: pl.DataFrame,
    target: Any,
    inputs: Sequence[InputColumn],
    *,
    version: str = "unversioned",
    target_name: str = "",
    min_bin_size: float | None = None,
    max_bins: int = 10,
    min_iv: float = 0.02,
    regularization: float = 1.0,
    scale: float = DEFAULT_SCALE,
) -> ScorecardModel:
    """Fit a scorecard on ``frame`` (inputs as columns) and 0/1 ``target``.

    ``regularization`` is the inverse L2 strength (scikit-learn's ``C``). Raises
    ScorecardInvalid when no input carries enough information.
    """
    check_columns(frame, inputs, version)
    y = np.asarray(target, dtype=np.int8)
    if y.shape != (frame.height,) or not set(np.unique(y).tolist()) <= {0, 1}:
        raise ScorecardInvalid("target must hold one 0/1 value per row")
    if y.min() == y.max():
        raise ScorecardInvalid("the target has a single class; a model needs both outcomes")
    size = min_bin_size if min_bin_size is not None else auto_min_bin_size(frame.height)
    binned = [_bin_input(frame, y, column, size, max_bins) for column in inputs]
    dropped = [
        (f.name, f"information value {f.iv:.3f} below {min_iv}") for f in binned if f.iv < min_iv
    ]
    kept = [f for f in binned if f.iv >= min_iv]
    coef: FloatArray = np.zeros(0)
    intercept = 0.0
    while kept:
        woe = np.column_stack([f.points_of(frame) for f in kept])  # WoE features score WoE
        coef, intercept = _logistic(woe, y, regularization)
        if coef.max() <= 0:
            break
        worst = int(np.argmax(coef))
        dropped.append((kept[worst].name, "coefficient of the wrong sign next to the others"))
        del kept[worst]
    if not kept:
        raise ScorecardInvalid(
            "no input carries enough information to fit a scorecard "
            f"(information value of every input below {min_iv}, or of the wrong sign)"
        )
    features = tuple(_with_points(f, float(c) * scale) for f, c in zip(kept, coef, strict=True))
    return ScorecardModel(
        version=version,
        intercept=intercept,
        scale=scale,
        features=features,
        target=target_name,
        dropped=tuple(dropped),
    )


def _logistic(woe: FloatArray, y: np.ndarray[Any, Any], c: float) -> tuple[FloatArray, float]:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    model = LogisticRegression(C=c, max_iter=2000, tol=1e-8)
    model.fit(woe, y)
    return np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0])


def _with_points(feature: ScorecardFeature, factor: float) -> ScorecardFeature:
    """The feature with points = factor * WoE on every bin (factor = coefficient * scale)."""
    return ScorecardFeature(
        input=feature.input,
        bins=tuple(replace(b, points=factor * b.woe) for b in feature.bins),
        missing=replace(feature.missing, points=factor * feature.missing.woe),
        iv=feature.iv,
    )


def _bin_input(
    frame: pl.DataFrame, y: np.ndarray[Any, Any], column: InputColumn, size: float, max_bins: int
) -> ScorecardFeature:
    """Optimal binning of one input; its bins score their WoE (points are set later)."""
    try:
        from optbinning import OptimalBinning  # type: ignore[import-untyped]
    except ImportError as exc:  # the train extra: serving and scoring never need it
        raise ModuleNotFoundError(
            f"fitting a scorecard needs optbinning, which is not installed: {TRAIN_EXTRA_HINT}",
            name="optbinning",
        ) from exc

    series = frame.get_column(column.name)
    if column.categorical:
        values: Any = np.asarray(series.cast(pl.String).to_list(), dtype=object)
        binning = OptimalBinning(
            name=column.name, dtype="categorical", solver="cp",
            min_bin_size=size, min_prebin_size=size, max_n_bins=max_bins,
        )  # fmt: skip
    else:
        values = series.cast(pl.Float64).to_numpy()
        binning = OptimalBinning(
            name=column.name, dtype="numerical", solver="cp",
            monotonic_trend=_TRENDS.get(column.direction, "auto_asc_desc"),
            min_bin_size=size, min_prebin_size=size, max_n_prebins=20, max_n_bins=max_bins,
        )  # fmt: skip
    binning.fit(values, y)
    events = np.asarray(binning._n_event, dtype=np.float64)  # bins..., special, missing
    nonevents = np.asarray(binning._n_nonevent, dtype=np.float64)
    total_e, total_n = float(y.sum()), float(y.size - y.sum())
    woe = np.log(
        (np.where(nonevents > 0, nonevents, 0.5) / total_n)
        / (np.where(events > 0, events, 0.5) / total_e)
    )
    counts = events + nonevents
    iv = float(np.sum((nonevents / total_n - events / total_e) * woe))
    rate = np.divide(events, counts, out=np.zeros_like(events), where=counts > 0)
    regular = len(counts) - 2
    if column.categorical:
        groups = [tuple(str(c) for c in split) for split in binning.splits]
        uppers: list[float | None] = [None] * regular
    else:
        groups = [()] * regular
        uppers = [*(float(s) for s in binning.splits), None]
    bins = tuple(
        ScorecardBin(
            points=float(woe[i]) if counts[i] > 0 else 0.0,
            woe=float(woe[i]) if counts[i] > 0 else 0.0,
            count=int(counts[i]),
            event_rate=float(rate[i]),
            upper=uppers[i],
            categories=groups[i],
        )
        for i in range(regular)
    )
    m = len(counts) - 1
    informative = counts[m] >= size * y.size
    missing_woe = float(woe[m]) if informative else 0.0
    missing = ScorecardBin(
        points=missing_woe, woe=missing_woe, count=int(counts[m]), event_rate=float(rate[m])
    )
    return ScorecardFeature(input=column, bins=bins, missing=missing, iv=iv)
