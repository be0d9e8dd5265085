"""The console's approvals inbox over HTTP: routine held decisions approved in bulk by a
checker — only those of the policy row chosen, made before the page was drawn — and the form
offered to nobody who may not decide."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest

from repayguard import approvals, entitlements
from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import APPROVAL_POLICY, make_team
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.console import csrf_of, logged_in

HELD = "/console/approvals?kind=decision"


@pytest.fixture
def held(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    """Three borrowers whose tightening waits for a checker (the row requires approval)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(APPROVAL_POLICY)
    settings = make_settings(database_url, tmp_path, auth="required", policy_path=policy)
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        make_team(container)
        borrowers = ("B1", "B2", "B3")
        events = [e for b in borrowers for e in healthy_history(b, NOW)]
        ingest_events(IngestEvents(events, source="t"), uow=container.uow(), setup=container.ingest)
        tail = [e for b in borrowers for e in failing_debits_history(b, NOW)[-4:]]
        ingest_events(IngestEvents(tail, source="t"), uow=container.uow(), setup=container.ingest)
        clock.advance(timedelta(minutes=5))
        yield container


def test_a_checker_approves_the_held_decisions_shown_in_bulk(
    held: Container, clock: FixedClock
) -> None:
    app = create_app(held)
    checker = logged_in(app, held, "pat")
    page = checker.get(HELD)
    assert "Approve routine decisions in bulk" in page.text
    assert "<option>needs-approval</option>" in page.text
    form = {
        "csrf": csrf_of(page),
        "seen_at": (clock.now()).isoformat(),
        "category": "needs-approval",
        "limit": "500",
        "comment": "routine: three failed debits each, checked",
    }
    clock.advance(timedelta(minutes=1))

    done = checker.post("/console/approvals/bulk-approve", data=form)

    assert done.status_code == 303
    assert "Approved 3 held decision(s)." in unquote(done.headers["location"])
    pending = approvals.list_requests(approvals.QueueFilter(kind="decision"), uow=held.uow())
    assert pending.total == 0
    with held.session_factory() as session:
        now = entitlements.load(session, ["B1", "B2", "B3"])
    assert {e.rule_id for e in now.values()} == {"needs-approval"}


def test_the_bulk_form_is_for_checkers_and_needs_its_csrf_token(held: Container) -> None:
    app = create_app(held)
    maker = logged_in(app, held, "ann")
    assert "Approve routine decisions in bulk" not in maker.get(HELD).text
    refused = maker.post("/console/approvals/bulk-approve", data={"comment": "x"})
    assert refused.status_code == 403, "analysts never decide (the permission map)"

    checker = logged_in(app, held, "pat")
    forged = checker.post(
        "/console/approvals/bulk-approve",
        data={"category": "needs-approval", "comment": "x", "seen_at": "2026-01-01T00:00:00"},
    )
    assert forged.status_code == 403, "no CSRF token: refused before anything runs"
    pending = approvals.list_requests(approvals.QueueFilter(kind="decision"), uow=held.uow())
    assert pending.total == 3


def test_a_garbled_bulk_form_or_page_number_is_refused_with_a_page(held: Container) -> None:
    """A cut-off without a time zone, a body that is not UTF-8 and an offset beyond a 64-bit
    integer are invalid input (each was a 500), and nothing is approved."""
    checker = logged_in(create_app(held), held, "pat")
    form = {"csrf": csrf_of(checker.get(HELD)), "category": "needs-approval", "limit": "5"}

    naive = checker.post(
        "/console/approvals/bulk-approve",
        data={**form, "comment": "x", "seen_at": "2026-03-01T12:00:00"},
    )
    garbled = checker.post(
        "/console/approvals/bulk-approve",
        content=f"csrf={form['csrf']}&comment=\xff".encode("latin-1"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    far = checker.get(f"/console/approvals?offset={2**63}")

    assert [naive.status_code, garbled.status_code, far.status_code] == [422, 422, 422]
    pending = approvals.list_requests(approvals.QueueFilter(kind="decision"), uow=held.uow())
    assert pending.total == 3
