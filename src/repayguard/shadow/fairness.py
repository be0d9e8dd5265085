"""Fairness in policy comparisons: group attributes from a file, restriction rates by group for
two sets of decisions (champion and candidate), and the warnings past the lender's threshold.

The math is :func:`repayguard.core.fairness.disparity` (pure; the simulator calls it too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from repayguard import borrowers
from repayguard.core.fairness import DisparityWarning, age_band, disparity, warnings
from repayguard.ingestion.errors import UnreadableFile
from repayguard.platform.crypto import Keyring
from repayguard.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class FairnessComparison:
    """Restriction rates and disparity ratios by group, under each arm, and what crosses."""

    champion: pl.DataFrame
    candidate: pl.DataFrame
    threshold: float
    warnings: tuple[DisparityWarning, ...]
    """Groups the candidate restricts past the threshold (the champion's are in its table)."""

    def as_dict(self, *, before: str = "now", after: str = "candidate") -> dict[str, Any]:
        """Both tables and the warnings; an infinite ratio is null (JSON has no infinity)."""

        def rows(table: pl.DataFrame) -> list[dict[str, Any]]:
            return [
                {**r, "ratio": None if math.isinf(r["ratio"]) else r["ratio"]}
                for r in table.to_dicts()
            ]

        return {
            "threshold": self.threshold,
            before: rows(self.champion),
            after: rows(self.candidate),
            "warnings": [str(w) for w in self.warnings],
        }


def read_attributes(path: Path, *, on: date) -> pl.DataFrame:
    """Group attributes from a CSV or Parquet file: ``borrower_id`` and any columns; a
    ``birth_year`` column becomes ``age_band`` (banded on ``on``), never kept itself."""
    try:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise UnreadableFile(
            f"cannot read borrower attributes from {path}: {error}",
            hint="give a CSV or Parquet file with a borrower_id column",
        ) from error
    if "borrower_id" not in frame.columns:
        raise UnreadableFile(
            f"{path} has no borrower_id column", hint="name the borrower column borrower_id"
        )
    frame = frame.with_columns(pl.col("borrower_id").cast(pl.String))
    if "birth_year" in frame.columns:
        frame = frame.with_columns(age_band(pl.col("birth_year"), on=on).alias("age_band")).drop(
            "birth_year"
        )
    return frame


def profile_attributes(*, uow: UnitOfWork, keyring: Keyring, on: date) -> pl.DataFrame:
    """Age band and region of every profiled borrower (decrypted here, never exported)."""
    with uow:
        return borrowers.group_attributes(uow.session, keyring=keyring, on=on)


def stated(attributes: pl.DataFrame) -> bool:
    """Whether any borrower has a value for any group (else there is nothing to compare)."""
    values = attributes.drop("borrower_id")
    return bool(values.width) and bool(values.filter(~pl.all_horizontal(pl.all().is_null())).height)


def compare(
    champion: pl.DataFrame,
    candidate: pl.DataFrame,
    attributes: pl.DataFrame,
    *,
    groups: list[str],
    threshold: float,
) -> FairnessComparison:
    """Both arms' disparity tables (each a frame of ``borrower_id`` and ``restricted``)."""
    mine = disparity(champion, attributes, groups=groups, threshold=threshold)
    theirs = disparity(candidate, attributes, groups=groups, threshold=threshold)
    return FairnessComparison(mine, theirs, threshold, tuple(warnings(theirs, threshold=threshold)))
