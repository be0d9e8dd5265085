"""The notebook API over frames: pandas in pandas out, Polars in Polars out, clear refusals."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import repayguard
from repayguard import resources
from repayguard.core.policy.inputs import InputsInvalid, coerce_inputs
from repayguard.errors import EventsInvalid, InvalidInput, PolicyInputsInvalid

ROWS: list[dict[str, Any]] = [
    {"borrower_id": "B1", "tier": "T1", "pd": 0.01, "dpd_now": 0, "max_dpd_90d": 0,
     "failed_debits_30d": 0, "on_time_ratio_180d": 1.0, "early_repayments_30d": 0,
     "redraws_after_early_30d": 0, "utilization": 0.2, "open_appeal": False,
     "open_hardship": False},
    {"borrower_id": "B2", "tier": "T4", "pd": 0.12, "dpd_now": 12, "max_dpd_90d": 12,
     "failed_debits_30d": 3, "on_time_ratio_180d": 0.7, "early_repayments_30d": 0,
     "redraws_after_early_30d": 0, "utilization": 0.9, "open_appeal": False,
     "open_hardship": False},
    {"borrower_id": "B3", "tier": "T2", "pd": 0.03, "dpd_now": 45, "max_dpd_90d": 45,
     "failed_debits_30d": 0, "on_time_ratio_180d": 0.8, "early_repayments_30d": 0,
     "redraws_after_early_30d": 0, "utilization": 0.5, "open_appeal": False,
     "open_hardship": False},
    {"borrower_id": "B4", "tier": "T3", "pd": 0.05, "dpd_now": None, "max_dpd_90d": 0,
     "failed_debits_30d": 0, "on_time_ratio_180d": None, "early_repayments_30d": 2,
     "redraws_after_early_30d": 2, "utilization": 0.4, "open_appeal": True,
     "open_hardship": False},
]  # fmt: skip
EVENTS: list[dict[str, Any]] = [
    {"event_id": "e1", "type": "loan", "kind": "drawdown", "borrower_id": "B1",
     "loan_id": "L1", "occurred_at": "2026-01-05T09:00:00Z", "amount": 1200.0},
    {"event_id": "e2", "type": "credit_report", "borrower_id": "B1",
     "occurred_at": "2026-01-06T09:00:00Z", "score": 720.0, "inquiries": 1,
     "external_debt": 0.0},
    {"event_id": "e3", "type": "loan", "kind": "drawdown", "borrower_id": "B2",
     "loan_id": "L2", "occurred_at": "2026-01-10T09:00:00Z", "amount": 900.0},
    *({"event_id": f"f{i}", "type": "repayment", "kind": "auto_debit_attempt",
       "borrower_id": "B2", "loan_id": "L2", "occurred_at": f"2026-02-1{i}T06:00:00Z",
       "amount": 300.0, "status": "failed"} for i in range(3)),
    {"event_id": "late", "type": "loan", "kind": "drawdown", "borrower_id": "B9",
     "loan_id": "L9", "occurred_at": "2026-03-01T09:00:00Z", "amount": 50.0},
]  # fmt: skip
AS_OF = date(2026, 2, 20)


@pytest.fixture(scope="module")
def policy() -> repayguard.FramePolicy:
    return repayguard.load_policy()


def test_polars_in_polars_out_decides_as_policy_eval_decides_each_line(
    policy: repayguard.FramePolicy,
) -> None:
    out = policy.evaluate(pl.DataFrame(ROWS))
    assert isinstance(out, pl.DataFrame)
    assert out.columns[:2] == ["borrower_id", "rule_id"]
    for row, decided in zip(ROWS, out.iter_rows(named=True), strict=True):
        expected = policy.compiled.evaluate_row(coerce_inputs(policy.document, row)).as_dict()
        assert {k: decided[k] for k in expected} == expected
    assert out["rule_id"].to_list()[1] == "failed-debits"


def test_pandas_in_pandas_out_keeps_the_index_and_gives_lists(
    policy: repayguard.FramePolicy,
) -> None:
    frame = pd.DataFrame(ROWS, index=[10, 20, 30, 40])
    out = policy.evaluate(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == [10, 20, 30, 40]
    assert isinstance(out.loc[20, "manual_channels"], list)
    assert out["reasons"].list.len().tolist() == [1, 1, 1, 1]  # Arrow-backed list columns
    assert out.loc[20, "reasons"] == ["REPEATED_FAILED_DEBITS"]
    same = policy.evaluate(pl.DataFrame(ROWS))
    assert out["rule_id"].tolist() == same["rule_id"].to_list()
    assert (
        frame.join(out.drop(columns="borrower_id"))["rule_id"].tolist() == same["rule_id"].to_list()
    )


def test_pandas_categorical_and_nullable_dtypes_decide_like_plain_values(
    policy: repayguard.FramePolicy,
) -> None:
    frame = pd.DataFrame(ROWS)
    frame["tier"] = frame["tier"].astype("category")
    frame["dpd_now"] = frame["dpd_now"].astype("Int64")  # pd.NA for B4
    frame["open_appeal"] = frame["open_appeal"].astype("boolean")
    frame["borrower_id"] = frame["borrower_id"].astype("string")
    out = policy.evaluate(frame)
    plain = policy.evaluate(pl.DataFrame(ROWS))
    assert out["rule_id"].tolist() == plain["rule_id"].to_list()
    assert out["borrower_id"].tolist() == ["B1", "B2", "B3", "B4"]
    assert out.loc[3, "rule_id"] == "appeal-freeze"
    assert bool(out.loc[3, "keep"]) is True


def test_a_pyarrow_table_comes_back_as_a_pyarrow_table(policy: repayguard.FramePolicy) -> None:
    out = policy.evaluate(pa.Table.from_pylist(ROWS))
    assert isinstance(out, pa.Table)
    assert (
        out.column("rule_id").to_pylist()
        == policy.evaluate(pl.DataFrame(ROWS))["rule_id"].to_list()
    )


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_a_frame_missing_a_column_the_policy_tests_is_refused_naming_it(
    policy: repayguard.FramePolicy, kind: str
) -> None:
    frame: Any = pd.DataFrame(ROWS) if kind == "pandas" else pl.DataFrame(ROWS)
    frame = frame.drop(columns=["dpd_now"]) if kind == "pandas" else frame.drop("dpd_now")
    with pytest.raises(PolicyInputsInvalid) as refused:
        policy.evaluate(frame)
    assert refused.value.message == (
        "the frame lacks column(s) 'dpd_now', which policy 'cn-consumer-credit-line' needs"
    )
    assert refused.value.detail["errors"] == {"dpd_now": "missing column"}
    assert refused.value.hint is not None
    assert "dpd_now" in refused.value.hint


def test_a_column_of_the_wrong_type_is_refused_naming_it(policy: repayguard.FramePolicy) -> None:
    frame = pl.DataFrame(ROWS).with_columns(pl.col("dpd_now").cast(pl.String))
    with pytest.raises(PolicyInputsInvalid, match="dpd_now holds String values; the policy "
                       "declares it integer"):  # fmt: skip
        policy.evaluate(frame)


def test_values_that_do_not_fit_are_refused_by_row_with_policy_evals_reasons(
    policy: repayguard.FramePolicy,
) -> None:
    rows = [dict(r) for r in ROWS]
    rows[1]["tier"] = "T9"
    rows[2]["dpd_now"] = -3
    rows[3]["utilization"] = float("inf")
    with pytest.raises(PolicyInputsInvalid) as refused:
        policy.evaluate(pd.DataFrame(rows))
    found = refused.value.detail["rows"]
    assert [(r["row"], r["input"]) for r in found] == [
        (1, "tier"), (2, "dpd_now"), (3, "utilization"),
    ]  # fmt: skip
    for r in found:
        with pytest.raises(InputsInvalid) as row_form:
            coerce_inputs(policy.document, rows[r["row"]])
        assert row_form.value.errors[r["input"]] == r["reason"]
    assert refused.value.message.startswith("3 row(s) do not fit policy")


def test_what_is_not_an_eager_frame_is_a_type_error(policy: repayguard.FramePolicy) -> None:
    with pytest.raises(TypeError, match=r"must be a DataFrame .* not list"):
        policy.evaluate(ROWS)
    with pytest.raises(TypeError, match=r"LazyFrame: call \.collect\(\) on it first"):
        policy.evaluate(pl.DataFrame(ROWS).lazy())


def test_explain_says_per_row_what_decided_and_what_would_change(
    policy: repayguard.FramePolicy,
) -> None:
    out = policy.explain(pd.DataFrame(ROWS), locale="zh-CN")
    assert isinstance(out, pd.DataFrame)
    assert out["rule_id"].tolist() == policy.evaluate(pl.DataFrame(ROWS))["rule_id"].to_list()
    b2 = out.iloc[1]
    assert b2["why"] == "failed_debits_30d: 3 >= 3: yes"
    assert b2["reasons"] == ["REPEATED_FAILED_DEBITS"]
    assert len(b2["reason_texts"]) == 1
    assert b2["reason_texts"][0] != "REPEATED_FAILED_DEBITS"
    assert b2["what_would_change"][0] == (
        "dpd_now 12 → 0, failed_debits_30d 3 → 2: default loosens auto_debit, manual"
    )
    changes, why_none = out["what_would_change"].tolist(), out["why_none"].tolist()
    for change, why in zip(changes, why_none, strict=True):  # a suggestion or why not, not both
        assert bool(change) != isinstance(why, str)
    with pytest.raises(InvalidInput, match="unknown locale"):
        policy.explain(pd.DataFrame(ROWS), locale="fr")


def test_decide_gives_the_same_entitlements_for_pandas_and_polars_events() -> None:
    pandas_out = repayguard.decide(pd.DataFrame(EVENTS), as_of=AS_OF)
    polars_out = repayguard.decide(pl.DataFrame(EVENTS), as_of=AS_OF)
    assert isinstance(pandas_out, pd.DataFrame)
    assert isinstance(polars_out, pl.DataFrame)
    # B9's only event is after as_of: not decided yet.
    assert polars_out["borrower_id"].to_list() == ["B1", "B2"]
    assert pandas_out["input_hash"].tolist() == polars_out["input_hash"].to_list()
    assert polars_out["rule_id"].to_list()[1] == "failed-debits"
    assert polars_out["as_of"].dt.date().to_list() == [AS_OF, AS_OF]


def test_decide_keeps_current_methods_given_in_previous_while_an_appeal_is_open() -> None:
    previous = pd.DataFrame(
        {"borrower_id": ["B2"], "tier": [2], "auto_debit": ["optional"],
         "early_repayment": ["allowed"], "manual": ["allowed"],
         "manual_channels": [["app_balance", "bank_card"]], "open_appeal": [True]}
    )  # fmt: skip
    out = repayguard.decide(pl.DataFrame(EVENTS), as_of=AS_OF, previous=previous)
    b2 = out.row(1, named=True)
    assert (b2["rule_id"], b2["auto_debit"], b2["manual_channels"]) == (
        "appeal-freeze", "optional", ["app_balance", "bank_card"],
    )  # fmt: skip


def test_decide_with_another_policy_names_it_in_the_lineage() -> None:
    us = repayguard.load_policy("us-example")
    out = repayguard.decide(pl.DataFrame(EVENTS), as_of=AS_OF, policy=us)
    assert set(out["policy_hash"].to_list()) == {us.content_hash}


def test_bad_events_are_refused_with_position_and_the_reason_ingest_gives() -> None:
    rows = [dict(e) for e in EVENTS]
    rows[2]["amount"] = -5.0
    rows[4]["occurred_at"] = "2026-02-11T06:00:00"
    with pytest.raises(EventsInvalid) as refused:
        repayguard.decide(pd.DataFrame(rows), as_of=AS_OF)
    rejections = refused.value.detail["rejections"]
    assert [(r["row"], r["errors"][0]["field"]) for r in rejections] == [
        (2, "amount"), (4, "occurred_at"),
    ]  # fmt: skip
    assert "timestamp needs a time zone" in rejections[1]["errors"][0]["reason"]
    assert refused.value.message.startswith("2 of 7 event(s) are invalid: row 2: amount:")


def test_whole_numbers_pandas_holds_as_floats_are_accepted_as_integers() -> None:
    frame = pd.DataFrame(EVENTS)
    assert frame["inquiries"].dtype == "float64"  # NaN beside the one credit report
    features = repayguard.features(frame, as_of=AS_OF)
    assert features.set_index("borrower_id").loc["B1", "inquiries_90d"] == 1
    frame.loc[1, "inquiries"] = 1.5
    with pytest.raises(EventsInvalid, match="row 1: inquiries"):
        repayguard.features(frame, as_of=AS_OF)


def test_load_policy_takes_a_shipped_name_or_a_file_and_refuses_anything_else(
    tmp_path: Path,
) -> None:
    assert repayguard.load_policy("eu-example").source == "shipped:eu-example"
    path = tmp_path / "mine.yaml"
    path.write_text(resources.read_text("policies/us-example.yaml"), encoding="utf-8")
    mine = repayguard.load_policy(path)
    assert (mine.name, mine.version, mine.source) == ("us-consumer-credit-example", "draft",
                                                      str(path))  # fmt: skip
    with pytest.raises(InvalidInput, match="neither a policy file nor a shipped policy"):
        repayguard.load_policy("nope.yaml")
    with pytest.raises(InvalidInput, match="read from a data directory"):
        repayguard.load_policy(version=2)


def test_importing_repayguard_loads_nothing_until_the_api_is_used() -> None:
    code = (
        "import sys, repayguard\n"
        "assert 'polars' not in sys.modules and 'repayguard.notebook' not in sys.modules\n"
        "repayguard.load_policy\n"
        "assert 'repayguard.notebook' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
