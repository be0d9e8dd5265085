"""How changing actionable inputs would move a borrower's risk tier, where that can be modelled.

The tier follows the PD through the tier bands. For a model whose points add up (the expert
points table; a scorecard calibrated by Platt scaling or not at all), changing one input
changes the log-odds by exactly that input's change of points (times the calibration's slope,
over the points scale), whatever the other inputs are — so the PD after the change follows from
the PD recorded with the decision. The tier after is the band rule's move *down*: the lowest
tier ``t`` below the current one with ``PD < upper_pd(t) * (1 - margin)`` (the minimum time in
a tier still applies: the move happens at an assessment after it). LightGBM and isotonic
calibration do not add up, so for them no tier move is modelled (None) and a tier-only
restriction is explained as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from repayguard.core.policy.counterfactual import RiskAfter
from repayguard.core.scoring import RiskModel
from repayguard.core.scoring.expert import ExpertModel
from repayguard.core.scoring.scorecard import ScorecardModel
from repayguard.core.tiers import TierBands

Points = Callable[[Any], float]


@dataclass(frozen=True, slots=True)
class PointsTierMove:
    """Tier moves for an additive points model (see the module docstring)."""

    points: Mapping[str, Points]
    """Feature -> points of a value."""
    edges: Mapping[str, tuple[float, ...]]
    """Feature -> its bins' upper bounds (bins are ``[previous upper, upper)``)."""
    logit_per_point: float
    bands: TierBands

    def values(self, name: str, value: Any, helps: int) -> list[Any]:
        """Values of ``name`` in each bin on the helpful side (``helps`` -1: lower, 1: higher)
        scoring fewer points than ``value``, nearest first: a bin's top for lower, its bottom
        for higher (whole numbers stay whole)."""
        if name not in self.points or value is None:
            return []
        now = self.points[name](value)
        whole = isinstance(value, int)
        found: list[Any] = []
        for upper in self.edges[name]:
            if helps < 0 and upper <= value:
                point: Any = math.ceil(upper) - 1 if whole else math.nextafter(upper, -math.inf)
            elif helps > 0 and upper > value:
                point = math.ceil(upper) if whole else upper
            else:
                continue
            if self.points[name](point) < now and point not in found:
                found.append(point)
        return sorted(found, key=lambda v: abs(v - value))

    def risk_after(self, inputs: Mapping[str, Any], changed: Mapping[str, Any]) -> RiskAfter | None:
        """The better tier ``changed`` would bring ``inputs`` (with ``pd`` and ``tier``) to, or
        None when it brings none (or the inputs lack what is needed)."""
        pd, tier = inputs.get("pd"), inputs.get("tier")
        if not isinstance(pd, int | float) or not 0 < pd < 1 or not isinstance(tier, str):
            return None
        if not tier.startswith("T") or not tier[1:].isdigit():
            return None
        delta = sum(
            self.points[name](after) - self.points[name](inputs.get(name))
            for name, after in changed.items()
            if name in self.points
        )
        if delta >= 0:
            return None
        logit = math.log(pd / (1 - pd)) + delta * self.logit_per_point
        after_pd = 1 / (1 + math.exp(-logit))
        current = int(tier[1:])
        for t in range(1, current):
            if after_pd < self.bands.upper_pd[t - 1] * (1 - self.bands.margin):
                return RiskAfter(f"T{t}", after_pd)
        return None


def tier_move(model: RiskModel, bands: TierBands) -> PointsTierMove | None:
    """The tier-move model of ``model``, or None when its score does not add up per input."""
    if isinstance(model, ExpertModel):
        return PointsTierMove(
            {f.name: _optional(f.points_of) for f in model.features},
            {f.name: tuple(b.upper for b in f.bins if b.upper is not None) for f in model.features},
            1 / model.scale,
            bands,
        )
    if isinstance(model, ScorecardModel) and model.calibration.method != "isotonic":
        slope = model.calibration.b  # PD = logistic(a + b * raw); "none" is a = 0, b = 1
        numeric = [f for f in model.features if not f.input.categorical]
        return PointsTierMove(
            {f.name: _scorecard_points(f.points_of, f.name) for f in numeric},
            {f.name: tuple(b.upper for b in f.bins if b.upper is not None) for f in numeric},
            slope / model.scale,
            bands,
        )
    return None


def _optional(points_of: Callable[[float | None], float]) -> Points:
    def points(value: Any) -> float:
        return points_of(None if value is None else float(value))

    return points


def _scorecard_points(points_of: Callable[[pl.DataFrame], Any], name: str) -> Points:
    def points(value: Any) -> float:
        value = None if value is None else float(value)
        frame = pl.DataFrame({name: [value]}, schema={name: pl.Float64})
        return float(points_of(frame)[0])

    return points
