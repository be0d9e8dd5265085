"""The console in a real browser (Debian's Chromium under Playwright) against a served
repayguard: logging in and out, the overview's chart, and maker-checker through the approvals
inbox — a cs_agent's override request that only someone else may approve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from repayguard import approvals, entitlements, policies, resources, shadow
from repayguard.bootstrap import Container, bootstrap
from repayguard.decisions import DEFAULT_POLICY, DecideBorrowers, decide_borrowers, triggers
from repayguard.identity import SetPassword, set_password
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import context_of, make_team, override
from support.browser import PASSWORD, chromium, console_errors, log_in, served
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.complaints import file


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Container, approvals.ApprovalRead]]:
    """A served repayguard: two borrowers decided, the team with passwords, and cara's
    request to give B1 its methods back waiting for a checker."""
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    container = bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    )
    events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)
    team = make_team(container)
    for name in ("pat", "cara", "amy"):
        set_password(SetPassword(name, PASSWORD), uow=container.uow())
    file(container, "B1", ("auto_debit",))
    asked = approvals.request_approval(
        approvals.RequestApproval(
            "override", override("B1"), by=team["cara"], reason="card replaced by the bank"
        ),
        uow=container.uow(),
        context=context_of(container),
    )
    with served(container) as base:
        yield base, container, asked


def test_a_wrong_password_is_refused_and_the_right_one_lands_on_the_page_asked_for(
    site: tuple[str, Container, approvals.ApprovalRead], browser: Browser
) -> None:
    base, _, _ = site
    page = browser.new_page()
    page.goto(f"{base}/console/approvals")
    expect(page).to_have_url(f"{base}/console/login?next=/console/approvals")

    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill("not the passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("the username or password is wrong")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/console/approvals")
    expect(page.get_by_role("heading", name="Approvals")).to_be_visible()


def test_a_checker_approves_what_a_maker_asked_and_the_maker_cannot(
    site: tuple[str, Container, approvals.ApprovalRead], browser: Browser, tmp_path: Path
) -> None:
    base, container, asked = site
    maker = browser.new_page()
    log_in(maker, base, "cara")
    maker.goto(f"{base}/console/approvals/{asked.request_id}")
    expect(maker.get_by_text("You made this request")).to_be_visible()
    expect(maker.get_by_role("button", name="Approve and apply")).to_have_count(0)

    checker = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(checker, base, "pat")
    expect(checker.locator(".tile").first).to_contain_text("1")
    expect(checker.locator("#tiers .main-svg").first).to_be_visible()  # plotly drew the chart
    checker.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    checker.get_by_role("link", name="Approvals", exact=True).click()
    checker.get_by_role("link", name=asked.summary).click()
    checker.get_by_label("Comment").fill("called the borrower; the bank replaced the card")
    checker.get_by_role("button", name="Approve and apply").click()

    expect(checker.get_by_role("status")).to_contain_text("Approved and applied")
    expect(checker.get_by_text("No pending requests")).to_be_visible()
    checker.screenshot(path=str(tmp_path / "approved.png"), full_page=True)
    decided = approvals.get_request(asked.request_id, uow=container.uow())
    assert (decided.state, decided.checker_name) == ("approved", "pat")
    with container.session_factory() as session:
        now = entitlements.load(session, ["B1"])["B1"]
    assert now.rule_id == entitlements.OVERRIDE_RULE


def test_logging_out_ends_the_session(
    site: tuple[str, Container, approvals.ApprovalRead], browser: Browser
) -> None:
    base, _, _ = site
    context = browser.new_context()
    page = context.new_page()
    log_in(page, base, "pat")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "rg_console")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/console")

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(f"{base}/console/login")
    other = browser.new_context()
    other.add_cookies([{**cookie}])  # the old session, replayed
    replay = other.new_page()
    replay.goto(f"{base}/console/")
    expect(replay).to_have_url(f"{base}/console/login?next=/console/")


def test_a_page_that_does_not_exist_says_so_in_the_console(
    site: tuple[str, Container, approvals.ApprovalRead], browser: Browser
) -> None:
    base, _, _ = site
    page = browser.new_page()
    log_in(page, base, "pat")
    response = page.goto(f"{base}/console/nowhere")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("link", name="Overview").first).to_be_visible()


PAGES = (
    "Overview",
    "Approvals",
    "Complaints",
    "Hardship",
    "Incidents",
    "Borrowers",
    "Policies",
    "Shadow",
    "Simulations",
    "Monitoring",
    "Audit",
)


def test_every_page_an_admin_may_open_opens_and_reads_well(
    site: tuple[str, Container, approvals.ApprovalRead], browser: Browser, tmp_path: Path
) -> None:
    base, _, _ = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda note: problems.append(note.text) if note.type == "error" else None)
    log_in(page, base, "amy")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    navigation = page.locator("header nav a")
    assert navigation.all_inner_texts() == list(PAGES), "an admin sees every page"

    for name in PAGES:
        page.locator("header nav").get_by_role("link", name=name, exact=True).click()
        expect(page.locator("h1").first).to_be_visible()
        expect(page.locator("header nav a.on")).to_have_text(name)
        page.screenshot(path=str(tmp_path / f"{name.lower()}.png"), full_page=True)
    page.goto(f"{base}/console/complaints")
    page.get_by_role("link", name="B1").first.click()  # the borrower behind the case
    expect(page.get_by_role("heading", name="Latest decisions")).to_be_visible()
    page.screenshot(path=str(tmp_path / "borrower.png"), full_page=True)
    page.go_back()
    page.locator("table a[href^='/console/complaints/']").first.click()
    expect(page.get_by_text("I paid every instalment by card")).to_be_visible()
    page.screenshot(path=str(tmp_path / "complaint.png"), full_page=True)
    page.goto(f"{base}/console/hardship")
    page.get_by_label("Borrower").fill("B2")
    page.get_by_label("Reason").select_option("natural_disaster")
    page.get_by_label("Evidence").fill("The flood of 20 February closed the shop for weeks.")
    page.get_by_role("button", name="Open the case").click()
    expect(page.get_by_text("The flood of 20 February")).to_be_visible()
    expect(page.get_by_role("button", name="Grant relief")).to_have_count(0)  # amy opened it
    page.screenshot(path=str(tmp_path / "hardship.png"), full_page=True)
    page.goto(f"{base}/console/audit")
    page.get_by_role("button", name="Verify").first.click()
    expect(page.get_by_text("holds").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "verified.png"), full_page=True)
    assert problems == [], "the pages raise no script errors"


def test_the_shadow_page_leads_from_a_disagreement_to_the_borrower(
    site: tuple[str, Container, approvals.ApprovalRead], browser: Browser, tmp_path: Path
) -> None:
    base, container, _ = site
    # B1's open appeal freezes it under both policies; B9 fails debits with nothing open.
    ingest_events(
        IngestEvents(failing_debits_history("B9", NOW), source="test"),
        uow=container.uow(),
        setup=container.ingest,
    )
    lenient = (
        resources.read_text(DEFAULT_POLICY)
        .replace("name: cn-consumer-credit-line", "name: lenient")
        .replace('failed_debits_30d: ">= 3"', 'failed_debits_30d: ">= 4"')
    )
    draft = policies.submit_policy(
        policies.SubmitPolicy(lenient, submitted_by="amy"),
        uow=container.uow(),
        profiles=policies.profiles(),
    )
    shadow.set_challenger(
        shadow.SetChallenger(policies.DraftRef(draft.draft_id), actor="amy"),
        uow=container.uow(),
        profiles=policies.profiles(),
    )
    decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, base, "amy")
    page.locator("header nav").get_by_role("link", name="Shadow", exact=True).click()
    expect(page.get_by_role("heading", name="Shadow comparison")).to_be_visible()
    expect(page.locator("#differing")).to_have_text("1")
    page.screenshot(path=str(tmp_path / "shadow.png"), full_page=True)
    page.locator("#disagreements").get_by_role("link", name="B9").click()
    expect(page.get_by_role("heading", name="Latest decisions")).to_be_visible()


def test_a_saved_simulation_opens_with_its_charts(
    site: tuple[str, Container, approvals.ApprovalRead], browser: Browser, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from repayguard.simulation import (
        ArmPolicy,
        PortfolioSpec,
        compare,
        default_assumptions,
        html_report,
        save_run,
    )

    base, container, _ = site
    arms = [
        ArmPolicy(label, policies.load_policy_text(resources.read_text(path),
                                                   profiles=policies.profiles()))
        for label, path in (("none", "simulation/no-restriction.yaml"),
                            ("shipped", "policies/cn-default.yaml"))
    ]  # fmt: skip
    result = compare(PortfolioSpec(borrowers=400, months=2, seed=3), *arms,
                     default_assumptions(), seeds=2)  # fmt: skip
    run = save_run(
        container.settings.data_dir / "simulations", result.as_json(), html_report(result),
        at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda note: problems.extend(console_errors(note)))
    log_in(page, base, "amy")
    page.locator("header nav").get_by_role("link", name="Simulations", exact=True).click()
    page.locator(f"a[href='/console/simulations/{run.run_id}']").click()
    expect(page.get_by_role("heading", name="By group")).to_be_visible()
    page.screenshot(path=str(tmp_path / "simulation.png"), full_page=True)
    page.locator("#report").click()
    expect(page.locator("#group-0 .main-svg").first).to_be_attached()
    page.screenshot(path=str(tmp_path / "simulation-report.png"), full_page=True)
    assert problems == [], "the report's charts draw without script or CSP errors"
