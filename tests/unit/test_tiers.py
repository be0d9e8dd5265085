"""PD to tier with hysteresis: immediate moves up, delayed and damped moves down."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.core.tiers import BandsInvalid, TierBands, assign_tiers, dump_bands, load_bands
from repayguard.resources import read_text

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
BANDS = TierBands("test", (0.01, 0.03, 0.08, 0.20), margin=0.1, min_dwell_days=30)


def tier_after(
    pd: float | None, tier: int | None = None, days_in_tier: float | None = None
) -> tuple[int | None, datetime | None]:
    since = AS_OF - timedelta(days=days_in_tier) if days_in_tier is not None else None
    previous = pl.DataFrame(
        {"borrower_id": ["b"], "tier": [tier], "tier_since": [since]},
        schema={"borrower_id": pl.String, "tier": pl.Int8, "tier_since": pl.Datetime("us", "UTC")},
    )
    out = assign_tiers(pl.Series([pd], dtype=pl.Float64), previous, AS_OF, BANDS)
    return out["tier"][0], out["tier_since"][0]


@pytest.mark.parametrize(
    ("pd", "tier"),
    [(0.0, 1), (0.01, 1), (0.0101, 2), (0.03, 2), (0.05, 3), (0.08, 3), (0.2, 4), (0.21, 5)],
)
def test_new_borrower_gets_the_plain_tier_effective_now(pd: float, tier: int) -> None:
    assert tier_after(pd) == (tier, AS_OF)
    assert BANDS.tier_of(pd) == tier


def test_moves_up_immediately_when_pd_exceeds_the_edge_by_the_margin() -> None:
    assert tier_after(0.034, tier=2, days_in_tier=1) == (3, AS_OF)


def test_does_not_move_up_within_the_margin() -> None:
    assert tier_after(0.032, tier=2, days_in_tier=1)[0] == 2


def test_moves_up_several_tiers_at_once() -> None:
    assert tier_after(0.5, tier=1, days_in_tier=1) == (5, AS_OF)


def test_moves_down_only_after_the_minimum_dwell() -> None:
    assert tier_after(0.001, tier=4, days_in_tier=29)[0] == 4
    assert tier_after(0.001, tier=4, days_in_tier=30) == (1, AS_OF)


def test_does_not_move_down_within_the_margin_even_after_dwell() -> None:
    # lower edge of T3 is 0.03; 0.028 is below it but not by 10 %
    assert tier_after(0.028, tier=3, days_in_tier=100)[0] == 3
    assert tier_after(0.026, tier=3, days_in_tier=100)[0] == 2


def test_tier_since_is_kept_while_the_tier_does_not_change() -> None:
    assert tier_after(0.05, tier=3, days_in_tier=12) == (3, AS_OF - timedelta(days=12))


def test_unknown_tier_since_counts_as_dwell_satisfied() -> None:
    assert tier_after(0.001, tier=3, days_in_tier=None) == (1, AS_OF)


def test_null_pd_keeps_the_current_tier() -> None:
    assert tier_after(None, tier=4, days_in_tier=3)[0] == 4


def test_previous_must_be_aligned_with_pd() -> None:
    with pytest.raises(ValueError, match="rows"):
        assign_tiers(
            pl.Series([0.1, 0.2]),
            pl.DataFrame({"borrower_id": ["a"], "tier": [1], "tier_since": [None]}),
            AS_OF,
            BANDS,
        )


@settings(max_examples=150, deadline=None)
@given(
    pd=st.floats(0, 1),
    tier=st.one_of(st.none(), st.integers(1, 5)),
    days=st.one_of(st.none(), st.floats(0, 100)),
)
def test_hysteresis_invariants(pd: float, tier: int | None, days: float | None) -> None:
    new, since = tier_after(pd, tier, days)
    plain = BANDS.tier_of(pd)
    assert new is not None
    assert 1 <= new <= 5
    if tier is None:
        assert new == plain
    else:
        assert min(tier, plain) <= new <= max(tier, plain)  # never overshoots the plain tier
        if new < tier:
            assert days is None or days >= BANDS.min_dwell_days
    if tier is None or new != tier:
        assert since == AS_OF
    else:
        assert since == (AS_OF - timedelta(days=days) if days is not None else None)


def test_shipped_bands_load() -> None:
    bands = load_bands(read_text("tiers/bands-v1.json"))
    assert bands.tiers == 5
    assert bands.upper_pd == tuple(sorted(bands.upper_pd))


@pytest.mark.parametrize(
    "change",
    [
        {"upper_pd": [0.1, 0.05]},
        {"upper_pd": [0.0, 0.5]},
        {"upper_pd": [0.5, 1.0]},
        {"margin": 1.5},
        {"extra": 1},
    ],
)
def test_bad_bands_are_refused(change: dict[str, object]) -> None:
    doc = {"version": "x", "upper_pd": [0.01, 0.1], "margin": 0.1, "min_dwell_days": 7, **change}
    with pytest.raises(BandsInvalid):
        load_bands(json.dumps(doc))


def test_a_bands_document_round_trips() -> None:
    shipped = load_bands(read_text("tiers/bands-v1.json"))
    assert load_bands(dump_bands(shipped, "same bands")) == shipped
    assert shipped.version == "bands-v1"


@settings(max_examples=100, deadline=None)
@given(pds=st.lists(st.one_of(st.floats(0, 1), st.sampled_from(BANDS.upper_pd)), max_size=30))
def test_vectorized_tiers_of_new_borrowers_equal_the_row_rule(pds: list[float]) -> None:
    previous = pl.DataFrame(
        {"borrower_id": [f"b{i}" for i in range(len(pds))], "tier": [None] * len(pds),
         "tier_since": [None] * len(pds)},
        schema={"borrower_id": pl.String, "tier": pl.Int8, "tier_since": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    out = assign_tiers(pl.Series(pds, dtype=pl.Float64), previous, AS_OF, BANDS)
    assert out["tier"].to_list() == [BANDS.tier_of(p) for p in pds]
