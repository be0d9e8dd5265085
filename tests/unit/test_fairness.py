"""Restriction rates by group and their disparity ratios on a constructed book."""

from __future__ import annotations

from datetime import date

import polars as pl

from repayguard.core.fairness import age_band, disparity, warnings


def test_ratios_are_each_groups_rate_over_the_least_restricted_group() -> None:
    # north: 1 of 4 restricted (25%), south: 3 of 4 (75%), one borrower with no region.
    decisions = pl.DataFrame(
        {
            "borrower_id": [f"B{i}" for i in range(9)],
            "restricted": [True, False, False, False, True, True, True, False, True],
        }
    )
    attributes = pl.DataFrame(
        {
            "borrower_id": [f"B{i}" for i in range(8)],
            "region": ["north"] * 4 + ["south"] * 4,
        }
    )

    table = disparity(decisions, attributes, groups=["region"], threshold=1.25)

    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    assert rows["north"]["rate"] == 0.25
    assert rows["south"]["rate"] == 0.75
    assert rows["south"]["ratio"] == 3.0
    assert rows["north"]["ratio"] == 1.0
    assert rows["unknown"]["borrowers"] == 1, "a borrower without a value is never dropped"
    assert rows["unknown"]["reference"] == 0.25, "the unknown group is never the yardstick"
    assert [w.group for w in warnings(table, threshold=1.25)] == ["unknown", "south"]


def test_a_restricted_group_beside_an_unrestricted_one_is_infinitely_apart() -> None:
    decisions = pl.DataFrame({"borrower_id": ["A", "B"], "restricted": [True, False]})
    attributes = pl.DataFrame({"borrower_id": ["A", "B"], "region": ["x", "y"]})
    table = disparity(decisions, attributes, groups=["region"], threshold=1.25)
    assert table["ratio"].to_list() == [float("inf"), 1.0]
    [warning] = warnings(table, threshold=1.25)
    assert "region=x is restricted ∞×" in str(warning)


def test_nobody_restricted_gives_ratios_of_one() -> None:
    decisions = pl.DataFrame({"borrower_id": ["A", "B"], "restricted": [False, False]})
    attributes = pl.DataFrame({"borrower_id": ["A", "B"], "region": ["x", "y"]})
    table = disparity(decisions, attributes, groups=["region"], threshold=1.25)
    assert table["ratio"].to_list() == [1.0, 1.0]
    assert not table["crosses"].any()


def test_age_bands_from_birth_year() -> None:
    bands = pl.select(age_band(pl.lit(pl.Series([2000, 1990, 1950])), on=date(2026, 1, 1)))
    assert bands.to_series().to_list() == ["25-34", "35-44", "65+"]
