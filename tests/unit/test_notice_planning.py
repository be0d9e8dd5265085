"""Which notice a change calls for, and how it reads in en and zh-CN (pure: no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from repayguard.decisions import DecisionEngine, load_engine
from repayguard.entitlements import Entitlement, MethodStates
from repayguard.notices import (
    NoticeComposer,
    NoticeKind,
    RetryPolicy,
    signature,
    verify_signature,
)
from repayguard.notices.errors import NoticesMisconfigured
from repayguard.notices.planning import method_changes, plan_activation, plan_change

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHANNELS = ("app_balance", "bank_card", "counter", "bank_transfer")
OPEN = MethodStates("optional", "allowed", "allowed", CHANNELS)
RESTRICTED = MethodStates("mandatory", "restricted", "allowed", CHANNELS)
SEVERE_INPUTS = {
    "tier": "T5",
    "pd": 0.4,
    "dpd_now": 35,
    "max_dpd_90d": 40,
    "failed_debits_30d": 0,
    "on_time_ratio_180d": 0.5,
    "early_repayments_30d": 0,
    "redraws_after_early_30d": 0,
    "utilization": 0.9,
    "open_appeal": False,
    "open_hardship": False,
}


def entitlement(
    states: MethodStates,
    *,
    interim: MethodStates | None = None,
    effective_at: datetime = NOW,
    reasons: tuple[str, ...] = ("DPD_30_PLUS", "HIGH_RISK_TIER"),
    decision_id: str = "d1",
    rule_id: str = "severe-delinquency",
) -> Entitlement:
    return Entitlement(
        borrower_id="B1",
        states=states,
        interim=interim,
        effective_at=effective_at,
        expires_at=NOW + timedelta(days=90),
        review_at=NOW + timedelta(days=30),
        reasons=reasons,
        decision_id=decision_id,
        rule_id=rule_id,
        tier=5,
        tier_since=NOW,
    )


@pytest.fixture(scope="module")
def engine() -> DecisionEngine:
    return load_engine(policy_path=None, model_path=None, bands_path=None)


@pytest.fixture(scope="module")
def composer(engine: DecisionEngine) -> NoticeComposer:
    return NoticeComposer(policy=lambda: engine.compiled, zone=ZoneInfo("Asia/Shanghai"))


def test_a_tightening_still_in_its_notice_period_calls_for_an_advance_notice() -> None:
    pending = entitlement(RESTRICTED, interim=OPEN, effective_at=NOW + timedelta(days=3))

    plan = plan_change(None, pending, defaults=OPEN, now=NOW)

    assert plan is not None
    assert plan.kind == NoticeKind.ADVANCE
    assert plan.effective_at == NOW + timedelta(days=3)
    assert [(c.method, c.before, c.after, c.tightens) for c in plan.changes] == [
        ("auto_debit", "optional", "mandatory", True),
        ("early_repayment", "allowed", "restricted", True),
    ]


def test_a_tightening_in_force_at_once_is_explained_at_once() -> None:
    plan = plan_change(None, entitlement(RESTRICTED), defaults=OPEN, now=NOW)

    assert plan is not None
    assert plan.kind == NoticeKind.EXPLANATION


def test_methods_coming_back_call_for_a_restoration_notice() -> None:
    before = entitlement(RESTRICTED)
    after = entitlement(OPEN, reasons=("LOW_RISK_RESTORED",), decision_id="d2", rule_id="low-risk")

    plan = plan_change(before, after, defaults=OPEN, now=NOW + timedelta(days=40))

    assert plan is not None
    assert plan.kind == NoticeKind.RESTORATION
    assert all(not change.tightens for change in plan.changes)


def test_the_same_change_decided_again_in_its_notice_period_is_not_announced_twice() -> None:
    announced = entitlement(RESTRICTED, interim=OPEN, effective_at=NOW + timedelta(days=3))
    again = replace(announced, decision_id="d2", reasons=("DPD_30_PLUS", "HIGH_UTILIZATION"))
    by_another_rule = replace(again, rule_id="high-risk", reasons=("HIGH_RISK_TIER",))

    later = NOW + timedelta(days=1)

    assert plan_change(announced, again, defaults=OPEN, now=later) is None
    reannounced = plan_change(announced, by_another_rule, defaults=OPEN, now=later)
    assert reannounced is not None
    assert reannounced.kind == NoticeKind.ADVANCE


def test_an_announced_change_that_will_not_happen_is_withdrawn() -> None:
    announced = entitlement(RESTRICTED, interim=OPEN, effective_at=NOW + timedelta(days=3))
    default = entitlement(OPEN, reasons=("DEFAULT_TERMS",), decision_id="d2", rule_id="default")

    plan = plan_change(announced, default, defaults=OPEN, now=NOW + timedelta(days=1))

    assert plan is not None
    assert plan.kind == NoticeKind.WITHDRAWAL
    assert plan.effective_at == NOW + timedelta(days=3)
    assert {c.method for c in plan.changes} == {"auto_debit", "early_repayment"}


def test_a_restriction_set_by_another_rule_is_explained_again_but_reason_drift_is_not() -> None:
    before = entitlement(RESTRICTED)
    other_rule = replace(before, reasons=("HIGH_RISK_TIER",), decision_id="d2", rule_id="high-risk")
    drifted = replace(before, reasons=("DPD_30_PLUS", "HIGH_UTILIZATION"), tier=4, decision_id="d3")

    explained = plan_change(before, other_rule, defaults=OPEN, now=NOW)

    assert explained is not None
    assert explained.kind == NoticeKind.EXPLANATION
    assert explained.changes == ()
    assert plan_change(before, drifted, defaults=OPEN, now=NOW) is None


def test_a_borrower_on_the_default_terms_gets_no_notice() -> None:
    default = entitlement(OPEN, reasons=("DEFAULT_TERMS",), rule_id="default")

    assert plan_change(None, default, defaults=OPEN, now=NOW) is None


def test_activation_explains_what_the_end_of_the_notice_period_took_away() -> None:
    pending = entitlement(RESTRICTED, interim=OPEN, effective_at=NOW + timedelta(days=3))

    plan = plan_activation(pending)

    assert plan is not None
    assert plan.kind == NoticeKind.EXPLANATION
    assert plan.entitlement.interim is None
    assert plan_activation(entitlement(RESTRICTED)) is None, "nothing was pending"


def test_losing_a_manual_channel_is_a_tightening_of_its_own() -> None:
    fewer = replace(OPEN, manual_channels=("app_balance", "bank_card"))

    (change,) = method_changes(OPEN, fewer)

    assert change.method == "manual_channels"
    assert change.tightens


def test_advance_notice_states_the_date_and_reasons_in_both_languages(
    composer: NoticeComposer,
) -> None:
    pending = entitlement(RESTRICTED, interim=OPEN, effective_at=NOW + timedelta(days=3))
    plan = plan_change(None, pending, defaults=OPEN, now=NOW)
    assert plan is not None

    english = composer.render(plan, "en")
    chinese = composer.render(plan, "zh-CN")

    # 12:00 UTC is 20:00 in Beijing, the notices' default time zone.
    assert (
        english.subject
        == "Advance notice: how you can repay changes on 4 March 2026, 20:00 (UTC+08:00)"
    )
    assert "A payment has been overdue for 30 days or more." in english.body
    assert "Early repayment: available → restricted" in english.body
    assert chinese.subject == "预先通知：自2026年3月4日 20:00（UTC+08:00）起您的还款方式将发生变化"
    assert "有还款已逾期30天及以上。" in chinese.body
    assert "提前还款：可用 → 受限" in chinese.body
    assert english.reasons == chinese.reasons == ("DPD_30_PLUS", "HIGH_RISK_TIER")


def test_an_explanation_has_at_most_four_reasons_and_what_would_change_it(
    composer: NoticeComposer,
) -> None:
    many = (
        "DPD_30_PLUS", "HIGH_RISK_TIER", "EARLY_DELINQUENCY", "ELEVATED_RISK_TIER",
        "REPEATED_FAILED_DEBITS",
    )  # fmt: skip
    plan = plan_activation(entitlement(RESTRICTED, interim=OPEN, effective_at=NOW, reasons=many))
    assert plan is not None

    outlook = composer.outlook(plan, SEVERE_INPUTS)
    english = composer.render(plan, "en", outlook)
    chinese = composer.render(plan, "zh-CN", outlook)

    assert english.reasons == many[:4]
    assert "Automatic debits failed" not in english.body
    assert [o.changes for o in outlook] == [(("dpd_now", 35, 29),)]  # tier: not actionable
    assert "If days overdue today were 29 instead of 35, early repayment" in english.body
    assert "如果当前逾期天数为29（目前为35），提前还款的限制将会放宽。" in chinese.body


def test_what_would_change_never_advises_against_the_borrowers_interest(
    composer: NoticeComposer,
) -> None:
    # Three failed debits would switch auto-debit from mandatory to disabled — "looser" for
    # the policy, but no advice to give a borrower; neither is opening an appeal.
    plan = plan_activation(entitlement(RESTRICTED, interim=OPEN))
    assert plan is not None

    inputs = {c[0] for o in composer.outlook(plan, SEVERE_INPUTS) for c in o.changes}

    assert "failed_debits_30d" not in inputs
    assert "open_appeal" not in inputs


def test_templates_of_a_lender_replace_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "restoration.txt.j2").write_text(
        '{% set subject = "Welcome back" %}Back: {{ given | join("; ") }}\n'
    )
    composer = NoticeComposer(
        policy=lambda: load_engine(policy_path=None, model_path=None, bands_path=None).compiled,
        zone=ZoneInfo("UTC"),
        templates_dir=tmp_path,
    )
    plan = plan_change(
        entitlement(RESTRICTED),
        entitlement(OPEN, reasons=("LOW_RISK_RESTORED",), decision_id="d2", rule_id="low-risk"),
        defaults=OPEN,
        now=NOW,
    )
    assert plan is not None

    rendered = composer.render(plan, "en")

    assert rendered.subject == "Welcome back"
    assert rendered.body.startswith("Back: Automatic debit: always on")
    assert composer.render(plan, "zh-CN").subject == "您的还款方式已恢复", "zh-CN is still shipped"


def test_a_broken_template_is_refused_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "advance.txt.j2").write_text("{% if %}\n")
    composer = NoticeComposer(
        policy=lambda: load_engine(policy_path=None, model_path=None, bands_path=None).compiled,
        zone=ZoneInfo("UTC"),
        templates_dir=tmp_path,
    )

    with pytest.raises(NoticesMisconfigured, match=r"advance\.txt\.j2"):
        composer.check_templates()


def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    retry = RetryPolicy(max_attempts=8, base_seconds=30, cap_seconds=300)

    waits = [retry.delay(n).total_seconds() for n in range(1, 7)]

    assert waits == [30, 60, 120, 240, 300, 300]


def test_webhook_signatures_verify_only_for_the_same_secret_body_and_a_fresh_time() -> None:
    secret, body = b"s" * 32, b'{"notice_id":"n1"}'
    stamp = str(int(NOW.timestamp()))
    signed = signature(secret, stamp, body)

    def check(*, key: bytes = secret, content: bytes = body, at: datetime = NOW) -> bool:
        return verify_signature(key, timestamp=stamp, body=content, signature_header=signed, now=at)

    assert signed.startswith("sha256=")
    assert len(signed) == 7 + 64
    assert check()
    assert not check(content=b'{"notice_id":"n2"}')
    assert not check(key=b"t" * 32)
    assert not check(at=NOW + timedelta(minutes=10))
