"""The expert points model: a transparent, hand-set points table turned into a PD.

Each feature's value falls into exactly one bin (or the feature's *missing* bin when null) and
earns that bin's points; more points mean more risk. The probability of default is
``logistic(intercept + total_points / scale)``, so ``scale`` is the number of points per unit of
log-odds (``scale = 20 / ln 2`` means every 20 points double the odds). A borrower's reasons are
the features whose points exceed that feature's best (lowest-points) bin, largest excess first,
given only when the value lies on the side the reason states (below the best bin for a "low"
reason, at or above it for a "high" one); a missing value gives the feature's missing code
(``NO_REPAYMENT_HISTORY``...) when that scores above the best bin, or nothing.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Annotated, Any, Final

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from repayguard.core.features import FEATURE_BY_NAME, FEATURE_NAMES
from repayguard.core.reasons import Reference, stated_side
from repayguard.core.scoring.points import ReasonColumn, checked_reasons

KIND: Final = "expert-points"
FORMAT: Final = "repayguard.expert-points/1"


class ExpertModelInvalid(ValueError):
    """A points document that cannot be used: malformed, or bins that do not cover all values."""


@dataclass(frozen=True, slots=True)
class PointsBin:
    """Values below ``upper`` (exclusive) not taken by an earlier bin; None = no upper bound."""

    upper: float | None
    points: float
    description: str


@dataclass(frozen=True, slots=True)
class FeaturePoints:
    """The bins of one feature, ascending, plus the points given when the value is unknown."""

    name: str
    reason_code: str
    bins: tuple[PointsBin, ...]
    missing_points: float
    missing_description: str

    @property
    def best_points(self) -> float:
        """Points of the least risky outcome; a reason is only given for points above it."""
        return min([self.missing_points, *(b.points for b in self.bins)])

    @property
    def reference(self) -> Reference:
        """The span of the best present bin(s), where "low" and "high" reasons begin."""
        low = min(b.points for b in self.bins)
        best = [n for n, b in enumerate(self.bins) if b.points == low]
        lower = self.bins[best[0] - 1].upper if best[0] > 0 else None
        upper = self.bins[best[-1]].upper
        return Reference(
            -math.inf if lower is None else lower, math.inf if upper is None else upper
        )

    @property
    def column(self) -> ReasonColumn:
        """This feature as reasons see it: code, stated side, missing code, reference."""
        spec = FEATURE_BY_NAME[self.name]
        side = stated_side(self.reason_code, self.name)
        missing = spec.missing_code if spec.reason_code == self.reason_code else ""
        return ReasonColumn(self.reason_code, side, missing, self.reference)

    def points_of(self, value: float | None) -> float:
        """Points for one value, the row-wise twin of :meth:`points_expr`."""
        if value is None or math.isnan(value):
            return self.missing_points
        for b in self.bins:
            if b.upper is None or value < b.upper:
                return b.points
        raise AssertionError("the last bin has no upper bound")  # guaranteed by the loader

    def points_expr(self) -> pl.Expr:
        """Points per row of the feature column, as one vectorized when/then chain."""
        return _points_expr(self)

    def points_array(self, values: np.ndarray) -> np.ndarray:
        """Points per value of a Float64 array (NaN = missing): :meth:`points_expr` in NumPy,
        for the few rows a run explains, where a Polars call costs more than the rows."""
        uppers = np.asarray([b.upper for b in self.bins[:-1]], dtype=np.float64)
        earned = np.asarray([b.points for b in self.bins], dtype=np.float64)
        # The first bin whose upper bound exceeds the value: as many bins as bounds <= value.
        at = np.searchsorted(uppers, np.nan_to_num(values, nan=0.0), side="right")
        return np.where(np.isnan(values), self.missing_points, earned[at])

    def build_points_expr(self) -> pl.Expr:
        """The chain of :meth:`points_expr`, built afresh."""
        value = pl.col(self.name).cast(pl.Float64).fill_nan(None)
        chain: Any = pl.when(value.is_null()).then(pl.lit(self.missing_points))
        for b in self.bins[:-1]:
            chain = chain.when(value < b.upper).then(pl.lit(b.points))
        result: pl.Expr = chain.otherwise(pl.lit(self.bins[-1].points))
        return result.alias(self.name)


@functools.lru_cache(maxsize=512)
def _points_expr(feature: FeaturePoints) -> pl.Expr:
    # Keyed by the frozen bins themselves: an online run scores a handful of rows, and
    # rebuilding every feature's chain twice a run (PD, then reasons) cost more than scoring.
    return feature.build_points_expr()


@dataclass(frozen=True, slots=True)
class ExpertModel:
    """A frozen points table; satisfies :class:`~repayguard.core.scoring.RiskModel`."""

    version: str
    kind: str
    description: str
    intercept: float
    scale: float
    features: tuple[FeaturePoints, ...]

    def points(self, features: pl.DataFrame) -> pl.DataFrame:
        """Points earned per feature and row (one Float64 column per model feature)."""
        self._check_columns(features)
        return features.select(f.points_expr() for f in self.features)

    def _check_columns(self, features: pl.DataFrame) -> None:
        missing = [f.name for f in self.features if f.name not in features.columns]
        if missing:
            raise ValueError(f"the feature frame lacks {missing} needed by model {self.version}")

    def predict_pd(self, features: pl.DataFrame) -> pl.Series:
        """PD per row: ``logistic(intercept + total points / scale)``, same order as input."""
        total = self.points(features).select(pl.sum_horizontal(pl.all()).alias("t"))["t"]
        logit = self.intercept + total / self.scale
        return (1.0 / (1.0 + (-logit).exp())).cast(pl.Float64).alias("pd")

    def reasons(self, features: pl.DataFrame, top: int = 4) -> pl.Series:
        """Reason codes of the features scoring above their best bin, largest excess first,
        where the value lies on the side the reason states (see the module docstring).

        A present value is compared with the best present bin, a missing one with the best of
        all. Ties keep the order of the points table. Rows without any such factor get an
        empty list.
        """
        if top < 0:
            raise ValueError("top must be at least 0")
        self._check_columns(features)
        values = np.column_stack(
            [features.get_column(f.name).cast(pl.Float64).fill_null(math.nan).to_numpy()
             for f in self.features]
        )  # fmt: skip
        points = np.column_stack(
            [f.points_array(values[:, n]) for n, f in enumerate(self.features)]
        )
        best = np.asarray([f.best_points for f in self.features])
        best_present = np.asarray([min(b.points for b in f.bins) for f in self.features])
        excess = np.where(np.isnan(values), points - best, points - best_present)
        return checked_reasons(excess, values, [f.column for f in self.features], top)

    def reason_references(self) -> dict[str, Reference]:
        """Feature -> where its reasons' "low" and "high" begin (the best present bin)."""
        return {f.name: f.reference for f in self.features}


# -- the document ------------------------------------------------------------------------------


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _BinDoc(_Doc):
    upper: float | None = Field(description="exclusive upper bound; null on the last bin")
    points: float
    description: Annotated[str, Field(min_length=1)]


class _MissingDoc(_Doc):
    points: float
    description: Annotated[str, Field(min_length=1)]


class _FeatureDoc(_Doc):
    name: str
    reason_code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    description: str = ""
    missing: _MissingDoc
    bins: Annotated[list[_BinDoc], Field(min_length=1)]


class _ModelDoc(_Doc):
    format: str
    version: Annotated[str, Field(min_length=1)]
    kind: str = KIND
    description: str = ""
    target: str = ""
    intercept: float
    scale: Annotated[float, Field(gt=0)]
    features: Annotated[list[_FeatureDoc], Field(min_length=1)]


def load_expert_model(text: str) -> ExpertModel:
    """Parse and check a points document (JSON); raises ExpertModelInvalid naming the problem.

    Checks: known format and kind, features declared in the feature set and listed once, bin
    bounds strictly ascending with only the last bin unbounded, all numbers finite.
    """
    try:
        raw: Any = json.loads(text)
        doc = _ModelDoc.model_validate(raw)
    except (ValueError, ValidationError) as exc:
        raise ExpertModelInvalid(f"not a valid expert points document: {exc}") from exc
    if doc.format != FORMAT or doc.kind != KIND:
        raise ExpertModelInvalid(f"expected format {FORMAT!r} and kind {KIND!r}")
    if not all(math.isfinite(x) for x in (doc.intercept, doc.scale)):
        raise ExpertModelInvalid("intercept and scale must be finite numbers")
    names = [f.name for f in doc.features]
    if len(set(names)) != len(names):
        raise ExpertModelInvalid("a feature is listed more than once")
    return ExpertModel(
        version=doc.version,
        kind=doc.kind,
        description=doc.description,
        intercept=doc.intercept,
        scale=doc.scale,
        features=tuple(_feature(f) for f in doc.features),
    )


def dump_expert_model(model: ExpertModel) -> str:
    """The points document of ``model`` (JSON), read back by :func:`load_expert_model` into an
    equal model: how the model travels to processes that did not load it (Spark executors)."""
    doc = {
        "format": FORMAT,
        "version": model.version,
        "kind": model.kind,
        "description": model.description,
        "intercept": model.intercept,
        "scale": model.scale,
        "features": [
            {
                "name": f.name,
                "reason_code": f.reason_code,
                "missing": {"points": f.missing_points, "description": f.missing_description},
                "bins": [
                    {"upper": b.upper, "points": b.points, "description": b.description}
                    for b in f.bins
                ],
            }
            for f in model.features
        ],
    }
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, allow_nan=False)


def _feature(doc: _FeatureDoc) -> FeaturePoints:
    where = f"feature {doc.name!r}"
    if doc.name not in FEATURE_NAMES:
        raise ExpertModelInvalid(f"{where} is not in the declared feature set {FEATURE_NAMES}")
    uppers = [b.upper for b in doc.bins]
    if uppers[-1] is not None or any(u is None for u in uppers[:-1]):
        raise ExpertModelInvalid(f"{where}: only the last bin may (and must) have upper null")
    bounded = [u for u in uppers if u is not None]
    if any(not math.isfinite(u) for u in bounded) or bounded != sorted(set(bounded)):
        raise ExpertModelInvalid(f"{where}: bin upper bounds must be finite and strictly ascending")
    points = [doc.missing.points, *(b.points for b in doc.bins)]
    if not all(math.isfinite(p) for p in points):
        raise ExpertModelInvalid(f"{where}: points must be finite")
    return FeaturePoints(
        name=doc.name,
        reason_code=doc.reason_code,
        bins=tuple(PointsBin(b.upper, b.points, b.description) for b in doc.bins),
        missing_points=doc.missing.points,
        missing_description=doc.missing.description,
    )
