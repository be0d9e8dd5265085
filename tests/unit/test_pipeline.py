"""decide() end to end on a tiny portfolio with the shipped model, bands and policy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import polars as pl
import pytest

from repayguard.core.events import EVENT_SCHEMA
from repayguard.core.pipeline import DECISION_COLUMNS, decide, empty_previous
from repayguard.core.policy import compile_policy, load_policy
from repayguard.core.reasons import Reference
from repayguard.core.scoring import load_expert_model
from repayguard.core.tiers import load_bands
from repayguard.resources import read_text

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)
MODEL = load_expert_model(read_text("models/expert-v1.json"))
BANDS = load_bands(read_text("tiers/bands-v1.json"))
POLICY = compile_policy(load_policy(read_text("policies/cn-default.yaml")))
FREE = {"app_balance", "bank_card", "counter"}
_ids = count()


def ev(who: str, days_ago: float, type_: str, kind: str, **payload: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(EVENT_SCHEMA.names())
    row.update(
        event_id=f"e{next(_ids):05d}",
        type=type_,
        schema_version=1,
        borrower_id=who,
        loan_id=f"{who}-L1" if type_ in ("repayment", "loan") else None,
        occurred_at=AS_OF - timedelta(days=days_ago),
        kind=kind,
        **payload,
    )
    return row


def good_history(who: str) -> list[dict[str, Any]]:
    events = [
        ev(who, 200, "loan", "limit_change", amount=20000.0),
        ev(who, 190, "loan", "drawdown", amount=3000.0),
        ev(who, 20, "credit_report", "report", score=780.0, inquiries=0, external_debt=0.0),
        ev(who, 10, "transaction", "inflow", amount=12000.0, balance=9000.0),
    ]
    for days in (150, 120, 90, 60, 30):
        events.append(ev(who, days, "repayment", "due", amount=500.0))
        events.append(ev(who, days, "repayment", "paid", amount=500.0, method="auto_debit"))
    return events


def portfolio() -> pl.DataFrame:
    events = [*good_history("clean"), *good_history("debits"), *good_history("appeal")]
    events += [
        ev("debits", d, "repayment", "auto_debit_attempt", amount=500.0, status="failed")
        for d in (25, 12, 2)
    ]
    events += [
        ev("late", 45, "repayment", "due", amount=500.0),
        ev("late", 50, "loan", "drawdown", amount=500.0),
    ]
    events += [ev("later", -3, "behaviour", "login")]  # after as_of: not a borrower yet
    return pl.DataFrame(events, schema=EVENT_SCHEMA)


def previous(**rows: dict[str, Any]) -> pl.DataFrame:
    if not rows:
        return empty_previous()
    return pl.DataFrame(
        [{"borrower_id": who, **row} for who, row in rows.items()],
        schema=empty_previous().schema | {"open_appeal": pl.Boolean},
    )


def run(
    events: pl.DataFrame | None = None, prev: pl.DataFrame | None = None, **kw: Any
) -> pl.DataFrame:
    return decide(
        portfolio() if events is None else events,
        as_of=AS_OF,
        model=MODEL,
        bands=BANDS,
        policy=POLICY,
        previous=previous() if prev is None else prev,
        **kw,
    )


def by_borrower(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["borrower_id"]: row for row in frame.iter_rows(named=True)}


def test_repeated_failed_debits_disable_auto_debit_and_force_the_free_manual_channels() -> None:
    debits = by_borrower(run())["debits"]
    assert debits["rule_id"] == "failed-debits"
    assert (debits["auto_debit"], debits["manual"]) == ("disabled", "forced")
    assert set(debits["manual_channels"]) == FREE  # every free channel, and only those
    assert debits["reasons"][0] == "REPEATED_FAILED_DEBITS"
    assert "FAILED_DEBITS_30D" in debits["reasons"]
    assert debits["notice_days"] == 0
    assert debits["review_after_days"] == 30


def test_a_clean_borrower_gets_every_method_with_no_model_reasons() -> None:
    clean = by_borrower(run())["clean"]
    assert clean["tier"] == 1
    assert clean["pd"] < 0.015
    assert (clean["rule_id"], clean["auto_debit"], clean["early_repayment"]) == (
        "low-risk",
        "optional",
        "allowed",
    )
    assert clean["reasons"] == ["LOW_RISK_RESTORED"]


class CountingModel:
    """The shipped model, recording which borrowers it was asked to explain."""

    version, kind = MODEL.version, MODEL.kind

    def __init__(self) -> None:
        self.explained: list[str] = []

    def predict_pd(self, features: pl.DataFrame) -> pl.Series:
        return MODEL.predict_pd(features)

    def reasons(self, features: pl.DataFrame, top: int = 4) -> pl.Series:
        self.explained += features["borrower_id"].to_list()
        return MODEL.reasons(features, top)

    def reason_references(self) -> Mapping[str, Reference]:
        return MODEL.reason_references()


def test_only_borrowers_with_a_restriction_are_explained_by_the_model() -> None:
    model = CountingModel()
    decided = by_borrower(decide(portfolio(), as_of=AS_OF, model=model, bands=BANDS,
                                 policy=POLICY, previous=previous()))  # fmt: skip
    free = {who for who, row in decided.items()
            if (row["auto_debit"], row["early_repayment"], row["manual"])
            == ("optional", "allowed", "allowed")}  # fmt: skip
    assert free
    assert sorted(model.explained) == sorted(set(decided) - free)
    assert decided["debits"]["reasons"] == by_borrower(run())["debits"]["reasons"]
    assert "FAILED_DEBITS_30D" in decided["debits"]["reasons"]
    rows = {row.id: row for row in POLICY.policy.rows}
    for who in free:  # their reasons are the policy row's alone
        assert decided[who]["reasons"] == list(rows[decided[who]["rule_id"]].reasons), who


def test_severe_delinquency_needs_approval_and_is_time_boxed() -> None:
    late = by_borrower(run())["late"]
    assert late["tier"] == 5
    assert late["rule_id"] == "severe-delinquency"
    assert late["requires_approval"]
    assert late["max_days"] == 90
    assert late["reasons"][:2] == ["DPD_30_PLUS", "HIGH_RISK_TIER"]
    assert len(late["reasons"]) == 4


def test_open_appeal_keeps_the_current_methods() -> None:
    current = {
        "auto_debit": "mandatory",
        "early_repayment": "restricted",
        "manual": "allowed",
        "manual_channels": ["counter"],
        "open_appeal": True,
    }
    out = by_borrower(run(prev=previous(appeal=current, clean={"open_appeal": True})))
    appeal, clean = out["appeal"], out["clean"]
    assert appeal["keep"]
    assert appeal["rule_id"] == "appeal-freeze"
    assert (appeal["auto_debit"], appeal["early_repayment"], appeal["manual_channels"]) == (
        "mandatory",
        "restricted",
        ["counter"],
    )
    # keep without a current entitlement: the default row's methods
    assert clean["keep"]
    assert clean["auto_debit"] == "optional"
    assert clean["guardrail"] is None


def test_a_kept_entitlement_without_a_free_channel_is_repaired_by_the_guardrail() -> None:
    current = {
        "auto_debit": "mandatory",
        "early_repayment": "allowed",
        "manual": "forced",
        "manual_channels": ["bank_transfer"],
        "open_appeal": True,
    }
    appeal = by_borrower(run(prev=previous(appeal=current)))["appeal"]
    assert appeal["guardrail"].startswith("G1")
    assert FREE & set(appeal["manual_channels"])


def test_tier_hysteresis_uses_the_previous_tier() -> None:
    since = AS_OF - timedelta(days=3)
    clean = by_borrower(run(prev=previous(clean={"tier": 3, "tier_since": since})))["clean"]
    assert (clean["tier"], clean["tier_since"]) == (3, since)  # better, but min dwell not passed


def test_decision_rows_carry_lineage() -> None:
    out = run()
    assert out.columns == list(DECISION_COLUMNS)
    assert out["borrower_id"].to_list() == ["appeal", "clean", "debits", "late"]
    row = out.row(0, named=True)
    assert row["as_of"] == AS_OF
    assert row["model_version"] == "expert-v1"
    assert (row["policy_version"], row["policy_hash"]) == (POLICY.version, POLICY.content_hash)
    inputs = json.loads(row["inputs"])
    assert set(inputs) == set(POLICY.input_types)
    assert inputs["tier"] == f"T{row['tier']}"
    assert row["input_hash"] == hashlib.sha256(row["inputs"].encode()).hexdigest()


def test_input_hash_is_equal_for_equal_inputs_and_stable_across_runs() -> None:
    out = by_borrower(run())
    assert out["clean"]["input_hash"] == out["appeal"]["input_hash"]
    assert out["clean"]["input_hash"] != out["debits"]["input_hash"]
    assert run()["input_hash"].to_list() == run()["input_hash"].to_list()


def test_decisions_ignore_event_order_and_future_events() -> None:
    events = portfolio()
    future = pl.DataFrame(
        [ev("debits", -1, "repayment", "auto_debit_attempt", amount=1.0, status="failed")],
        schema=EVENT_SCHEMA,
    )
    baseline = run(events)
    assert run(events.reverse()).equals(baseline)
    assert run(pl.concat([events, future])).equals(baseline)


def test_named_borrowers_without_history_are_decided_too() -> None:
    out = run(borrowers=["nobody", "debits"])
    assert out["borrower_id"].to_list() == ["nobody", "debits"]
    nobody = out.row(0, named=True)
    assert nobody["rule_id"] in ("default", "low-risk")
    assert FREE & set(nobody["manual_channels"])


def test_as_of_must_be_time_zone_aware() -> None:
    with pytest.raises(ValueError, match="time zone"):
        decide(
            portfolio(),
            as_of=datetime(2026, 3, 1),
            model=MODEL,
            bands=BANDS,
            policy=POLICY,
            previous=previous(),
        )
