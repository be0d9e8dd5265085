"""Fairness in the simulator's comparison: group attributes that change nobody's behaviour,
restriction and outcome rates by group per arm, and warnings past the threshold."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
import pytest

from repayguard import policies, resources
from repayguard.core.policy import Policy
from repayguard.simulation import ArmPolicy, PortfolioSpec, compare, default_assumptions
from repayguard.simulation import simulator as simulator_module
from repayguard.simulation.groups import draw_groups

NO_RESTRICTION = resources.read_text("simulation/no-restriction.yaml")


def _policy(text: str, name: str | None = None) -> Policy:
    policy = policies.load_policy_text(text, profiles=policies.profiles())
    return policy if name is None else policy.model_copy(update={"name": name})


def test_groups_come_from_the_seed_and_cover_every_borrower() -> None:
    spec = PortfolioSpec(borrowers=2_000, months=3, seed=5)
    first, again = draw_groups(spec), draw_groups(spec)
    assert first.equals(again)
    assert first.height == 2_000
    assert first["age_band"].null_count() == 0
    assert first["region"].n_unique() == 6
    assert not first.equals(draw_groups(PortfolioSpec(borrowers=2_000, months=3, seed=6)))


def test_a_vs_a_shows_identical_group_rates_and_no_warning() -> None:
    arm = ArmPolicy("shipped", _policy(resources.read_text("policies/cn-default.yaml")))
    result = compare(PortfolioSpec(borrowers=1_200, months=3, seed=11), arm, arm,
                     default_assumptions(), seeds=2)  # fmt: skip
    fairness = result.as_json()["fairness"]
    assert fairness["by_group"]["A"] == fairness["by_group"]["B"]
    assert fairness["warnings"] == []
    restricted = fairness["by_group"]["B"]["restricted"]
    assert {r["attribute"] for r in restricted} == {"age_band", "region"}
    assert sum(r["count"] for r in restricted) > 0  # the shipped policy does restrict some
    # Two seeds pooled: each attribute's groups hold every borrower of both seeds.
    assert sum(r["borrowers"] for r in restricted if r["attribute"] == "region") == 2_400


def test_same_seed_gives_byte_identical_json_with_fairness() -> None:
    a = ArmPolicy("none", _policy(NO_RESTRICTION))
    b = ArmPolicy("shipped", _policy(resources.read_text("policies/cn-default.yaml")))
    spec = PortfolioSpec(borrowers=800, months=3, seed=5)
    first = json.dumps(compare(spec, a, b, default_assumptions(), seeds=2).as_json())
    second = json.dumps(compare(spec, a, b, default_assumptions(), seeds=2).as_json())
    assert '"fairness"' in first
    assert first == second


def test_a_policy_restricting_only_one_region_is_warned_past_the_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Arm B's decisions restrict early repayment in the north only (a decision step that
    reads the simulated region, built for this test); the report must say so."""
    spec = PortfolioSpec(borrowers=1_500, months=3, seed=21)
    seeds = 2
    north = {
        f"{s}": set(
            draw_groups(PortfolioSpec(borrowers=spec.borrowers, months=3, seed=s))
            .filter(pl.col("region") == "north")["borrower_id"]
            .to_list()
        )
        for s in (spec.seed, spec.seed + 1)
    }
    real_decide = simulator_module.decide
    calls: dict[str, int] = {}

    def regional(events: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
        decisions = real_decide(events, **kwargs)
        if kwargs["policy"].policy.name != "regional":
            return decisions
        # The seed of this run: a run decides 2 month-ends, arms alternate within a seed.
        key = str(spec.seed + calls.setdefault("n", 0) // 2)
        calls["n"] += 1
        in_north = decisions["borrower_id"].is_in(list(north[key]))
        return decisions.with_columns(
            pl.when(in_north).then(pl.lit("restricted")).otherwise(pl.lit("allowed"))
            .alias("early_repayment"),
            pl.lit("optional").alias("auto_debit"),
            pl.lit("allowed").alias("manual"),
            pl.when(in_north).then(pl.lit(0)).otherwise(pl.col("notice_days"))
            .alias("notice_days"),
        )  # fmt: skip

    monkeypatch.setattr(simulator_module, "decide", regional)
    a = ArmPolicy("none", _policy(NO_RESTRICTION))
    b = ArmPolicy("regional", _policy(NO_RESTRICTION, name="regional"))
    result = compare(spec, a, b, default_assumptions(), seeds=seeds, disparity_threshold=1.25)
    fairness = result.as_json()["fairness"]
    early = {
        r["group"]: r
        for r in fairness["by_group"]["B"]["restricted_early_repayment"]
        if r["attribute"] == "region"
    }
    assert early["north"]["rate"] == 1.0
    assert all(r["rate"] == 0.0 for g, r in early.items() if g != "north")
    warned = {(w["arm"], w["measure"], w["attribute"], w["group"]) for w in fairness["warnings"]}
    assert ("B", "restricted_early_repayment", "region", "north") in warned
    assert ("B", "restricted", "region", "north") in warned
    assert not any(w["arm"] == "A" for w in fairness["warnings"])
    assert not any(w["attribute"] == "age_band" for w in fairness["warnings"])
    assert all("region=north" in w["text"] for w in fairness["warnings"])


def test_a_group_attribute_changes_no_borrower_behaviour() -> None:
    """The same seed with the groups drawn differently would behave identically: nothing in
    an arm reads them, so the per-borrower outcomes depend on the seed alone."""
    from repayguard.simulation import run_arm
    from repayguard.simulation.compare import _engine

    spec = PortfolioSpec(borrowers=500, months=2, seed=3)
    arm = ArmPolicy("none", _policy(NO_RESTRICTION))
    before = run_arm(spec, _engine(arm), default_assumptions())
    groups = draw_groups(spec)
    after = run_arm(spec, _engine(arm), default_assumptions())
    assert groups.height == spec.borrowers
    for key, values in before.borrowers.items():
        assert np.array_equal(values, after.borrowers[key]), key
