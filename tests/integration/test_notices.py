"""Notices on a real database: advance notice, then the explanation once the notice period is
over; restoration, withdrawal, expiry; each borrower's language; exactly once; the inbox API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from repayguard import entitlements
from repayguard.api.app import create_app
from repayguard.bootstrap import Container
from repayguard.identity import AddOperator, CreateToken, add_operator, create_token
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.common import NOW
from support.notices import (
    decide,
    failed_debits,
    inbox,
    ingest,
    notice_count,
    notice_settings,
    one_pass,
    open_container,
    profile,
    published,
)


@pytest.fixture
def setup(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, FixedClock]]:
    clock = FixedClock(NOW)
    with open_container(notice_settings(database_url, tmp_path), clock) as container:
        yield container, clock


def test_a_restriction_is_announced_then_explained_when_it_takes_effect(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    profile(container, "B1", "zh-CN")
    ingest(container, failed_debits("B1", NOW, [5, 4, 3]))

    (advance,) = inbox(container, "B1")
    clock.advance(timedelta(days=13, hours=23))
    early = one_pass(container)
    clock.advance(timedelta(hours=1))
    due = one_pass(container)
    notices = inbox(container, "B1")

    assert advance.kind == "advance"
    assert advance.locale == "zh-CN"
    assert advance.effective_at == NOW + timedelta(days=14)
    assert "自2026年3月15日 20:00（UTC+08:00）起" in advance.body
    assert "自动扣款多次失败" in advance.body, "the reason, in plain Chinese"
    assert [(d.channel, d.status) for d in advance.deliveries] == [("inbox", "delivered")]
    assert early["entitlements.activate"].counts == {"activated": 0}
    assert due["entitlements.activate"].counts == {"activated": 1}
    assert [n.kind for n in notices] == ["advance", "explanation"]
    explanation = notices[1]
    assert explanation.locale == "zh-CN"
    assert explanation.reasons[0] == "REPEATED_FAILED_DEBITS", "the policy row's reason first"
    assert 1 <= len(explanation.reasons) <= 4
    assert explanation.what_would_change == (
        {
            "changes": [{"input": "failed_debits_30d", "before": 3, "after": 2}],
            "loosens": ["early_repayment"],
        },
    )
    assert "如果近30天自动扣款失败次数为2（目前为3），提前还款的限制将会放宽。" in explanation.body
    with container.session_factory() as session:
        (now_in_force,) = entitlements.load(session, ["B1"]).values()
    assert now_in_force.interim is None, "the restriction is marked active"


def decided_again(container: Container, borrower: str, at: datetime, reasons: list[str]) -> None:
    """The borrower decided again with the same outcome and other secondary reasons (as a
    model's reasons drift with time), applied as the decision service applies decisions."""
    with container.uow() as unit:
        current = entitlements.current_frame(unit.session, [borrower])
        found = entitlements.load(unit.session, [borrower])[borrower]
        decision = pl.DataFrame(
            {
                "borrower_id": [borrower],
                "as_of": [at],
                **{k: [v] for k, v in found.states.as_dict().items()},
                "reasons": [reasons],
                "tier": [found.tier],
                "tier_since": [found.tier_since],
                "notice_days": [14],
                "max_days": [30],
                "review_after_days": [14],
                "decision_id": [uuid.uuid4().hex],
                "rule_id": [found.rule_id],
                "requires_approval": [False],
            }
        )
        applied = entitlements.apply_decisions(
            unit.session,
            decision,
            current=current,
            defaults=container.decision_engine.defaults,
            now=at,
        )
        for message in entitlements.change_messages("again", applied.changed, told_at=at):
            unit.emit(message)
        unit.commit()


def test_deciding_the_same_change_again_neither_restarts_nor_reannounces_it(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    ingest(container, failed_debits("B1", NOW, [5, 4, 3]))
    with container.session_factory() as session:
        (announced,) = entitlements.load(session, ["B1"]).values()
    clock.advance(timedelta(days=5))

    decided_again(container, "B1", clock.now(), ["REPEATED_FAILED_DEBITS", "LOW_BALANCE"])
    with container.session_factory() as session:
        (again,) = entitlements.load(session, ["B1"]).values()
    clock.advance(timedelta(days=9))
    one_pass(container)
    notices = inbox(container, "B1")

    assert again.decision_id != announced.decision_id
    assert again.reasons == ("REPEATED_FAILED_DEBITS", "LOW_BALANCE")
    assert (again.interim, again.effective_at) == (announced.interim, NOW + timedelta(days=14))
    assert again.expires_at == announced.expires_at == NOW + timedelta(days=30)
    assert [n.kind for n in notices] == ["advance", "explanation"]
    assert notices[1].decision_id == again.decision_id


def test_the_explanation_is_written_once_however_often_activation_is_seen(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    ingest(container, failed_debits("B1", NOW, [5, 4, 3]))
    clock.advance(timedelta(days=15))
    one_pass(container)
    before = notice_count(container)
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    (activated,) = [m for m in bus.published if m.name == entitlements.ENTITLEMENTS_ACTIVATED]
    changed = [m for m in bus.published if m.name == entitlements.ENTITLEMENTS_CHANGED]

    clock.advance(timedelta(minutes=5))
    again = one_pass(container)
    bus.publish(activated)
    for message in changed:
        bus.publish(message)

    assert before == 2
    assert again["entitlements.activate"].counts == {"activated": 0}
    assert notice_count(container) == 2


def test_an_immediate_restriction_is_explained_at_once_in_the_default_language(
    setup: tuple[Container, FixedClock],
) -> None:
    container, _ = setup
    ingest(container, failed_debits("B3", NOW, [5, 4, 3, 2]))

    (explanation,) = inbox(container, "B3")

    assert explanation.kind == "explanation"
    assert explanation.locale == "zh-CN", "no profile: the configured default language"
    assert {c["method"] for c in explanation.changes} == {"auto_debit", "early_repayment"}
    assert explanation.subject == "您的还款方式变化说明"


def test_methods_coming_back_bring_a_restoration_notice(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    profile(container, "B4", "en")
    ingest(container, failed_debits("B4", NOW, [8, 7, 6, 5]))
    clock.advance(timedelta(days=26))  # the failed debits leave the 30-day window

    decide(container, "B4")
    notices = inbox(container, "B4")

    assert [n.kind for n in notices] == ["explanation", "restoration"]
    restoration = notices[1]
    assert restoration.subject == "Repayment methods available to you again"
    assert "Automatic debit: stopped → available, on or off as you choose" in restoration.body
    assert restoration.reasons[0] == "DEFAULT_TERMS"
    assert restoration.what_would_change == ()


def test_an_announced_restriction_that_no_longer_applies_is_withdrawn(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    profile(container, "B2", "en")
    ingest(container, failed_debits("B2", NOW, [29, 4, 3]))
    clock.advance(timedelta(days=2))  # the oldest failed debit leaves the window

    decide(container, "B2")
    clock.advance(timedelta(days=13))
    one_pass(container)
    notices = inbox(container, "B2")

    assert [n.kind for n in notices] == ["advance", "withdrawal"]
    assert notices[1].subject == "A change we announced will not happen"
    assert "That change will not happen." in notices[1].body
    with container.session_factory() as session:
        (entitlement,) = entitlements.load(session, ["B2"]).values()
    assert entitlement.states.early_repayment == "allowed"


def test_a_review_confirms_a_restriction_and_its_expiry_restores_the_methods(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    profile(container, "B3", "en")
    ingest(container, failed_debits("B3", NOW, [5, 4, 3, 2]))

    clock.advance(timedelta(days=10))
    review = one_pass(container)["entitlements.review"]
    with container.session_factory() as session:
        (reviewed,) = entitlements.load(session, ["B3"]).values()
    clock.advance(timedelta(days=10))
    expiry = one_pass(container)["entitlements.review"]
    with container.session_factory() as session:
        (restored,) = entitlements.load(session, ["B3"]).values()
    notices = inbox(container, "B3")

    # The re-decision keeps the restriction (its model reasons may drift, so it may rewrite it
    # or leave it and confirm it); either way it is not extended past its expiry.
    assert review.counts["due"] == 1
    assert review.counts["changed"] + review.counts["confirmed"] == 1
    assert review.counts["restored"] == 0
    assert reviewed.states.auto_debit == "disabled"
    assert reviewed.expires_at == NOW + timedelta(days=20), "max_days counts from the start"
    assert reviewed.review_at == NOW + timedelta(days=20), "next review: never after expiry"
    assert expiry.counts["restored"] == 1
    assert restored.states == container.decision_engine.defaults
    assert restored.reasons == (entitlements.RESTRICTION_EXPIRED,)
    assert restored.rule_id == entitlements.EXPIRY_RULE
    assert restored.expires_at is None
    assert restored.review_at is None
    assert [n.kind for n in notices] == ["explanation", "restoration"]
    assert "The time limit of the earlier restriction has passed" in notices[1].body
    changes = [
        p["cause"] for p in published(container, "repayguard.entitlements.changed") if "cause" in p
    ]
    assert changes[-1] == "expiry"


def test_the_inbox_api_shows_own_notices_only_and_errors_only_to_operators(
    database_url: str, tmp_path: Path
) -> None:
    settings = notice_settings(database_url, tmp_path)
    settings = settings.model_copy(
        update={"security": settings.security.model_copy(update={"auth": "required"})}
    )
    with open_container(settings, FixedClock(NOW)) as container:
        profile(container, "B1", "en")
        ingest(container, failed_debits("B1", NOW, [5, 4, 3, 2]))
        ingest(container, failed_debits("B2", NOW, [5, 4, 3, 2]))
        add_operator(AddOperator("agent", "cs_agent"), uow=container.uow())
        agent = create_token(CreateToken("operator", "agent"), uow=container.uow()).secret
        own = create_token(CreateToken("borrower", "B1"), uow=container.uow()).secret
        client = TestClient(create_app(container))

        def get(borrower: str, secret: str, query: str = "") -> tuple[int, dict[str, object]]:
            response = client.get(
                f"/v1/borrowers/{borrower}/notices{query}",
                headers={"Authorization": f"Bearer {secret}"},
            )
            return response.status_code, response.json()

        mine = get("B1", own)
        theirs = get("B2", own)
        as_agent = get("B2", agent)
        filtered = get("B1", own, "?kind=restoration")

    assert mine[0] == 200
    (notice,) = mine[1]["notices"]  # type: ignore[misc]
    assert notice["kind"] == "explanation"
    assert notice["locale"] == "en"
    assert notice["reasons"][0] == {
        "code": "REPEATED_FAILED_DEBITS",
        "text": "Automatic debits failed repeatedly, so we stopped them to spare you "
        "failed-debit fees; please repay through a free manual channel.",
    }
    assert notice["deliveries"][0]["channel"] == "inbox"
    assert theirs[0] == 403
    assert "B2" not in str(theirs[1].get("extra", ""))
    assert as_agent[0] == 200
    assert len(as_agent[1]["notices"]) == 1  # type: ignore[arg-type]
    assert filtered == (200, {"borrower_id": "B1", "notices": []})
