"""Notices of occasions other than a change of methods (``record_notice``) on a real database:
written in the caller's transaction in each borrower's language, once per borrower, occasion
and kind (the database refuses a second), in the inbox API of their own borrower only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from repayguard import notices
from repayguard.api.app import create_app
from repayguard.bootstrap import Container
from repayguard.identity import AddOperator, CreateToken, add_operator, create_token
from repayguard.notices.models import NoticeRow
from repayguard.platform.clock import FixedClock

from support.common import NOW
from support.notices import inbox, notice_count, notice_settings, open_container, profile, published

FACTS: dict[str, Any] = {
    "case": "case-1",
    "decided": NOW - timedelta(days=1),
    "due": NOW + timedelta(days=15),
    "contested": ["auto_debit"],
    "outcome": "upheld",
}


@pytest.fixture
def container(database_url: str, tmp_path: Path) -> Iterator[Container]:
    with open_container(notice_settings(database_url, tmp_path), FixedClock(NOW)) as built:
        yield built


def tell(
    container: Container,
    borrower: str,
    kind: notices.NoticeKind = notices.NoticeKind.COMPLAINT_RECEIVED,
    occasion: str = "case-1",
    *,
    commit: bool = True,
) -> notices.NoticeRef:
    assert container.notice_setup is not None
    with container.uow() as uow:
        ref = notices.record_notice(
            notices.RecordNotice(borrower, kind, occasion, FACTS, decision_id="d-1"),
            uow=uow,
            setup=container.notice_setup,
        )
        if commit:
            uow.commit()
    return ref


def test_an_occasion_notice_is_in_the_inbox_in_the_borrowers_language(
    container: Container,
) -> None:
    profile(container, "B1", "en")

    english = tell(container, "B1")
    chinese = tell(container, "B2")

    (mine,) = inbox(container, "B1")
    (theirs,) = inbox(container, "B2")
    assert (mine.notice_id, mine.kind, mine.locale, mine.subject) == (
        english.notice_id,
        "complaint_received",
        "en",
        "We received your complaint",
    )
    assert (mine.occasion_id, mine.decision_id, mine.rule_id) == ("case-1", "d-1", None)
    assert "- Automatic debit" in mine.body
    assert "16 March 2026" in mine.body, "dates in the notices' time zone"
    assert [(d.channel, d.status) for d in mine.deliveries] == [("inbox", "delivered")]
    assert (theirs.notice_id, theirs.locale, theirs.subject) == (
        chinese.notice_id,
        "zh-CN",
        "我们已收到您的投诉",
    ), "no profile: the default locale"
    created = [n for m in published(container, notices.NOTICES_CREATED) for n in m["notices"]]
    assert [(n["notice_id"], n["occasion_id"]) for n in created] == [
        (english.notice_id, "case-1"),
        (chinese.notice_id, "case-1"),
    ]


def test_one_notice_per_borrower_occasion_and_kind_however_often_it_is_asked(
    container: Container,
) -> None:
    first = tell(container, "B1")
    again = tell(container, "B1")
    resolved = tell(container, "B1", notices.NoticeKind.COMPLAINT_RESOLVED)
    other_case = tell(container, "B1", occasion="case-2")

    assert again == first, "a replay returns the notice written before"
    assert len({first.notice_id, resolved.notice_id, other_case.notice_id}) == 3
    assert notice_count(container) == 3
    created = [n for m in published(container, notices.NOTICES_CREATED) for n in m["notices"]]
    assert len(created) == 3, "a replay announces nothing"
    with container.uow() as uow:
        told = notices.occasion_notices("B1", ["case-1", "case-2", "case-9"], uow=uow)
    assert [n.kind for n in told["case-1"]] == ["complaint_received", "complaint_resolved"]
    assert [n.notice_id for n in told["case-2"]] == [other_case.notice_id]
    assert "case-9" not in told


def test_the_database_refuses_a_second_notice_of_an_occasion(container: Container) -> None:
    tell(container, "B1")
    with container.session_factory() as session:
        session.add(
            NoticeRow(
                notice_id="f" * 32,
                borrower_id="B1",
                kind="complaint_received",
                decision_id=None,
                rule_id=None,
                occasion_id="case-1",
                locale="en",
                subject="written around record_notice",
                body="-",
                reasons=[],
                changes=[],
                what_would_change=[],
                effective_at=None,
                created_at=NOW,
            )
        )
        with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"):
            session.flush()


def test_a_notice_names_its_occasion_or_its_change(container: Container) -> None:
    with container.session_factory() as session:
        session.add(
            NoticeRow(
                notice_id="e" * 32,
                borrower_id="B1",
                kind="explanation",
                decision_id="d-1",
                rule_id=None,
                occasion_id=None,
                locale="en",
                subject="neither a change nor an occasion",
                body="-",
                reasons=[],
                changes=[],
                what_would_change=[],
                effective_at=None,
                created_at=NOW,
            )
        )
        with pytest.raises(IntegrityError, match=r"(?i)check|change_or_occasion"):
            session.flush()


def test_a_notice_is_written_only_if_the_callers_transaction_commits(
    container: Container,
) -> None:
    tell(container, "B1", commit=False)

    assert notice_count(container) == 0
    assert not list(published(container, notices.NOTICES_CREATED))
    assert tell(container, "B1").notice_id == inbox(container, "B1")[0].notice_id


def test_change_kinds_are_not_recorded_as_occasions(container: Container) -> None:
    with pytest.raises(ValueError, match="written for changes of methods"):
        tell(container, "B1", notices.NoticeKind.EXPLANATION)
    assert notice_count(container) == 0


def test_the_inbox_api_shows_occasion_notices_to_their_own_borrower_only(
    database_url: str, tmp_path: Path
) -> None:
    settings = notice_settings(database_url, tmp_path)
    settings = settings.model_copy(
        update={"security": settings.security.model_copy(update={"auth": "required"})}
    )
    with open_container(settings, FixedClock(NOW)) as container:
        profile(container, "B1", "en")
        ref = tell(container, "B1")
        tell(container, "B2")
        add_operator(AddOperator("agent", "cs_agent"), uow=container.uow())
        agent = create_token(CreateToken("operator", "agent"), uow=container.uow()).secret
        own = create_token(CreateToken("borrower", "B1"), uow=container.uow()).secret
        client = TestClient(create_app(container))

        def get(borrower: str, secret: str, query: str = "") -> tuple[int, Any]:
            response = client.get(
                f"/v1/borrowers/{borrower}/notices{query}",
                headers={"Authorization": f"Bearer {secret}"},
            )
            return response.status_code, response.json()

        mine = get("B1", own, "?kind=complaint_received")
        theirs = get("B2", own)
        as_agent = get("B2", agent)
        other_kind = get("B1", own, "?kind=complaint_resolved")

    assert mine[0] == 200
    (notice,) = mine[1]["notices"]
    assert (notice["notice_id"], notice["kind"], notice["occasion_id"], notice["rule_id"]) == (
        ref.notice_id,
        "complaint_received",
        "case-1",
        None,
    )
    assert (notice["reasons"], notice["changes"], notice["what_would_change"]) == ([], [], [])
    assert theirs[0] == 403
    assert as_agent[0] == 200
    assert [n["subject"] for n in as_agent[1]["notices"]] == ["我们已收到您的投诉"]
    assert other_kind == (200, {"borrower_id": "B1", "notices": []})
