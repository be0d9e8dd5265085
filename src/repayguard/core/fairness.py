"""Fairness of a set of decisions: restriction rates by group and their disparity ratios.

Pure and frame-based so every comparison — ``policy impact``, counterfactual replay, the shadow
report, the outcome simulator — measures the same thing the same way: a group's rate of
borrowers restricted (any method not free, :func:`repayguard.core.pipeline.restricted`) over
the lowest non-zero rate among that attribute's groups (the reference group). A ratio above
the lender's threshold (``fairness.max_disparity_ratio``) is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import polars as pl

AGE_BANDS: Final = ((18, 25), (25, 35), (35, 45), (45, 55), (55, 65), (65, 200))
"""Half-open [low, high) age bands; the label is ``low-high`` (``65+`` for the last)."""
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
        return (
            f"{self.attribute}={self.group} is restricted {self.ratio:.2f}× as often as the "
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
    The reference of an attribute is its lowest non-zero rate (1.0 ratios when nobody is
    restricted); ``crosses`` marks ratios above ``threshold``. Columns:
    :data:`FAIRNESS_COLUMNS`, sorted by attribute then group.
    """
    frames = []
    joined = decisions.select("borrower_id", pl.col(restricted).alias("_r")).join(
        attributes, on="borrower_id", how="left"
    )
    for name in groups:
        column = (
            pl.col(name).cast(pl.String).fill_null("unknown")
            if name in joined.columns
            else pl.lit("unknown")
        )
        per = (
            joined.group_by(column.alias("group"))
            .agg(pl.len().alias("borrowers"), pl.col("_r").sum().alias("restricted"))
            .with_columns((pl.col("restricted") / pl.col("borrowers")).alias("rate"))
        )
        positive = per.filter(pl.col("rate") > 0)["rate"]
        reference = float(positive.min()) if positive.len() else 0.0  # type: ignore[arg-type]
        frames.append(
            per.with_columns(
                pl.lit(name).alias("attribute"),
                pl.lit(reference).alias("reference"),
                (pl.col("rate") / reference if reference else pl.lit(1.0)).alias("ratio"),
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
