"""The reason catalog: complete in every locale, at most four principal reasons."""

from __future__ import annotations

import pytest

from repayguard.core.policy import load_policy
from repayguard.core.reasons import CATALOG, LOCALES, Reason, UnknownReasonCode, explain, principal
from repayguard.entitlements.view import CHANNEL_NOT_OFFERED, MANUAL_FLOW_REQUIRED, NOT_YET_ASSESSED
from repayguard.resources import read_text


def test_every_code_has_a_text_in_every_locale() -> None:
    for code, texts in CATALOG.items():
        assert set(texts) == set(LOCALES), code
        assert all(text.strip() for text in texts.values()), code


@pytest.mark.parametrize(
    "code",
    [
        "REPEATED_FAILED_DEBITS",
        "DPD_30_PLUS",
        "HIGH_RISK_TIER",
        "EARLY_REPAY_REDRAW_CYCLING",
        "LOW_RISK_RESTORED",
        "DEFAULT_TERMS",
    ],
)
def test_policy_reasons_are_in_the_catalog(code: str) -> None:
    assert code in CATALOG


@pytest.mark.parametrize("code", [NOT_YET_ASSESSED, MANUAL_FLOW_REQUIRED, CHANNEL_NOT_OFFERED])
def test_the_reasons_authorize_gives_itself_are_in_the_catalog(code: str) -> None:
    """Authorize explains its denials with these; one missing would make the API answer 500."""
    assert code in CATALOG


def test_explain_gives_plain_text_in_the_requested_language() -> None:
    assert explain(["DPD_30_PLUS"], "en") == [
        Reason("DPD_30_PLUS", "A payment has been overdue for 30 days or more.")
    ]
    assert explain(["DPD_30_PLUS"], "zh-CN")[0].text == "有还款已逾期30天及以上。"


def test_explain_keeps_order_drops_repeats_and_stops_at_four() -> None:
    codes = [
        "DPD_NOW",
        "DPD_NOW",
        "HIGH_RISK_TIER",
        "LOW_BALANCE",
        "DEVICE_CHANGES_30D",
        "DEFAULT_TERMS",
    ]
    assert [r.code for r in explain(codes, "en")] == [
        "DPD_NOW",
        "HIGH_RISK_TIER",
        "LOW_BALANCE",
        "DEVICE_CHANGES_30D",
    ]
    assert principal(codes, limit=2) == ["DPD_NOW", "HIGH_RISK_TIER"]


def test_unknown_codes_and_locales_are_errors() -> None:
    with pytest.raises(UnknownReasonCode):
        explain(["NOT_A_CODE"], "en")
    with pytest.raises(ValueError, match="locale"):
        explain(["DPD_NOW"], "fr")


def test_every_reason_of_the_shipped_policy_can_be_explained() -> None:
    policy = load_policy(read_text("policies/cn-default.yaml"))
    for row in policy.rows:
        for locale in LOCALES:
            assert len(explain(row.reasons, locale)) == len(set(row.reasons))


def test_model_texts_cover_codes_outside_the_catalog() -> None:
    extra = {"DEBT": {"en": "Debt is high.", "zh-CN": "负债较高。"}}
    assert explain(["DEBT", "DPD_NOW"], "zh-CN", extra) == [
        Reason("DEBT", "负债较高。"),
        Reason("DPD_NOW", "您目前有一期还款已逾期。"),
    ]
    with pytest.raises(UnknownReasonCode):
        explain(["DEBT"], "en")


def test_codes_the_authorize_api_gives_are_in_the_catalog() -> None:
    for code in ("NOT_YET_ASSESSED", "MANUAL_FLOW_REQUIRED"):
        assert [r.code for r in explain([code], "zh-CN")] == [code]
