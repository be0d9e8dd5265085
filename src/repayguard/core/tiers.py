"""PD to risk tier (T1 lowest risk ... T5 highest) with hysteresis against flapping.

The hysteresis rule, for a borrower currently in tier ``c`` with PD ``p`` (edges ``u1 < u2 <
u3 < u4`` are the upper PD bounds of T1..T4; the relative ``margin`` m widens them):

* no current tier: the plain tier of ``p`` (``p <= u1`` is T1, ``u1 < p <= u2`` is T2, ...,
  ``p > u4`` is T5), effective now;
* **up** (worse) immediately: to the highest tier ``t > c`` whose lower edge ``p`` exceeds by
  the margin, i.e. ``p > u(t-1) * (1 + m)``;
* **down** (better) only when ``p`` is below the lower edge of ``c`` by the margin and the
  borrower has been in ``c`` at least ``min_dwell_days``: to the lowest tier ``t < c`` with
  ``p < u(t) * (1 - m)`` for every edge from ``u(t)`` up to the lower edge of ``c``;
* otherwise stay. ``tier_since`` is ``as_of`` when the tier changes and unchanged otherwise;
  an unknown ``tier_since`` counts as dwell satisfied. A null PD keeps the current tier.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Final

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from repayguard.core.feature_parts import instant
from repayguard.core.features import as_utc

TIER_DTYPE: Final = pl.Int8()
SINCE_DTYPE: Final = pl.Datetime("us", "UTC")


@dataclass(frozen=True, slots=True)
class TierBands:
    """PD cut-offs of one published version; bands ascend by PD.

    ``upper_pd[i]`` is the upper PD bound (inclusive) of tier ``i + 1``; the last tier has no
    upper bound, so there are ``len(upper_pd) + 1`` tiers. ``margin`` is relative to an edge.
    """

    version: str
    upper_pd: tuple[float, ...]
    margin: float
    min_dwell_days: int

    @property
    def tiers(self) -> int:
        """Number of tiers (T1..Tn)."""
        return len(self.upper_pd) + 1

    def tier_of(self, pd: float) -> int:
        """The plain tier of a PD, without hysteresis."""
        return sum(1 for u in self.upper_pd if pd > u) + 1


class BandsInvalid(ValueError):
    """A bands document that cannot be used; the message says why."""


class _BandsDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(min_length=1)]
    description: str = ""
    upper_pd: Annotated[list[float], Field(min_length=1, max_length=8)]
    margin: Annotated[float, Field(ge=0, lt=1)]
    min_dwell_days: Annotated[int, Field(ge=0)]


def load_bands(text: str) -> TierBands:
    """Parse a bands document (JSON); edges must lie in (0, 1) and strictly ascend."""
    try:
        doc = _BandsDoc.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        raise BandsInvalid(f"not a valid tier bands document: {exc}") from exc
    edges = doc.upper_pd
    if not all(0 < u < 1 and math.isfinite(u) for u in edges) or edges != sorted(set(edges)):
        raise BandsInvalid("upper_pd must be strictly ascending probabilities in (0, 1)")
    return TierBands(doc.version, tuple(edges), doc.margin, doc.min_dwell_days)


def dump_bands(bands: TierBands, description: str = "") -> str:
    """A bands document (JSON) that :func:`load_bands` reads back to equal bands."""
    doc = {
        "version": bands.version,
        "description": description,
        "upper_pd": list(bands.upper_pd),
        "margin": bands.margin,
        "min_dwell_days": bands.min_dwell_days,
    }
    return json.dumps(doc, indent=2) + "\n"


def assign_tiers(
    pd: pl.Series, previous: pl.DataFrame, as_of: datetime, bands: TierBands
) -> pl.DataFrame:
    """Assign each borrower's tier with hysteresis (see the module docstring for the rule).

    ``previous`` is row-aligned with ``pd`` (row i is the borrower scored in ``pd[i]``) and has
    ``borrower_id``, ``tier`` (Int8 1..n or null) and ``tier_since`` (UTC datetime or null).
    Returns ``borrower_id``, ``tier`` (Int8), ``tier_since`` in the same order.
    """
    if previous.height != pd.len():
        raise ValueError(f"previous has {previous.height} rows but pd has {pd.len()}")
    at = as_utc(as_of)
    p = pl.col("pd")
    edges = bands.upper_pd
    up_to = pl.sum_horizontal(*[(p > u * (1 + bands.margin)) for u in edges]).cast(pl.Int32) + 1
    down_to = pl.sum_horizontal(*[(p >= u * (1 - bands.margin)) for u in edges]).cast(pl.Int32) + 1
    plain = pl.sum_horizontal(*[(p > u) for u in edges]).cast(pl.Int32) + 1
    current = pl.col("tier").cast(pl.Int32)
    dwelled = pl.col("tier_since").is_null() | (
        pl.col("tier_since") <= instant(at - timedelta(days=bands.min_dwell_days))
    )
    tier = (
        pl.when(p.is_null())
        .then(current)
        .when(current.is_null())
        .then(plain)
        .when(up_to > current)
        .then(up_to)
        .when((down_to < current) & dwelled)
        .then(down_to)
        .otherwise(current)
    )
    frame = previous.select(
        pl.col("borrower_id").cast(pl.String),
        pl.col("tier").cast(TIER_DTYPE),
        pl.col("tier_since").cast(SINCE_DTYPE),
        pd.cast(pl.Float64).fill_nan(None).alias("pd"),
    )
    return frame.select(
        "borrower_id",
        tier.cast(TIER_DTYPE).alias("tier"),
        pl.when(tier.cast(TIER_DTYPE).eq_missing(pl.col("tier")))
        .then(pl.col("tier_since"))
        .otherwise(instant(at))
        .alias("tier_since"),
    )


def tier_label(tier: pl.Expr) -> pl.Expr:
    """The policy-facing label of a tier number: 1 -> "T1"; null stays null."""
    return pl.format("T{}", tier)
