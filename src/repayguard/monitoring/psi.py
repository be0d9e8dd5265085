"""Score stability, pure: PSI of decided borrowers' PD each day against reference bins.

The reference is the production model's training profile (the PD bins and shares stored
with the model, ``risk.training_profile``), so PSI here is the number the model's own
evaluation report gives on live data. The shipped expert model was never trained and has no
profile; then the reference is the PD distribution of the first day of the range that has
decided borrowers, cut into the same kind of quantile bins — stability within the range,
said so in ``ScoreReference.source``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from repayguard.core.scoring.profile import SCORE, ColumnProfile, profile_column

BASELINE_SOURCE: Final = "the first day of the range with decided borrowers (no training profile)"


@dataclass(frozen=True, slots=True)
class ScoreReference:
    """The PD bins PSI is measured against, and where they come from.

    ``model_version``: only decisions made with this model are compared (PDs of another model
    are on another scale); None compares every decision.
    """

    bins: ColumnProfile
    model_version: str | None
    source: str


def score_psi(decided: pl.DataFrame, reference: ScoreReference | None) -> pl.DataFrame:
    """``day`` and ``psi`` for every day of ``decided`` (borrower, day, pd, model_version:
    the latest decision at each day's end) with at least one comparable PD."""
    rows = decided.filter(pl.col("pd").is_not_null())
    if reference is not None and reference.model_version is not None:
        rows = rows.filter(pl.col("model_version") == reference.model_version)
    if rows.is_empty():
        return pl.DataFrame(schema={"day": pl.Date(), "psi": pl.Float64()})
    by_day = rows.group_by("day", maintain_order=True).agg(pl.col("pd")).sort("day")
    bins = reference.bins if reference is not None else baseline(by_day.get_column("pd")[0]).bins
    return pl.DataFrame(
        {
            "day": by_day.get_column("day"),
            "psi": [bins.psi(pds) for pds in by_day.get_column("pd")],
        },
        schema={"day": pl.Date(), "psi": pl.Float64()},
    )


def baseline(pds: pl.Series) -> ScoreReference:
    """Reference bins cut from one day's PDs, for a model without a training profile."""
    return ScoreReference(
        bins=profile_column(SCORE, pds, categorical=False),
        model_version=None,
        source=BASELINE_SOURCE,
    )
