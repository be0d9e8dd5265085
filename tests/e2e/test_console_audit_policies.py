"""The console's audit viewer and policy pages over HTTP, used like a browser: log in with a
password, keep the session cookie, send forms with their CSRF token. Real database (SQLite and
PostgreSQL), real audit trail with signed checkpoints, policies published through
maker-checker."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from repayguard.api.app import create_app
from repayguard.audit import ChainRecord
from repayguard.audit.models import AuditRecordRow
from repayguard.bootstrap import Container, bootstrap
from repayguard.core.reasons import explain
from repayguard.decisions import GuardrailApplied
from repayguard.identity import SetPassword, set_password
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.db import table_of
from repayguard.platform.messages import Message

from support.approvals import make_team, policy_source, team_tokens
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.console import PASSWORD, csrf_of, logged_in
from support.tampering import EDITS

POLICY = "cn-consumer-credit-line"
RECORDS = table_of(AuditRecordRow)
SEQ = re.compile(r'<td class="seq"><code>(\d+)</code></td>')
ACTION = re.compile(r'<span title="(repayguard\.[a-z_.]+)">')


@dataclass
class World:
    """A wired repayguard with access control on, a team with passwords, an API client."""

    container: Container
    api: TestClient
    tokens: dict[str, str]

    def browser(self, username: str) -> TestClient:
        """A fresh browser logged in to the console as ``username`` (cookie kept)."""
        return logged_in(create_app(self.container), self.container, username)

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def ingest(self, events: list[dict[str, Any]]) -> None:
        ingest_events(
            IngestEvents(events, source="test"),
            uow=self.container.uow(),
            setup=self.container.ingest,
        )

    def emit(self, *messages: Message) -> None:
        with self.container.uow() as uow:
            for message in messages:
                uow.emit(message)
            uow.commit()

    def stored(self) -> list[ChainRecord]:
        with self.container.session_factory() as session:
            rows = session.execute(select(RECORDS).order_by(RECORDS.c.seq)).all()
        return [ChainRecord(**row._mapping) for row in rows]

    def publish(self, source: str) -> int:
        """Publish a policy through maker-checker: ann submits and asks, pat approves."""
        draft = self.api.post(
            "/v1/policies/drafts", headers=self.as_("ann"), json={"source": source}
        )
        assert draft.status_code == 201, draft.text
        asked = self.api.post(
            f"/v1/policies/drafts/{draft.json()['draft_id']}/publish",
            headers=self.as_("ann"),
            json={"reason": "console test"},
        )
        assert asked.status_code == 202, asked.text
        approved = self.api.post(
            f"/v1/approvals/{asked.json()['request_id']}/approve",
            headers=self.as_("pat"),
            json={"comment": "checked"},
        )
        assert approved.status_code == 200, approved.text
        version: int = approved.json()["outcome"]["version"]
        return version


@pytest.fixture
def world(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[World]:
    settings = make_settings(database_url, tmp_path, auth="required")
    settings = settings.model_copy(
        update={"audit": settings.audit.model_copy(update={"checkpoint_every": 5})}
    )
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        team = make_team(built)
        for name in ("aud", "pat", "ann"):
            set_password(SetPassword(name, PASSWORD), uow=built.uow())
        yield World(built, TestClient(create_app(built)), team_tokens(built, team))


def page_text(response: Any) -> str:
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def words(page: str) -> str:
    """A page's text as a person reads it (tags dropped)."""
    return re.sub(r"<[^>]+>", "", page)


def changed_cn() -> str:
    """The shipped policy with failed debits no longer forcing the manual flow."""
    doc: dict[str, Any] = yaml.safe_load(policy_source(POLICY))
    [failed] = [row for row in doc["rows"] if row["id"] == "failed-debits"]
    failed["then"]["manual"] = "allowed"
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


# -- audit viewer ---------------------------------------------------------------------------------


def _guardrail(run_id: str) -> GuardrailApplied:
    return GuardrailApplied(run_id=run_id, policy_version="1", count=0, decisions=())


def test_the_audit_page_lists_records_newest_first_by_family_and_in_pages(world: World) -> None:
    world.ingest(healthy_history("B-LIST", NOW))
    world.emit(*[Message(_guardrail(f"r{n}")) for n in range(60)])
    browser = world.browser("aud")

    everything = browser.get("/console/audit")
    seqs = [int(s) for s in SEQ.findall(page_text(everything))]
    head = len(world.stored())
    assert len(seqs) == 50
    assert seqs[0] >= head - 5, "the newest records first (logging in appends a few)"
    assert seqs == sorted(seqs, reverse=True)
    assert "Head of the chain" in everything.text

    events = page_text(browser.get("/console/audit", params={"action": "events"}))
    actions = ACTION.findall(events)
    assert actions == ["repayguard.events.ingested"]
    assert re.search(r'class="on" aria-current="true">Events<', events)

    decisions = browser.get("/console/audit", params={"action": "decisions"})
    first = [int(s) for s in SEQ.findall(page_text(decisions))]
    assert {a.split(".")[1] for a in ACTION.findall(decisions.text)} <= {"decisions", "guardrail"}
    older = re.search(r'<a href="/console/audit\?([^"]+)">Older →</a>', decisions.text)
    assert older is not None
    rest = browser.get(f"/console/audit?{html.unescape(older.group(1))}")
    second = [int(s) for s in SEQ.findall(page_text(rest))]
    prefixes = ("repayguard.decisions.", "repayguard.guardrail.")
    family = [r for r in world.stored() if r.action.startswith(prefixes)]
    assert len(first) + len(second) == len(family) >= 60
    assert max(second) < min(first), "the next page continues below the first"
    assert "That is the oldest match." in rest.text

    none = page_text(browser.get("/console/audit", params={"actor": "operator:nobody"}))
    assert "No records match" in none
    assert SEQ.findall(none) == []


def test_an_auditor_finds_a_borrowers_records_by_id_through_its_pseudonym(world: World) -> None:
    world.ingest(failing_debits_history("B-FIND", NOW))
    world.ingest(healthy_history("B-ELSE", NOW))
    assert world.container.pseudonymizer is not None
    pseudonym = world.container.pseudonymizer.pseudonym("B-FIND")
    stored = world.stored()
    assert not any("B-FIND" in repr(record) for record in stored), "only the pseudonym is kept"
    assert any(pseudonym in repr(record) for record in stored)
    browser = world.browser("aud")

    unfiltered = page_text(browser.get("/console/audit"))
    assert "B-FIND" not in unfiltered
    assert "B-ELSE" not in unfiltered
    found = page_text(browser.get("/console/audit", params={"borrower": "B-FIND"}))

    assert f"Borrower B-FIND appears in the trail as {pseudonym}" in words(found)
    rows = found.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert rows, "the borrower's records are listed"
    assert all(pseudonym in row for row in rows)
    assert "repayguard.events.ingested" in ACTION.findall(found)
    assert ACTION.findall(found).count("repayguard.events.ingested") == 1, "not B-ELSE's batch"
    assert "B-ELSE" not in found
    by_pseudonym = page_text(browser.get("/console/audit", params={"borrower": pseudonym}))
    assert SEQ.findall(by_pseudonym) == SEQ.findall(found)
    assert "appears in the trail as" not in by_pseudonym


def test_verify_says_the_chain_holds_then_names_the_first_record_tampered_with(
    world: World,
) -> None:
    world.ingest(healthy_history("B-VER", NOW))
    world.emit(*[Message(_guardrail(f"v{n}")) for n in range(12)])
    browser = world.browser("aud")
    token = csrf_of(browser.get("/console/audit"))

    refused = browser.post("/console/audit/verify", data={})
    assert refused.status_code == 403
    assert "did not come from this console" in refused.text
    intact = page_text(browser.post("/console/audit/verify", data={"csrf": token}))
    assert "The chain holds" in intact
    assert re.search(r"signed checkpoints? vouch", intact), "checked against the checkpoints"
    assert re.search(r"Checked in \d+\.\d\d s", intact)

    victim = world.stored()[2]
    _forge(world, EDITS["payload"](victim))
    broken = page_text(browser.post("/console/audit/verify", data={"csrf": token}))

    assert "The chain holds" not in broken
    assert f"A record was changed after it was written — record {victim.seq}" in broken
    assert f"record {victim.seq} ({victim.action}) does not match its own hash" in broken
    assert f'href="/console/audit?before_seq={victim.seq + 1}">show it' in broken


def _forge(world: World, record: ChainRecord) -> None:
    """What a forger with database rights does: drop the append-only triggers, edit a row."""
    with world.container.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER audit_records_no_change ON audit_records"))
        else:
            connection.execute(text("DROP TRIGGER audit_records_no_update"))
        changes = {k: v for k, v in dataclasses.asdict(record).items() if k != "seq"}
        connection.execute(update(RECORDS).where(RECORDS.c.seq == record.seq).values(**changes))


def test_an_approver_cannot_open_the_audit_trail(world: World) -> None:
    browser = world.browser("pat")

    page = browser.get("/console/audit")
    token = csrf_of(browser.get("/console/policies"))
    verify = browser.post("/console/audit/verify", data={"csrf": token})

    assert page.status_code == 403
    assert verify.status_code == 403
    assert 'href="/console/audit"' not in browser.get("/console/policies").text, "not in the nav"


# -- policies -------------------------------------------------------------------------------------


def test_the_policy_list_shows_versions_and_the_one_in_force(world: World) -> None:
    browser = world.browser("aud")
    seeded = page_text(browser.get("/console/policies"))
    assert f'<a href="/console/policies/{POLICY}/1"><b>{POLICY}</b> version 1</a>' in seeded
    v1 = seeded.split(f'href="/console/policies/{POLICY}/1"><b>v1</b></a>')[1].split("</tr>")[0]
    assert "in force" in v1
    assert "<td>system</td>" in v1, "start-up published the shipped policy as version 1"

    assert world.publish(changed_cn()) == 2

    listed = page_text(browser.get("/console/policies"))
    assert f'<a href="/console/policies/{POLICY}/2"><b>{POLICY}</b> version 2</a>' in listed
    v1 = listed.split(f'href="/console/policies/{POLICY}/1"><b>v1</b></a>')[1].split("</tr>")[0]
    v2 = listed.split(f'href="/console/policies/{POLICY}/2"><b>v2</b></a>')[1].split("</tr>")[0]
    assert "in force" in v2, "the approved version decides at once"
    assert "in force" not in v1
    assert "ann, approved by pat" in v2
    assert 'action="/console/policies/diff"' in listed


def test_a_version_page_reads_as_a_decision_table_with_reason_texts(world: World) -> None:
    browser = world.browser("aud")

    shown = page_text(browser.get(f"/console/policies/{POLICY}/1"))

    assert "Decision table · 9 rows" in shown
    for row in ("appeal-freeze", "failed-debits", "severe-delinquency", "default"):
        assert f'id="row-{row}"' in shown
    [failed] = explain(["REPEATED_FAILED_DEBITS"], "en")
    [failed_zh] = explain(["REPEATED_FAILED_DEBITS"], "zh-CN")
    assert failed.text in shown
    assert failed_zh.text in shown
    severe = shown.split('id="row-severe-delinquency"')[1].split("</tr>")[0]
    assert "<code>dpd_now</code> <code>>= 30</code>" in severe
    assert "requires approval" in severe
    assert "3 days' notice" in severe
    assert "expires after 90 days" in severe
    assert "China (PRC) consumer credit" in shown
    assert "in force" in shown
    missing = browser.get(f"/console/policies/{POLICY}/9")
    assert missing.status_code == 404
    assert "no published version 9" in missing.text


def test_a_diff_shows_the_changed_rows_and_the_impact_on_todays_portfolio(world: World) -> None:
    world.ingest(failing_debits_history("B-FAIL", NOW) + healthy_history("B-GOOD", NOW))
    world.publish(changed_cn())  # version 2; version 1 is the shipped policy (start-up's seed)
    browser = world.browser("pat")

    diff = page_text(
        browser.get("/console/policies/diff", params={"name": POLICY, "from": 1, "to": 2})
    )

    assert f"{POLICY}: v1 → v2" in diff
    assert '<span class="badge changed">1 changed</span>' in diff
    assert '<span class="badge added">0 added</span>' in diff
    changed = diff.split("<b>failed-debits</b>")[1].split("</tr>")[0]
    assert "<code>then.manual</code>" in changed
    assert '<td class="before">forced</td><td class="after">allowed</td>' in changed
    assert "<b>1</b> would have a method change" in diff
    assert "latest inputs of 2 borrowers" in diff
    transitions = diff.split("<h3>Transitions</h3>")[1].split("</table>")[0]
    assert "Manual repayment" in transitions
    assert "forced → allowed" in transitions
    assert 'Plotly.newPlot("impact"' in diff
    latest_two = page_text(browser.get("/console/policies/diff"))
    assert f"{POLICY}: v1 → v2" in latest_two
    same = page_text(
        browser.get("/console/policies/diff", params={"name": POLICY, "from": 2, "to": 2})
    )
    assert "a version does not differ from itself" in same


@pytest.mark.parametrize(
    "url",
    [
        f"/console/audit?before_seq={2**63}",
        f"/console/policies/cn-consumer-credit-line/{2**31}",
        f"/console/policies/diff?name=cn-consumer-credit-line&from=1&to={2**31}",
    ],
)
def test_a_number_beyond_the_databases_integers_is_refused_with_a_page(
    world: World, url: str
) -> None:
    """It would overflow the database's integers (64-bit sequence numbers, 32-bit versions in
    PostgreSQL): refused before any query (it was a 500)."""
    page = world.browser("aud").get(url)
    assert page.status_code == 422
    assert "Invalid input" in page.text
