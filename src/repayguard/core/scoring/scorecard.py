"""The scorecard: a frozen points table (bins -> points) read by vectorized production scoring.

Each input's value falls into one bin (numeric bins are ``[lower, upper)``; categorical bins
are sets of categories; null, NaN and categories unseen in training fall into the *missing*
bin) and earns that bin's points; more points mean more risk. ``raw = intercept + total /
scale`` is the log-odds of the fitted logistic regression on weight-of-evidence, and the PD is
``calibration(raw)``. Reasons are the inputs whose points exceed that input's best bin (among
bins seen in training; a present value is compared with the best *present* bin), largest excess
first, and only when the value lies on the side its reason states: outside the best bin, below
it for a "low" reason, above it for a "high" one. A missing value gives its own code or none.
Fitting lives in ``scorecard_fit`` and is the only place that touches optbinning and
scikit-learn; scoring reads nothing but the table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Self

import numpy as np
import polars as pl

from repayguard.core.reasons import NO_REFERENCE, Reference
from repayguard.core.scoring.calibration import Calibration
from repayguard.core.scoring.inputs import InputColumn, check_columns, numeric_column
from repayguard.core.scoring.points import FloatArray, ReasonColumn, checked_reasons

KIND: Final = "scorecard"
FORMAT: Final = "repayguard.scorecard/1"
FILE: Final = "scorecard.json"
_LUT_SPAN: Final = 4096  # integer inputs whose bin edges span more are binned by search


class ScorecardInvalid(ValueError):
    """A points table that cannot be used; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ScorecardBin:
    """One bin: its bound or categories, its points, and what training saw in it."""

    points: float
    woe: float = 0.0
    count: int = 0
    event_rate: float = 0.0
    upper: float | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScorecardFeature:
    """The bins of one input (numeric: ascending by ``upper``, the last unbounded) plus its
    missing bin; ``iv`` is the input's information value in training."""

    input: InputColumn
    bins: tuple[ScorecardBin, ...]
    missing: ScorecardBin
    iv: float = 0.0
    _edges: FloatArray = field(init=False, repr=False, compare=False)
    _table: FloatArray = field(init=False, repr=False, compare=False)
    _lookup: dict[str, int] = field(init=False, repr=False, compare=False)
    _lut: tuple[int, int, FloatArray] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A trailing NaN edge makes searchsorted put NaN (and only NaN) in the missing bin.
        edges = [b.upper for b in self.bins[:-1]] + [math.nan]
        object.__setattr__(self, "_edges", np.asarray(edges, dtype=np.float64))
        table = [b.points for b in self.bins] + [self.missing.points]
        object.__setattr__(self, "_table", np.asarray(table, dtype=np.float64))
        lookup = {c: i for i, b in enumerate(self.bins) for c in b.categories}
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "_lut", None if self.input.categorical else self._integer_lut())

    def _integer_lut(self) -> tuple[int, int, FloatArray] | None:
        """For integer values: points of every integer from ``low`` to ``high`` (values beyond
        fall in the first or last bin), then the missing points; None when the span is wide."""
        bounded = [b.upper for b in self.bins[:-1] if b.upper is not None]
        low = math.floor(min(bounded)) - 1 if bounded else -1
        high = math.ceil(max(bounded)) if bounded else 0
        if high - low > _LUT_SPAN:
            return None
        grid = np.arange(low, high + 1, dtype=np.float64)
        points = self._table.take(np.searchsorted(self._edges, grid, side="right"))
        return low, high, np.append(points, self.missing.points)

    @property
    def name(self) -> str:
        return self.input.name

    @property
    def best_points(self) -> float:
        """Points of the least risky bin seen in training (all bins if none was counted)."""
        seen = [b.points for b in (*self.bins, self.missing) if b.count > 0]
        return min(seen or [b.points for b in (*self.bins, self.missing)])

    def _best_bins(self) -> list[int]:
        seen = [n for n, b in enumerate(self.bins) if b.count > 0] or list(range(len(self.bins)))
        low = min(self.bins[n].points for n in seen)
        return [n for n in seen if self.bins[n].points == low]

    @property
    def best_present_points(self) -> float:
        """Points of the least risky bin of present values seen in training."""
        return self.bins[self._best_bins()[0]].points

    @property
    def reference(self) -> Reference:
        """The best present bin's span (tied best bins: all of them), for reason directions."""
        if self.input.categorical:
            return NO_REFERENCE
        best = self._best_bins()
        lower = self.bins[best[0] - 1].upper if best[0] > 0 else None
        upper = self.bins[best[-1]].upper
        return Reference(
            -math.inf if lower is None else lower, math.inf if upper is None else upper
        )

    def values(self, frame: pl.DataFrame) -> FloatArray:
        """The input per row for direction checks: NaN where missing (categories: 0 else)."""
        if self.input.categorical:
            nulls = frame.get_column(self.name).is_null().to_numpy()
            return np.where(nulls, math.nan, 0.0)
        return numeric_column(frame, self.name)

    def points_expr(self, dtype: pl.DataType) -> pl.Expr:
        """Points per row of this input's column (of type ``dtype``), as one expression.

        Categories map straight to points; integers gather from a lookup table of points per
        integer; other numbers walk the bins with a when/then chain. Null, NaN and unseen
        categories score the missing points.
        """
        column = pl.col(self.name)
        if self.input.categorical:
            points = {c: self.bins[i].points for c, i in self._lookup.items()}
            return column.cast(pl.String).replace_strict(
                points, default=self.missing.points, return_dtype=pl.Float64
            )
        if dtype.is_integer() and self._lut is not None:
            low, high, table = self._lut
            offset = (column.clip(low, high) - low).fill_null(high - low + 1)
            return pl.lit(pl.Series(table, dtype=pl.Float64)).gather(offset)
        value = column.cast(pl.Float64)
        chain: Any = pl.when(value.is_null() | value.is_nan()).then(self.missing.points)
        for b in self.bins[:-1]:
            chain = chain.when(value < b.upper).then(b.points)
        result: pl.Expr = chain.otherwise(self.bins[-1].points)
        return result

    def bin_index(self, frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.intp]]:
        """Bin per row: 0..len(bins)-1, or len(bins) for the missing bin."""
        if self.input.categorical:
            codes = (
                frame.get_column(self.name)
                .cast(pl.String)
                .replace_strict(self._lookup, default=len(self.bins), return_dtype=pl.Int64)
            )
            return np.asarray(codes.to_numpy(), dtype=np.intp)
        return np.searchsorted(self._edges, numeric_column(frame, self.name), side="right")

    def points_of(self, frame: pl.DataFrame) -> FloatArray:
        """Points per row (the row-wise twin of :meth:`points_expr`, via the bin index)."""
        return self._table.take(self.bin_index(frame))


@dataclass(frozen=True, slots=True)
class ScorecardModel:
    """A frozen scorecard; satisfies :class:`~repayguard.core.scoring.RiskModel`."""

    version: str
    intercept: float
    scale: float
    features: tuple[ScorecardFeature, ...]
    calibration: Calibration = field(default_factory=Calibration)
    target: str = ""
    dropped: tuple[tuple[str, str], ...] = ()
    """Inputs offered to training but left out, with why."""
    kind: str = KIND

    @property
    def inputs(self) -> tuple[InputColumn, ...]:
        return tuple(f.input for f in self.features)

    def with_version(self, version: str) -> Self:
        return replace(self, version=version)

    def with_calibration(self, calibration: Calibration) -> Self:
        return replace(self, calibration=calibration)

    def _points_exprs(self, frame: pl.DataFrame) -> list[pl.Expr]:
        check_columns(frame, self.inputs, self.version)
        schema = frame.schema
        return [f.points_expr(schema[f.name]).alias(str(n)) for n, f in enumerate(self.features)]

    def points(self, frame: pl.DataFrame) -> FloatArray:
        """Points per row and input (rows x inputs, in the order of ``features``)."""
        exprs = self._points_exprs(frame)
        if not exprs:
            return np.zeros((frame.height, 0))
        return np.asarray(frame.select(exprs).to_numpy(), dtype=np.float64)

    def raw_score(self, frame: pl.DataFrame) -> FloatArray:
        """Uncalibrated log-odds per row: ``intercept + total points / scale``.

        One Polars pass: every input's points (on all cores), summed per row.
        """
        exprs = self._points_exprs(frame)
        if not exprs:
            return np.full(frame.height, self.intercept)
        total = frame.select(pl.sum_horizontal(exprs).alias("points")).get_column("points")
        return self.intercept + np.asarray(total.to_numpy(), dtype=np.float64) / self.scale

    def predict_pd(self, features: pl.DataFrame) -> pl.Series:
        """Calibrated PD per row, same order as the input."""
        return pl.Series("pd", self.calibration.apply(self.raw_score(features)), dtype=pl.Float64)

    def reasons(self, features: pl.DataFrame, top: int = 4) -> pl.Series:
        """Reason codes of the inputs scoring above their best bin, largest excess first,
        given only where the value lies on the side the reason states."""
        points = self.points(features)
        best = np.asarray([f.best_points for f in self.features], dtype=np.float64)
        best_present = np.asarray([f.best_present_points for f in self.features])
        values = (
            np.column_stack([f.values(features) for f in self.features])
            if self.features
            else np.zeros((features.height, 0))
        )
        excess = np.where(np.isnan(values), points - best, points - best_present)
        columns = [
            ReasonColumn(f.input.reason_code, f.input.side, f.input.missing_code, f.reference)
            for f in self.features
        ]
        return checked_reasons(excess, values, columns, top)

    def reason_references(self) -> dict[str, Reference]:
        """Input -> where its reasons' "low" and "high" begin (the best present bin)."""
        return {f.name: f.reference for f in self.features}

    def card(self) -> dict[str, Any]:
        """What a reviewer reads about the model itself (the registry adds data and metrics)."""
        return {
            "kind": self.kind,
            "version": self.version,
            "inputs": [f.name for f in self.features],
            "information_value": {f.name: round(f.iv, 4) for f in self.features},
            "points_to_double_odds": round(self.scale * math.log(2), 4),
            "calibration": self.calibration.method,
            "dropped": [{"name": n, "why": why} for n, why in self.dropped],
        }

    def files(self) -> dict[str, str]:
        """The artefact: one JSON points table."""
        return {FILE: dump_scorecard(self)}


def _bin_doc(b: ScorecardBin, categorical: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"categories": list(b.categories)} if categorical else {"upper": b.upper}
    doc.update(points=b.points, woe=b.woe, count=b.count, event_rate=b.event_rate)
    return doc


def dump_scorecard(model: ScorecardModel) -> str:
    """The points table as canonical JSON (sorted keys), the stored artefact."""
    doc = {
        "format": FORMAT,
        "kind": KIND,
        "version": model.version,
        "target": model.target,
        "intercept": model.intercept,
        "scale": model.scale,
        "calibration": model.calibration.as_dict(),
        "features": [
            {
                **f.input.as_dict(),
                "iv": f.iv,
                "bins": [_bin_doc(b, f.input.categorical) for b in f.bins],
                "missing": _bin_doc(f.missing, False) | {"upper": None},
            }
            for f in model.features
        ],
        "dropped": [{"name": n, "why": why} for n, why in model.dropped],
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def load_scorecard(text: str) -> ScorecardModel:
    """Parse and check a points table; raises ScorecardInvalid naming the problem."""
    try:
        doc = json.loads(text)
        if doc.get("format") != FORMAT or doc.get("kind") != KIND:
            raise ScorecardInvalid(f"expected format {FORMAT!r} and kind {KIND!r}")
        features = tuple(_feature(f) for f in doc["features"])
        model = ScorecardModel(
            version=str(doc["version"]),
            intercept=_finite(doc["intercept"], "intercept"),
            scale=_finite(doc["scale"], "scale"),
            features=features,
            calibration=Calibration.from_dict(doc["calibration"]),
            target=str(doc.get("target", "")),
            dropped=tuple((str(d["name"]), str(d["why"])) for d in doc.get("dropped", [])),
        )
    except ScorecardInvalid:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ScorecardInvalid(f"not a valid scorecard document: {exc!r}") from exc
    if model.scale <= 0:
        raise ScorecardInvalid("scale must be positive")
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        raise ScorecardInvalid("an input is listed more than once")
    return model


def _finite(value: Any, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ScorecardInvalid(f"{what} must be a finite number")
    return number


def _bin(doc: Mapping[str, Any], where: str) -> ScorecardBin:
    upper = doc.get("upper")
    return ScorecardBin(
        points=_finite(doc["points"], f"{where} points"),
        woe=_finite(doc.get("woe", 0.0), f"{where} woe"),
        count=int(doc.get("count", 0)),
        event_rate=_finite(doc.get("event_rate", 0.0), f"{where} event_rate"),
        upper=None if upper is None else _finite(upper, f"{where} upper"),
        categories=tuple(str(c) for c in doc.get("categories", ())),
    )


def _feature(doc: Mapping[str, Any]) -> ScorecardFeature:
    column = InputColumn.from_dict(doc)
    where = f"input {column.name!r}"
    bins = tuple(_bin(b, where) for b in doc["bins"])
    if not bins:
        raise ScorecardInvalid(f"{where} has no bins")
    if column.categorical:
        cats = [c for b in bins for c in b.categories]
        if len(set(cats)) != len(cats) or any(not b.categories for b in bins):
            raise ScorecardInvalid(f"{where}: every bin needs categories, each category once")
    else:
        uppers = [b.upper for b in bins]
        if uppers[-1] is not None or any(u is None for u in uppers[:-1]):
            raise ScorecardInvalid(f"{where}: only the last bin may (and must) have upper null")
        bounded = [u for u in uppers if u is not None]
        if bounded != sorted(set(bounded)):
            raise ScorecardInvalid(f"{where}: bin upper bounds must strictly ascend")
    return ScorecardFeature(
        input=column,
        bins=bins,
        missing=_bin(doc["missing"], where),
        iv=_finite(doc.get("iv", 0.0), f"{where} iv"),
    )
