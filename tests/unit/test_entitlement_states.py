"""Method states: what counts as tightening, what applies during a notice period, authorize."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from repayguard.entitlements.errors import ChannelNotDeclared
from repayguard.entitlements.states import Entitlement, MethodStates, interim_states, tightens
from repayguard.entitlements.view import AuthorizeRequest, EntitlementView, decide_authorization

OPEN = MethodStates("optional", "allowed", "allowed", ("app_balance", "bank_card", "counter"))
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def states(**changes: object) -> MethodStates:
    data = OPEN.as_dict() | changes
    return MethodStates.from_dict(data)


@pytest.mark.parametrize(
    ("method", "after", "expected"),
    [
        ("auto_debit", states(auto_debit="disabled"), True),
        ("auto_debit", states(auto_debit="mandatory"), True),
        ("early_repayment", states(early_repayment="restricted"), True),
        ("manual", states(manual="forced"), True),
        ("manual", states(manual_channels=["app_balance"]), True),
        (
            "manual",
            states(manual_channels=["app_balance", "bank_card", "counter", "bank_transfer"]),
            False,
        ),
        ("auto_debit", OPEN, False),
    ],
)
def test_moving_off_the_open_state_or_losing_a_channel_tightens(
    method: str, after: MethodStates, expected: bool
) -> None:
    assert tightens(method, OPEN, after) is expected


def test_returning_to_the_open_state_is_a_loosening() -> None:
    assert not tightens("auto_debit", states(auto_debit="disabled"), OPEN)
    assert not tightens("early_repayment", states(early_repayment="restricted"), OPEN)


def test_during_notice_the_loosened_parts_apply_and_the_tightened_wait() -> None:
    before = states(auto_debit="disabled")
    after = states(auto_debit="optional", early_repayment="restricted")

    interim = interim_states(before, after)

    assert interim.auto_debit == "optional"  # relief at once
    assert interim.early_repayment == "allowed"  # restriction waits for the notice period


def test_an_entitlement_switches_to_its_states_when_the_notice_period_ends() -> None:
    entitlement = Entitlement(
        borrower_id="B1",
        states=states(early_repayment="restricted"),
        interim=OPEN,
        effective_at=NOW + timedelta(days=3),
        expires_at=None,
        review_at=None,
        reasons=("EARLY_REPAY_REDRAW_CYCLING",),
        decision_id="d1",
        rule_id="loan-cycling",
        tier=4,
        tier_since=NOW,
    )
    assert entitlement.states_at(NOW).early_repayment == "allowed"
    assert entitlement.states_at(NOW + timedelta(days=3)).early_repayment == "restricted"
    assert Entitlement.from_payload(entitlement.as_payload()) == entitlement


def test_disabled_auto_debit_is_denied_with_the_manual_channels_as_alternatives() -> None:
    result = decide_authorization(
        states(auto_debit="disabled"),
        AuthorizeRequest("B1", "auto_debit"),
        reasons=("REPEATED_FAILED_DEBITS",),
        decision_id="d1",
    )
    assert not result.allowed
    assert result.reasons == ("REPEATED_FAILED_DEBITS",)
    assert [(a.method, a.channel) for a in result.alternatives] == [
        ("manual", "app_balance"),
        ("manual", "bank_card"),
        ("manual", "counter"),
    ]


def test_a_forced_manual_flow_denies_auto_debit() -> None:
    result = decide_authorization(
        states(manual="forced"), AuthorizeRequest("B1", "auto_debit"), reasons=(), decision_id=None
    )
    assert not result.allowed
    assert result.reasons == ("MANUAL_FLOW_REQUIRED",)


def test_a_channel_not_on_the_list_is_denied_and_the_listed_ones_offered() -> None:
    result = decide_authorization(
        OPEN,
        AuthorizeRequest("B1", "manual", channel="bank_transfer"),
        reasons=(),
        decision_id=None,
    )
    assert not result.allowed
    assert result.reasons == ("CHANNEL_NOT_OFFERED",)
    assert {a.channel for a in result.alternatives} == set(OPEN.manual_channels)


def test_restricted_early_repayment_is_denied_and_allowed_is_allowed() -> None:
    request = AuthorizeRequest("B1", "early_repayment")
    assert not decide_authorization(
        states(early_repayment="restricted"), request, reasons=("X",), decision_id=None
    ).allowed
    assert decide_authorization(OPEN, request, reasons=(), decision_id=None).allowed


def test_the_view_answers_for_unknown_borrowers_from_the_default_terms() -> None:
    view = EntitlementView(defaults=OPEN)
    result = view.authorize(AuthorizeRequest("NEW", "manual"), now=NOW)
    assert result.allowed
    assert result.decision_id is None


def test_a_view_set_to_deny_refuses_every_method_to_a_borrower_never_decided() -> None:
    view = EntitlementView(defaults=OPEN, unknown_borrower="deny")
    for method in ("auto_debit", "early_repayment", "manual"):
        result = view.authorize(AuthorizeRequest("NEW", method), now=NOW)
        assert (result.allowed, result.reasons) == (False, ("NOT_YET_ASSESSED",))
    decided = Entitlement("B1", OPEN, None, NOW, None, None, (), "D1", "default", 1, None)
    view.load([decided])
    assert view.authorize(AuthorizeRequest("B1", "manual"), now=NOW).allowed


def test_a_channel_the_policy_does_not_declare_is_an_error_unless_the_borrower_has_it() -> None:
    view = EntitlementView(defaults=OPEN, channels=(*OPEN.manual_channels, "bank_transfer"))
    offered = view.authorize(AuthorizeRequest("NEW", "manual", channel="bank_transfer"), now=NOW)
    assert (offered.allowed, offered.reasons) == (False, ("CHANNEL_NOT_OFFERED",))
    with pytest.raises(ChannelNotDeclared, match="sepa_transfer"):
        view.authorize(AuthorizeRequest("NEW", "manual", channel="sepa_transfer"), now=NOW)
    # A channel a previous version declared is still on this borrower's list: it is in force.
    kept = states(manual_channels=["sepa_transfer"])
    view.load([Entitlement("B1", kept, None, NOW, None, None, (), "D1", "old", 1, None)])
    assert view.authorize(
        AuthorizeRequest("B1", "manual", channel="sepa_transfer"), now=NOW
    ).allowed
    view.use_defaults(kept, channels=["sepa_transfer"])
    assert view.channels == {"sepa_transfer"}
