"""Emergency overlays in the decision core: playbook checks, composition over the policy's
outcome (vectorized == row-wise), and the guardrails every outcome keeps."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard import policies
from repayguard.core.policy import CompiledPolicy, guardrails
from repayguard.core.policy.outcome import RANK
from repayguard.core.policy.overlay import Overlay, apply_overlays, apply_overlays_row
from repayguard.core.policy.playbook import (
    PlaybookInvalid,
    check_playbook,
    load_playbook,
    playbook_of,
)
from repayguard.core.policy.regions import USABLE_MANUAL
from repayguard.resources import read_text

PROFILES = policies.profiles()
SHIPPED = {
    path: policies.compile_checked(
        policies.load_policy_text(read_text(path), profiles=PROFILES), profiles=PROFILES
    )
    for path in (
        "policies/cn-default.yaml",
        "policies/eu-example.yaml",
        "policies/us-example.yaml",
    )
}
MARKET_STRESS = load_playbook(read_text("playbooks/market-stress.yaml"))


def playbook(**changes: Any) -> dict[str, Any]:
    return {**MARKET_STRESS.model_dump(mode="json"), **changes}


def test_the_shipped_playbook_passes_every_listed_jurisdiction() -> None:
    assert check_playbook(MARKET_STRESS, PROFILES) == []


def test_a_playbook_that_loosens_is_refused_naming_the_key() -> None:
    with pytest.raises(PlaybookInvalid) as caught:
        playbook_of(playbook(tighten={"early_repayment": "allowed"}))
    assert any(f.startswith("tighten") and "open state" in f for f in caught.value.findings)


def test_a_segment_cell_that_does_not_parse_is_refused_naming_the_input() -> None:
    with pytest.raises(PlaybookInvalid) as caught:
        playbook_of(playbook(segment={"tiers": ["T5"], "when": {"dpd_now": ">= "}}))
    assert any("segment.when" in f and "dpd_now" in f for f in caught.value.findings)


def test_unknown_reasons_and_inputs_are_refused() -> None:
    with pytest.raises(PlaybookInvalid) as caught:
        playbook_of(
            playbook(reasons=["NOT_A_CODE"], segment={"tiers": ["T5"], "when": {"zz": "> 1"}})
        )
    keys = {f.split(":")[0] for f in caught.value.findings}
    assert {"reasons", "segment.when"} <= keys


def test_a_playbook_the_jurisdiction_leaves_nothing_to_tighten_is_refused() -> None:
    only_early = playbook_of(
        playbook(tighten={"early_repayment": "restricted"}, jurisdictions=["CN", "EU"])
    )
    findings = check_playbook(only_early, PROFILES)
    assert len(findings) == 1
    assert "under EU" in findings[0]


def test_a_review_deadline_after_expiry_is_refused() -> None:
    late = playbook_of(playbook(review_within_hours=100, max_duration_hours=72))
    assert any(f.startswith("review_within_hours") for f in check_playbook(late, PROFILES))


_INPUT_SCHEMA = {
    "tier": pl.String,
    "pd": pl.Float64,
    "dpd_now": pl.Int64,
    "max_dpd_90d": pl.Int64,
    "failed_debits_30d": pl.Int64,
    "on_time_ratio_180d": pl.Float64,
    "early_repayments_30d": pl.Int64,
    "redraws_after_early_30d": pl.Int64,
    "utilization": pl.Float64,
    "open_appeal": pl.Boolean,
    "open_hardship": pl.Boolean,
}
_inputs = st.fixed_dictionaries(
    {
        "tier": st.sampled_from(["T1", "T2", "T3", "T4", "T5"]),
        "pd": st.floats(0, 1),
        "dpd_now": st.integers(0, 60),
        "max_dpd_90d": st.integers(0, 90),
        "failed_debits_30d": st.integers(0, 5),
        "on_time_ratio_180d": st.one_of(st.none(), st.floats(0, 1)),
        "early_repayments_30d": st.integers(0, 4),
        "redraws_after_early_30d": st.integers(0, 4),
        "utilization": st.floats(0, 1.5),
        "open_appeal": st.booleans(),
        "open_hardship": st.booleans(),
    }
)
_tighten = st.dictionaries(
    st.sampled_from(["auto_debit", "early_repayment", "manual"]),
    st.sampled_from(["x"]),
    min_size=1,
).flatmap(
    lambda keys: st.fixed_dictionaries(
        {m: st.sampled_from([s for s, r in RANK[m].items() if r > 0]) for m in keys}
    )
)


@st.composite
def _playbooks(draw: st.DrawFn) -> Any:
    when = draw(
        st.dictionaries(
            st.sampled_from(["dpd_now", "utilization", "pd"]),
            st.sampled_from([">= 30", "[1..29]", "> 0.5", "< 0.2", "-", "null"]),
            max_size=2,
        )
    )
    tiers = draw(st.lists(st.sampled_from(["T1", "T2", "T3", "T4", "T5"]), min_size=1, unique=True))
    hours = draw(st.integers(1, 24 * 20))
    return playbook_of(
        playbook(
            segment={"tiers": tiers, "when": when},
            tighten=draw(_tighten),
            max_duration_hours=hours,
            review_within_hours=draw(st.integers(1, hours)),
            jurisdictions=draw(
                st.lists(st.sampled_from(["CN", "EU", "UK", "US"]), min_size=1, unique=True)
            ),
        )
    )


def _overlays(books: list[Any]) -> list[Overlay]:
    return [Overlay.of(f"{k:032x}", book) for k, book in enumerate(books)]


random_cases = given(
    path=st.sampled_from(sorted(SHIPPED)),
    books=st.lists(_playbooks(), min_size=1, max_size=3),
    rows=st.lists(_inputs, min_size=1, max_size=25),
)
"""A shipped policy, up to three random playbooks armed, random borrowers."""
examples = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decided(
    path: str, rows: list[dict[str, Any]]
) -> tuple[CompiledPolicy, pl.DataFrame, pl.DataFrame]:
    compiled = SHIPPED[path]
    inputs = pl.DataFrame(rows, schema=_INPUT_SCHEMA)
    return compiled, inputs, compiled.evaluate(inputs)


@examples
@random_cases
def test_overlays_vectorized_equal_row_wise(
    path: str, books: list[Any], rows: list[dict[str, Any]]
) -> None:
    compiled, inputs, decided = _decided(path, rows)
    overlays = _overlays(books)
    vector = apply_overlays(decided, overlays, inputs=inputs, profile=compiled.profile)
    for k, row in enumerate(decided.iter_rows(named=True)):
        expected = apply_overlays_row(row, rows[k], overlays, compiled.profile)
        assert vector.row(k, named=True) == expected


@examples
@random_cases
def test_no_overlaid_decision_breaks_g1_or_the_profile_and_none_loosens(
    path: str, books: list[Any], rows: list[dict[str, Any]]
) -> None:
    compiled, inputs, decided = _decided(path, rows)
    profile = compiled.profile
    plain = guardrails.enforce(decided, compiled)
    overlaid = guardrails.enforce(
        apply_overlays(decided, _overlays(books), inputs=inputs, profile=profile), compiled
    )
    free = compiled.policy.free_channels
    for before, after in zip(
        plain.iter_rows(named=True), overlaid.iter_rows(named=True), strict=True
    ):
        assert after["manual"] in USABLE_MANUAL
        assert any(c in free for c in after["manual_channels"])
        assert profile is None or profile.violations(after) == []
        assert after["guardrail"] == before["guardrail"]  # the overlay never trips G1/G2
        for method, rank in RANK.items():
            assert rank[after[method]] >= rank[before[method]]
        assert set(after["manual_channels"]) == set(before["manual_channels"])


def test_an_overlay_changes_only_its_segment_and_names_itself() -> None:
    compiled = SHIPPED["policies/cn-default.yaml"]
    rows = [
        {**_base(), "tier": "T5"},
        {**_base(), "tier": "T2"},
        {**_base(), "tier": "T4", "open_appeal": True},
    ]
    inputs = pl.DataFrame(rows, schema=_INPUT_SCHEMA)
    out = apply_overlays(
        compiled.evaluate(inputs),
        [Overlay.of("a" * 32, MARKET_STRESS)],
        inputs=inputs,
        profile=compiled.profile,
    )
    assert out["overlay_id"].to_list() == ["a" * 32, None, None]
    first = out.row(0, named=True)
    assert (first["early_repayment"], first["auto_debit"]) == ("restricted", "mandatory")
    assert first["reasons"][0] == "EMERGENCY_MARKET_STRESS"
    assert (first["notice_days"], first["requires_approval"], first["max_days"]) == (0, False, 3)


def test_where_the_jurisdiction_forbids_a_part_the_rest_still_applies() -> None:
    compiled = SHIPPED["policies/eu-example.yaml"]
    inputs = pl.DataFrame([{**_base(), "tier": "T5"}], schema=_INPUT_SCHEMA)
    out = apply_overlays(
        compiled.evaluate(inputs),
        [Overlay.of("b" * 32, MARKET_STRESS)],
        inputs=inputs,
        profile=compiled.profile,
    ).row(0, named=True)
    assert out["auto_debit"] == "mandatory"
    assert out["early_repayment"] == "allowed"  # EU consumers' right to repay early


def _base() -> dict[str, Any]:
    return {
        "tier": "T1",
        "pd": 0.01,
        "dpd_now": 0,
        "max_dpd_90d": 0,
        "failed_debits_30d": 0,
        "on_time_ratio_180d": 1.0,
        "early_repayments_30d": 0,
        "redraws_after_early_30d": 0,
        "utilization": 0.1,
        "open_appeal": False,
        "open_hardship": False,
    }
