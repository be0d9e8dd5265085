"""Fairness of a set of decisions: restriction rates by group and their disparity ratios.

Pure and frame-based so every comparison — ``policy impact``, counterfactual replay, the shadow
report, the outcome simulator — measures the same thing the same way: a group's rate of
borrowers restricted (any method not free, :func:`repayguard.core.pipeline.restricted`) over
the lowest rate among that attribute's known groups (the reference group). A ratio above
the lender's threshold (``fairness.max_disparity_ratio``) is flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import polars as pl

AGE_BANDS: Final = ((18, 25), (25, 35), (35, 45), (45, 55), (55, 65), (65, 200))
"""Half-open [low, high) age bands; the label is ``low-high`` (``65+`` for the last)."""
UNKNOWN: Final = "unknown"
"""The group of borrowers without a value for an attribute."""
FAIRNESS_COLUMNS: Final = (
    "attribute", "group", "borrowers", "restricted", "rate", "reference", "ratio", "crosses",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DisparityWarning:
    """A group whose restriction rate exceeds ``threshold`` times its reference group's."""

    attribute: str
    group: str
    ratio: float
    threshold: float

    def __str__(self) -> str:
        times = "∞" if math.isinf(self.ratio) else f"{self.ratio:.2f}"
        return (
            f"{self.attribute}={self.group} is restricted {times}× as often as the "
            f"least restricted {self.attribute} group (threshold {self.threshold:.2f})"
        )


def age_band(birth_year: pl.Expr, *, on: date) -> pl.Expr:
    """The age band of a birth year on a day (age = year difference; enough for banding)."""
    age = pl.lit(on.year) - birth_year.cast(pl.Int32)
    label = pl.lit(None, pl.String)
    for low, high in reversed(AGE_BANDS):
        text = f"{low}+" if high >= 200 else f"{low}-{high - 1}"
        label = pl.when((age >= low) & (age < high)).then(pl.lit(text)).otherwise(label)
    return label


def disparity(
    decisions: pl.DataFrame,
    attributes: pl.DataFrame,
    *,
    groups: Sequence[str],
    threshold: float,
    restricted: str = "restricted",
) -> pl.DataFrame:
    """Restriction rate per group of each attribute in ``groups``, with its disparity ratio.

    ``decisions``: ``borrower_id`` and a Boolean ``restricted`` column (its name may be given).
    ``attributes``: ``borrower_id`` and one String-castable column per attribute; borrowers
    without a value count in the group ``unknown`` (never dropped: a gap in the data must show).
    The reference of an attribute is the lowest rate among its known groups; when that is 0,
    every restricted group's ratio is infinite (JSON exports it as null) and unrestricted
    groups' 1.0. ``crosses`` marks ratios above ``threshold``. Columns:
    :data:`FAIRNESS_COLUMNS`, sorted by attribute then group.
    """
    frames = []
    joined = decisions.select("borrower_id", pl.col(restricted).alias("_r")).join(
        attributes, on="borrower_id", how="left"
    )
    for name in groups:
        column = (
            pl.col(name).cast(pl.String).fill_null(UNKNOWN)
            if name in joined.columns
            else pl.lit(UNKNOWN)
        )
        per = (
            joined.group_by(column.alias("group"))
            .agg(pl.len().alias("borrowers"), pl.col("_r").sum().alias("restricted"))
            .with_columns((pl.col("restricted") / pl.col("borrowers")).alias("rate"))
        )
        # The reference is the least restricted group with a known value: a gap in the data
        # is reported, never the yardstick.
        known = per.filter(pl.col("group") != UNKNOWN)["rate"]
        reference = float(known.min()) if known.len() else 0.0  # type: ignore[arg-type]
        if reference > 0:
            ratio = pl.col("rate") / reference
        else:  # nobody restricted in some group: any restricted group is infinitely apart
            ratio = pl.when(pl.col("rate") > 0).then(pl.lit(float("inf"))).otherwise(1.0)
        frames.append(
            per.with_columns(
                pl.lit(name).alias("attribute"),
                pl.lit(reference).alias("reference"),
                ratio.alias("ratio"),
            )
        )
    if not frames:
        return pl.DataFrame(
            schema={
                "attribute": pl.String,
                "group": pl.String,
                "borrowers": pl.UInt32,
                "restricted": pl.UInt32,
                "rate": pl.Float64,
                "reference": pl.Float64,
                "ratio": pl.Float64,
                "crosses": pl.Boolean,
            }
        )
    return (
        pl.concat(frames, how="vertical_relaxed")
        .with_columns(
            pl.col("borrowers").cast(pl.UInt32),
            pl.col("restricted").cast(pl.UInt32),
            (pl.col("ratio") > threshold).alias("crosses"),
        )
        .select(FAIRNESS_COLUMNS)
        .sort("attribute", "group")
    )


def warnings(table: pl.DataFrame, *, threshold: float) -> list[DisparityWarning]:
    """The groups of a :func:`disparity` table that cross ``threshold``, worst first."""
    crossing = table.filter(pl.col("crosses")).sort("ratio", descending=True)
    return [
        DisparityWarning(row["attribute"], row["group"], row["ratio"], threshold)
        for row in crossing.iter_rows(named=True)
    ]
