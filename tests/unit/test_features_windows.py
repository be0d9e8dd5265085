"""The features added for risk models, and how early repayments count towards instalments."""

from __future__ import annotations

from typing import Any

import pytest
from test_features import due, ev, features_of, paid

from repayguard.core.features import FEATURE_BY_NAME, FEATURES
from repayguard.core.reasons import CATALOG


def inflow(days_ago: float, amount: float, balance: float | None = None) -> dict[str, Any]:
    return ev(days_ago, "transaction", "inflow", amount=amount, balance=balance or amount)


def report(days_ago: float, score: float, debt: float = 0.0) -> dict[str, Any]:
    return ev(days_ago, "credit_report", "report", score=score, inquiries=0, external_debt=debt)


def test_an_early_repayment_prepays_principal_and_covers_no_instalment() -> None:
    f = features_of(paid(50, 3000.0, early=True), due(40, 100.0))
    assert f["dpd_now"] == 40


def test_an_ordinary_payment_made_before_the_due_still_covers_it() -> None:
    f = features_of(paid(41, 100.0), due(40, 100.0))
    assert f["dpd_now"] == 0


def test_early_repayments_still_reduce_utilization() -> None:
    f = features_of(
        ev(60, "loan", "limit_change", amount=1000.0),
        ev(50, "loan", "drawdown", amount=800.0),
        paid(10, 400.0, early=True),
    )
    assert f["utilization"] == pytest.approx(0.4)


def test_inflow_trend_compares_the_last_month_with_the_last_three() -> None:
    steady = features_of(inflow(80, 3000.0), inflow(50, 3000.0), inflow(20, 3000.0))
    falling = features_of(inflow(80, 3000.0), inflow(50, 3000.0), inflow(20, 600.0))
    assert steady["inflow_trend_90d"] == pytest.approx(1.0)
    assert falling["inflow_trend_90d"] == pytest.approx(600.0 / (6600.0 / 3))


def test_inflow_trend_is_null_without_inflows_in_90_days() -> None:
    assert features_of(inflow(120, 3000.0))["inflow_trend_90d"] is None


def test_balance_volatility_is_the_spread_of_readings_relative_to_their_level() -> None:
    f = features_of(inflow(60, 100.0, 1000.0), inflow(30, 100.0, 3000.0))
    spread = 1414.213562373095  # sample standard deviation of 1000 and 3000
    assert f["balance_volatility_90d"] == pytest.approx(spread / 2001.0)


def test_balance_volatility_needs_two_readings_in_90_days() -> None:
    assert (
        features_of(inflow(100, 1.0, 500.0), inflow(3, 1.0, 800.0))["balance_volatility_90d"]
        is None
    )


def test_bureau_score_change_and_external_debt_come_from_the_latest_reports() -> None:
    f = features_of(report(200, 720.0), report(100, 700.0, 50.0), report(10, 640.0, 9000.0))
    assert (f["bureau_score_change"], f["external_debt"]) == (-60.0, 9000.0)
    assert features_of(report(10, 640.0))["bureau_score_change"] is None


def test_contact_changes_are_counted_within_30_days() -> None:
    f = features_of(
        ev(2, "behaviour", "contact_change"),
        ev(29, "behaviour", "contact_change"),
        ev(31, "behaviour", "contact_change"),
    )
    assert f["contact_changes_30d"] == 2


def test_every_feature_declares_its_reason_in_both_languages() -> None:
    for spec in FEATURES:
        assert spec.reason_en.strip(), spec.name
        assert spec.reason_zh.strip(), spec.name
        assert CATALOG[spec.reason_code] == {"en": spec.reason_en, "zh-CN": spec.reason_zh}
        assert spec.risk_direction in (-1, 0, 1)
        assert spec.description.strip()


def test_reason_codes_of_features_are_distinct() -> None:
    codes = [spec.reason_code for spec in FEATURES]
    assert len(set(codes)) == len(codes)
    assert FEATURE_BY_NAME["bureau_score"].risk_direction == -1
