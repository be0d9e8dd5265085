"""Training distributions kept with a model, so stability (PSI) can be measured later.

Every input and the PD are cut into bins at training time (numeric: about ten quantile bins;
categorical: the training categories plus "other") and the share of training rows per bin is
stored. PSI of new data is then computed against exactly those bins, however the new data look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl

from repayguard.core.scoring.inputs import InputColumn
from repayguard.core.scoring.metrics import bin_shares, psi, quantile_edges

SCORE: Final = "pd"
MAX_CATEGORIES: Final = 50


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """Bins of one column and the training share in each (plus the missing share)."""

    name: str
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    shares: tuple[float, ...] = ()
    missing: float = 0.0

    @property
    def categorical(self) -> bool:
        return bool(self.categories)

    def shares_of(self, values: pl.Series) -> tuple[list[float], float]:
        """Shares of ``values`` in this profile's bins (categorical: last share is "other")."""
        if self.categorical:
            text = values.cast(pl.String)
            n = max(text.len(), 1)
            missing = text.null_count() / n
            counts = dict(text.drop_nulls().value_counts().iter_rows())
            known = [counts.get(c, 0) / n for c in self.categories]
            other = sum(v for k, v in counts.items() if k not in self.categories) / n
            return [*known, other], missing
        return bin_shares(values.cast(pl.Float64).fill_nan(None).to_numpy(), self.edges)

    def psi(self, values: pl.Series) -> float:
        """PSI of ``values`` against training, over the bins and the missing share together."""
        shares, missing = self.shares_of(values)
        return psi([*self.shares, self.missing], [*shares, missing])

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "shares": list(self.shares)}
        out["missing"] = self.missing
        if self.categorical:
            out["categories"] = list(self.categories)
        else:
            out["edges"] = list(self.edges)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        return cls(
            name=str(data["name"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            categories=tuple(str(c) for c in data.get("categories", ())),
            shares=tuple(float(s) for s in data["shares"]),
            missing=float(data.get("missing", 0.0)),
        )


def profile_column(name: str, values: pl.Series, categorical: bool) -> ColumnProfile:
    """Bins for one column from its training values."""
    if categorical:
        text = values.cast(pl.String)
        top = text.drop_nulls().value_counts(sort=True).head(MAX_CATEGORIES)
        categories = tuple(sorted(str(c) for c in top.get_column(top.columns[0])))
        draft = ColumnProfile(name, categories=categories, shares=(0.0,) * (len(categories) + 1))
        shares, missing = draft.shares_of(values)
        return ColumnProfile(name, categories=categories, shares=tuple(shares), missing=missing)
    array = values.cast(pl.Float64).fill_nan(None).to_numpy()
    edges = quantile_edges(array)
    shares, missing = bin_shares(array, edges)
    return ColumnProfile(name, edges=tuple(edges), shares=tuple(shares), missing=missing)


@dataclass(frozen=True, slots=True)
class Profile:
    """The training distribution of a model's inputs and of its PD."""

    rows: int
    columns: tuple[ColumnProfile, ...]
    score: ColumnProfile

    def psi(self, frame: pl.DataFrame, pd: pl.Series) -> tuple[float, dict[str, float]]:
        """PSI of the PD and of each input present in ``frame``, against training."""
        per_column = {
            c.name: c.psi(frame.get_column(c.name)) for c in self.columns if c.name in frame.columns
        }
        return self.score.psi(pd), per_column

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "score": self.score.as_dict(),
            "columns": [c.as_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            rows=int(data["rows"]),
            columns=tuple(ColumnProfile.from_dict(c) for c in data["columns"]),
            score=ColumnProfile.from_dict(data["score"]),
        )


def build_profile(frame: pl.DataFrame, inputs: Sequence[InputColumn], pd: Any) -> Profile:
    """Profile the training rows: each input's bins and the PD's bins."""
    columns = tuple(profile_column(i.name, frame.get_column(i.name), i.categorical) for i in inputs)
    score = profile_column(SCORE, pl.Series(SCORE, np.asarray(pd, dtype=np.float64)), False)
    return Profile(rows=frame.height, columns=columns, score=score)
