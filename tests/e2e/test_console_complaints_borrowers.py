"""The console's complaint and borrower pages, used like a browser: operators log in with a
password, forms carry the page's CSRF token, and each role sees and may do only what the
permission map gives it — through the same use-cases as the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from repayguard import approvals, complaints
from repayguard.api.app import create_app
from repayguard.audit import AuditQuery, recent_records
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers import PROFILE_VIEWED, SaveProfile, save_profile
from repayguard.identity import CreateToken, create_token
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import make_team
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.complaints import STATEMENT, file, published
from support.console import csrf_of, logged_in
from support.notices import NOTICE_POLICY, failed_debits

CASE_URL = "/console/complaints/{}"


@dataclass
class Console:
    """The application, its container, and a browser per operator."""

    app: FastAPI
    container: Container
    clock: FixedClock
    team: dict[str, str]
    """username → operator id."""

    def browser(self, username: str) -> TestClient:
        """A browser in which ``username`` has logged in (the session cookie is kept)."""
        return logged_in(self.app, self.container, username)


def _open(
    database_url: str, tmp_path: Path, clock: FixedClock, **decisions: object
) -> Iterator[Console]:
    settings = make_settings(database_url, tmp_path, auth="required", **decisions)
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        team = make_team(container)
        yield Console(create_app(container), container, clock, team)


@pytest.fixture
def console(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Console]:
    """B1's auto-debits keep failing (restricted at once); B2 pays on time."""
    for built in _open(database_url, tmp_path, clock):
        events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
        ingest_events(
            IngestEvents(events, source="t"),
            uow=built.container.uow(),
            setup=built.container.ingest,
        )
        yield built


def flash_of(page: Response) -> str:
    found = re.search(r'<p class="flash" role="status">([^<]*)</p>', page.text)
    assert found is not None, "the page shows no flash"
    return found.group(1)


def resolve(http: TestClient, complaint_id: str, **fields: str) -> tuple[Response, Response | None]:
    """Send the case page's resolve form as the browser would; the page redirected to."""
    page = http.get(CASE_URL.format(complaint_id))
    sent = http.post(
        f"{CASE_URL.format(complaint_id)}/resolve", data={"csrf": csrf_of(page), **fields}
    )
    if sent.status_code != 303:
        return sent, None
    return sent, http.get(sent.headers["location"])


def test_the_queue_lists_a_filed_complaint_with_its_due_date(console: Console) -> None:
    case = file(console.container, "B1")
    cara = console.browser("cara")

    queue = cara.get("/console/complaints")

    assert queue.status_code == 200
    assert case.complaint_id[:8] in queue.text
    assert 'href="/console/borrowers/B1"' in queue.text
    assert "Auto-debit" in queue.text
    assert "in 15 days" in queue.text, "the SLA deadline, relative to now"
    assert 'class="late"' not in queue.text
    closed = cara.get("/console/complaints", params={"status": "closed"})
    assert case.complaint_id[:8] not in closed.text
    assert "No closed complaints" in closed.text
    console.clock.advance(timedelta(days=16))
    cara = console.browser("cara")  # the session did not last 16 days

    late = cara.get("/console/complaints", params={"overdue": "true"})

    assert '<tr class="late">' in late.text
    assert "1 day ago" in late.text
    assert 'class="badge overdue"' in late.text


def test_the_case_page_shows_the_statement_lineage_and_reasons(console: Console) -> None:
    case = file(console.container, "B1")
    cara = console.browser("cara")

    page = cara.get(CASE_URL.format(case.complaint_id))

    assert page.status_code == 200
    assert STATEMENT in page.text
    assert "recorded on the audit trail" in page.text
    viewed = published(console.container, complaints.COMPLAINT_VIEWED)
    assert [v["purpose"] for v in viewed] == ["complaint_review"]
    for lineage in ("failed-debits", "expert-v1", "version 1", "tier T"):
        assert lineage in page.text
    assert "REPEATED_FAILED_DEBITS" in page.text
    assert "failed-debit fees" in page.text, "the reason in English"
    assert "自动扣款多次失败" in page.text, "the reason in Chinese"
    assert "What would change the outcome" in page.text
    assert "<summary>How the policy decided" in page.text
    assert "failed_debits_30d" in page.text
    assert "complaint received" in page.text, "the notice the borrower was sent"
    assert 'action="/console/complaints/' in page.text, "an agent may resolve"
    assert "maker-checker" in page.text


def test_an_agent_upholds_through_the_form_and_the_case_closes(console: Console) -> None:
    case = file(console.container, "B1")
    cara = console.browser("cara")
    url = f"{CASE_URL.format(case.complaint_id)}/resolve"
    forged = cara.post(url, data={"outcome": "uphold", "comment": "no token"})
    assert forged.status_code == 403
    assert "did not come from this console" in forged.text

    sent, page = resolve(cara, case.complaint_id, outcome="uphold", comment="debits really failed")

    assert sent.status_code == 303
    assert page is not None
    assert sent.headers["location"].startswith(CASE_URL.format(case.complaint_id) + "?done=")
    assert flash_of(page).startswith("Upheld: the decision stands")
    assert '<span class="badge upheld">upheld</span>' in page.text
    assert "debits really failed" in page.text
    assert 'action="/console/complaints/' not in page.text, "nothing left to resolve"
    (closed,) = complaints.list_complaints(
        complaints.QueueFilter(status="closed"), uow=console.container.uow()
    ).items
    assert (closed.status, closed.reviewer_name) == ("upheld", "cara")
    trail = recent_records(
        AuditQuery(action_prefixes=("repayguard.complaint.",)), uow=console.container.uow()
    )
    acted = {(r.action, r.actor) for r in trail.items}
    cara_id = f"operator:{console.team['cara']}"
    assert {
        (complaints.COMPLAINT_VIEWED, cara_id),
        (complaints.COMPLAINT_RESOLVED, cara_id),
    } <= acted
    again, _ = resolve(cara, case.complaint_id, outcome="uphold", comment="twice")
    assert again.status_code == 409
    assert "already upheld" in again.text


def test_reversing_asks_a_second_person_and_links_the_approval_request(
    console: Console,
) -> None:
    case = file(console.container, "B1")
    cara = console.browser("cara")

    sent, page = resolve(
        cara,
        case.complaint_id,
        outcome="reverse",
        comment="the bank replaced the card",
        auto_debit="",
        days="30",
        **{"channel.bank_card": "on"},
    )

    assert page is not None, sent.text
    assert "Reversal requested" in unquote(sent.headers["location"])
    assert "waits for a second person" in flash_of(page)
    found = re.search(r'href="/console/approvals/([0-9a-f]+)"', page.text)
    assert found is not None, "the case links the override request"
    request = approvals.get_request(found.group(1), uow=console.container.uow())
    assert (request.kind, request.state, request.maker_name) == ("override", "pending", "cara")
    states = request.payload["states"]
    assert (request.payload["days"], states["manual_channels"]) == (30, ["bank_card"])
    assert states["auto_debit"] == "optional", "the contested method, open again"
    assert "reversal pending" in page.text
    pat = console.browser("pat")
    checked = pat.get(f"/console/approvals/{request.request_id}")
    approved = pat.post(
        f"/console/approvals/{request.request_id}/approve",
        data={"csrf": csrf_of(checked), "comment": "card replaced, checked"},
    )
    assert approved.status_code == 303

    closed = cara.get(CASE_URL.format(case.complaint_id))

    assert '<span class="badge reversed">reversed</span>' in closed.text
    remedies = closed.text[closed.text.index('id="remedies"') :]
    assert "Apology notice" in remedies, "the case lists the reversal's remedies"
    assert '<span class="badge delivered">sent</span>' in remedies


def test_a_reversal_with_an_impossible_state_is_refused_with_a_page(console: Console) -> None:
    case = file(console.container, "B1")
    cara = console.browser("cara")

    sent, _ = resolve(
        cara, case.complaint_id, outcome="reverse", comment="x", auto_debit="sometimes"
    )

    assert sent.status_code == 422
    assert "auto-debit cannot be set to" in sent.text
    assert sent.headers["content-type"].startswith("text/html")


def test_an_auditor_reads_the_case_but_cannot_resolve_it(console: Console) -> None:
    case = file(console.container, "B1")
    aud = console.browser("aud")

    page = aud.get(CASE_URL.format(case.complaint_id))

    assert page.status_code == 200
    assert STATEMENT in page.text
    assert 'action="/console/complaints/' not in page.text
    assert "a customer-service agent or an admin resolves them" in page.text
    refused = aud.post(
        f"{CASE_URL.format(case.complaint_id)}/resolve",
        data={"csrf": csrf_of(page), "outcome": "uphold", "comment": "I am not allowed"},
    )
    assert refused.status_code == 403
    assert "may not POST" in refused.text
    (still,) = complaints.list_complaints(
        complaints.QueueFilter(), uow=console.container.uow()
    ).items
    assert still.status == "open"


def test_the_borrower_page_shows_methods_reasons_decisions_and_a_masked_profile(
    console: Console,
) -> None:
    assert console.container.keyring is not None
    save_profile(
        SaveProfile("B1", name="Zhang Wei", phone="13800138000", locale="zh-CN"),
        uow=console.container.uow(),
        keyring=console.container.keyring,
    )
    case = file(console.container, "B1")
    cara = console.browser("cara")

    page = cara.get("/console/borrowers/B1")

    assert page.status_code == 200
    assert '<span class="badge limited">disabled</span>' in page.text, "auto-debit stopped"
    assert "failed-debit fees" in page.text
    assert "自动扣款多次失败" in page.text
    assert "<h2>Latest decisions</h2>" in page.text
    for lineage in ("failed-debits", "expert-v1", "policy v1", "PD ", "<summary>Inputs</summary>"):
        assert lineage in page.text
    assert "<h2>Notices</h2>" in page.text
    assert "<h2>Complaints</h2>" in page.text
    assert case.complaint_id[:8] in page.text
    assert "<h2>Profile</h2>" in page.text
    assert "Zhang Wei" not in page.text
    assert "13800138000" not in page.text
    assert "*******8000" in page.text
    (viewed,) = published(console.container, PROFILE_VIEWED)
    assert (viewed["revealed"], viewed["purpose"]) == (False, "console_borrower_view")


def test_the_borrower_page_and_api_say_what_would_change_the_outcome(console: Console) -> None:
    page = console.browser("cara").get("/console/borrowers/B1")
    assert "<h3>What would change the outcome</h3>" in page.text
    # T5, 20 days overdue, 3 failed debits: fewer failures alone meet the T5 row (auto-debit
    # mandatory, not looser); paying up as well brings T4 and the default terms.
    assert (
        "<code>dpd_now</code> at <b>0</b> instead of 20 and <code>failed_debits_30d</code> at "
        "<b>1</b> instead of 3 (tier T5 → T4 at a later review)" in page.text
    )
    token = create_token(CreateToken("operator", "cara"), uow=console.container.uow())
    http = TestClient(console.app)
    headers = {"Authorization": f"Bearer {token.secret}", "Accept-Language": "zh-CN"}

    found = http.get("/v1/borrowers/B1/what-would-change", headers=headers).json()
    free = http.get("/v1/borrowers/B2/what-would-change", headers=headers).json()
    missing = http.get("/v1/borrowers/NOPE/what-would-change", headers=headers)

    assert found["rule_id"] == "failed-debits"
    first = found["suggestions"][0]
    assert [(c["input"], c["to"], c["derived"]) for c in first["changes"]][:3] == [
        ("dpd_now", 0, False),
        ("failed_debits_30d", 1, False),
        ("tier", "T4", True),
    ]
    # The failed-debits row stops auto-debit and forces the manual flow: the default row
    # gives both back.
    assert (first["rule_id"], first["loosens"]) == ("default", ["auto_debit", "manual"])
    assert (found["why_none"], free["suggestions"], free["why_none"]) == (
        None,
        [],
        "least_restrictive",
    )
    assert free["why_none_text"].startswith("无需改变")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("role_user", "shown"),
    [
        ("pat", set()),  # approver
        ("ann", set()),  # analyst
        ("aud", {"Notices", "Complaints"}),
        ("cara", {"Notices", "Complaints", "Profile"}),
    ],
)
def test_the_borrower_page_shows_only_what_the_role_may_read(
    console: Console, role_user: str, shown: set[str]
) -> None:
    http = console.browser(role_user)

    page = http.get("/console/borrowers/B1")

    assert page.status_code == 200
    sections = set(re.findall(r"<h2>(Notices|Complaints|Profile)</h2>", page.text))
    assert sections == shown
    assert "<h2>Repayment methods now</h2>" in page.text
    assert "<h2>Latest decisions</h2>" in page.text, "every operator reads the lineage"


def test_the_console_is_for_operators_never_a_borrower_token(console: Console) -> None:
    """A borrower reads their own methods through the API (``borrowers:read:own``); console
    pages need ``console:view``, which no borrower holds, even for their own id."""
    token = create_token(CreateToken("borrower", "B1"), uow=console.container.uow()).secret
    http = TestClient(console.app, headers={"Authorization": f"Bearer {token}"})

    own = http.get("/console/borrowers/B1")
    api = http.get("/v1/borrowers/B1/repayment-methods")

    assert own.status_code == 403
    assert "Latest decisions" not in own.text
    assert api.status_code == 200


def test_an_unknown_borrower_is_a_404_page_and_the_search_says_so(console: Console) -> None:
    http = console.browser("pat")

    missing = http.get("/console/borrowers/B404")
    searched = http.get("/console/borrowers", params={"q": "B404"})
    found = http.get("/console/borrowers", params={"q": " B1 "})

    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "no borrower B404 has been decided" in missing.text
    assert "What to do:" in missing.text
    assert searched.status_code == 200
    assert "No borrower B404 has been decided." in searched.text
    assert (found.status_code, found.headers["location"]) == (303, "/console/borrowers/B1")


def test_the_borrowers_list_shows_who_is_restricted(console: Console) -> None:
    http = console.browser("aud")

    page = http.get("/console/borrowers")

    assert page.status_code == 200
    assert 'href="/console/borrowers/B1"' in page.text
    assert 'href="/console/borrowers/B2"' not in page.text, "B2 has the standard methods"
    assert "Auto-debit: disabled" in page.text
    assert "1 of 1" in page.text


@pytest.fixture
def announcing(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Console]:
    """A policy restricting early repayment after 14 days' notice; B3 just qualified."""
    policy = tmp_path / "notice-policy.yaml"
    policy.write_text(NOTICE_POLICY)
    for built in _open(database_url, tmp_path, clock, policy_path=policy):
        ingest_events(
            IngestEvents(failed_debits("B3", NOW, [12, 8, 4]), source="t"),
            uow=built.container.uow(),
            setup=built.container.ingest,
        )
        yield built


def test_an_announced_change_shows_with_its_date(announcing: Console) -> None:
    cara = announcing.browser("cara")

    listed = cara.get("/console/borrowers")
    page = cara.get("/console/borrowers/B3")

    assert "Early repayment → restricted" in listed.text
    assert "takes effect in 14 days" in listed.text
    assert "Change announced" in page.text
    assert "Early repayment: allowed → <b>restricted</b>" in page.text
    assert "(in 14 days)" in page.text
    assert '<span class="badge usable">allowed</span>' in page.text, "still allowed today"


def test_a_queue_offset_beyond_a_64_bit_integer_is_refused_with_a_page(console: Console) -> None:
    page = console.browser("cara").get(f"/console/complaints?offset={2**63}")
    assert page.status_code == 422
