"""Remedies when a restriction is reversed, on SQLite and PostgreSQL: amounts from the
borrower's events, maker-checker above the auto-approval amount, the ledger export (once,
retried when the ledger fails), the bureau correction only after a late mark, the apology."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from repayguard import approvals, notices, remedies
from repayguard.approvals.errors import ApprovalCheckerNotAllowed, MakerCannotApprove
from repayguard.bootstrap import Container, bootstrap
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import context_of, make_team
from support.builders import debit_attempt, due, failing_debits_history, paid, policy_text
from support.common import NOW, make_settings
from support.complaints import file, latest_decision, published, resolve
from support.notices import inbox, profile

SECRET = b"ledger-secret-0123456789"

RESTRICTING_POLICY = policy_text(
    "restricting",
    """\
inputs:
  failed_debits_30d: {type: integer, minimum: 0}
  open_appeal: {type: boolean}
hit_policy: first
rows:
  - id: appeal-freeze
    when: {open_appeal: "true"}
    then: keep
    reasons: [APPEAL_PENDING]
  - id: failing-debits
    when: {failed_debits_30d: ">= 3"}
    then:
      auto_debit: mandatory
      early_repayment: restricted
      manual: allowed
      manual_channels: [app_balance]
    reasons: [REPEATED_FAILED_DEBITS]
    notice_days: 0
    max_days: 60
    review_after_days: 14
""",
)
"""Failing debits make auto-debit mandatory, restrict early repayment and leave one channel."""


class Ledger:
    """The lender's ledger: records what it is sent; ``down`` makes it answer 503."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503, text="maintenance")
        self.received.append(orjson.loads(request.content))
        self.headers.append(request.headers)
        return httpx.Response(204)


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def remedied(
    database_url: str, tmp_path: Path, clock: FixedClock, ledger: Ledger
) -> Iterator[Container]:
    """Deciding with RESTRICTING_POLICY; a fee of 15.00 plus 1% per failed debit, 18.25% a
    year refunded on instalments that could not be repaid early, auto-approval up to 30.00."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(RESTRICTING_POLICY)
    settings = make_settings(database_url, tmp_path, policy_path=policy)
    settings = settings.model_copy(
        update={
            "remedies": settings.remedies.model_copy(
                update={
                    "failed_debit_fee": 15.0,
                    "failed_debit_penalty_rate": 0.01,
                    "early_repayment_interest_rate": 0.1825,
                    "auto_approve_up_to": 30.0,
                }
            )
        }
    )
    hook = remedies.LedgerWebhook(
        url="http://ledger.test/entries",
        secret=SECRET,
        timeout_seconds=1.0,
        clock=clock,
        transport=httpx.MockTransport(ledger),
    )
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True, ledger=hook
    ) as built:
        yield built


def ingest(container: Container, events: list[dict[str, Any]]) -> None:
    """Events arrive when they happen: the clock first moves on to the newest of them (an
    event further ahead of the clock than its skew allowance is refused)."""
    clock = container.clock
    assert isinstance(clock, FixedClock)
    newest = max(datetime.fromisoformat(e["occurred_at"]) for e in events)
    if newest > clock.now():
        clock.advance(newest - clock.now())
    ingest_events(IngestEvents(events, source="t"), uow=container.uow(), setup=container.ingest)


def approve(container: Container, who: str, request_id: str) -> approvals.ApprovalRead:
    return approvals.approve(
        approvals.Approve(request_id, who, "agree"),
        uow=container.uow(),
        context=context_of(container),
    )


def reverse(
    container: Container,
    team: dict[str, str],
    clock: FixedClock,
    borrower: str,
    agent: str = "cara",
) -> str:
    """File a case against the borrower's restriction; 40 days after the decision ``agent``
    reverses it and pat approves the reversal; the case id."""
    case = file(container, borrower, ("auto_debit", "early_repayment", "manual_channels"))
    clock.advance(timedelta(days=40) - (clock.now() - NOW))
    asked = resolve(container, case.complaint_id, team[agent], "reverse", "the bank's fault")
    assert asked.approval_id is not None
    approve(container, team["pat"], asked.approval_id)
    return case.complaint_id


def setup(container: Container) -> remedies.RemedySetup:
    assert container.remedy_setup is not None
    return container.remedy_setup


def of_case(container: Container, complaint_id: str) -> dict[str, remedies.RemedyInfo]:
    found = remedies.list_remedies(remedies.ListRemedies(complaint_id), uow=container.uow())
    return {r.kind: r for r in found}


def test_a_reversal_refunds_failed_debit_fees_and_interest_and_asks_a_bureau_correction(
    remedied: Container, clock: FixedClock, ledger: Ledger
) -> None:
    container = remedied
    ingest(container, failing_debits_history("B1", NOW))  # decided at NOW: restricted
    profile(container, "B1", "en")
    contested = latest_decision(container, "B1")
    assert contested.states.auto_debit == "mandatory"
    team = make_team(container)
    clock.advance(timedelta(days=1))
    # During the restriction: an instalment falls due, two debits fail (the failed debits
    # before NOW were not the restriction's doing), nothing is repaid: 30 days past due on
    # the instalment of NOW-20d is reached at NOW+10d.
    ingest(
        container,
        [
            due("B1", NOW + timedelta(days=3), 400.0),
            debit_attempt("B1", NOW + timedelta(days=3), "failed", 400.0),
            debit_attempt("B1", NOW + timedelta(days=6), "failed", 900.0),
        ],
    )

    complaint_id = reverse(container, team, clock, "B1")

    found = of_case(container, complaint_id)
    assert set(found) == {"fee_refund", "early_repayment_refund", "bureau_correction", "apology"}
    fee = found["fee_refund"]
    # (15 + 1% of 400) + (15 + 1% of 900) = 43.00
    assert (fee.amount, fee.currency) == ("43.00", "CNY")
    assert [d["amount"] for d in fee.basis["failed_debits"]] == [400.0, 900.0]
    # 400 due 3 days into the restriction, at 18.25% a year: 400 × 0.1825 × 3 / 365 = 0.60
    assert found["early_repayment_refund"].amount == "0.60"
    correction = found["bureau_correction"]
    assert correction.amount_minor == 0
    assert correction.basis["late_mark_at"] == (NOW + timedelta(days=10)).isoformat()
    assert {r.kind: r.state for r in found.values()} == {
        "fee_refund": "awaiting_approval",
        "early_repayment_refund": "approved",
        "bureau_correction": "approved",
        "apology": "approved",
    }
    assert {e["kind"] for e in ledger.received} == {"early_repayment_refund", "bureau_correction"}
    assert all(h["X-Repayguard-Delivery"] == e["remedy_id"] for e, h in
               zip(ledger.received, ledger.headers, strict=True))  # fmt: skip
    for entry, headers in zip(ledger.received, ledger.headers, strict=True):
        body = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
        assert (
            notices.signature(SECRET, headers["X-Repayguard-Timestamp"], body)
            == headers["X-Repayguard-Signature"]
        )

    # The fee refund waits for a second person: cara (who resolved the case) is its maker.
    assert fee.approval_id is not None
    request = approvals.get_request(fee.approval_id, uow=container.uow())
    assert (request.kind, request.maker_name, request.state) == ("remedy", "cara", "pending")
    assert request.payload["amount_minor"] == 4300
    assert of_case(container, complaint_id)["fee_refund"].exported_at is None
    with pytest.raises(ApprovalCheckerNotAllowed):
        approve(container, team["cara"], fee.approval_id)
    approve(container, team["pat"], fee.approval_id)

    after = of_case(container, complaint_id)["fee_refund"]
    assert (after.state, after.decided_by) == ("approved", "pat")
    assert after.exported_at == clock.now()
    assert [e["kind"] for e in ledger.received].count("fee_refund") == 1
    sent = next(e for e in ledger.received if e["kind"] == "fee_refund")
    assert (sent["type"], sent["amount"], sent["borrower_id"], sent["complaint_id"]) == (
        "repayguard.remedy",
        "43.00",
        "B1",
        complaint_id,
    )

    # Delivered again (a redelivery after a crash): the ledger gets nothing twice.
    for message in [m for m in container.bus.published if m.name == remedies.REMEDY_APPROVED]:  # type: ignore[attr-defined]
        container.bus.publish(message)
    assert len(ledger.received) == 3
    assert len(published(container, remedies.REMEDY_EXPORTED)) == 3


def test_a_maker_cannot_approve_the_remedy_of_the_case_they_reversed(
    remedied: Container, clock: FixedClock
) -> None:
    container = remedied
    ingest(container, failing_debits_history("B1", NOW))
    team = make_team(container)
    clock.advance(timedelta(days=1))
    ingest(
        container,
        [debit_attempt("B1", NOW + timedelta(days=d), "failed", 500.0) for d in (2, 4)],
    )
    complaint_id = reverse(container, team, clock, "B1", agent="amy")
    fee = of_case(container, complaint_id)["fee_refund"]
    assert fee.approval_id is not None
    # An admin may decide requests, but not this one: amy resolved the case, so is its maker.
    with pytest.raises(MakerCannotApprove):
        approve(container, team["amy"], fee.approval_id)
    approvals.reject(
        approvals.Reject(fee.approval_id, team["pat"], "fees were waived already"),
        uow=container.uow(),
    )
    assert of_case(container, complaint_id)["fee_refund"].state == "rejected"


def test_no_bureau_correction_without_a_late_mark_and_the_apology_says_what_is_done(
    remedied: Container, clock: FixedClock, ledger: Ledger
) -> None:
    container = remedied
    ingest(container, [*failing_debits_history("B2", NOW), paid("B2", NOW + timedelta(hours=1))])
    profile(container, "B2", "zh-CN")
    team = make_team(container)
    clock.advance(timedelta(days=1))
    ingest(container, [debit_attempt("B2", NOW + timedelta(days=2), "failed", 100.0)])

    complaint_id = reverse(container, team, clock, "B2")

    found = of_case(container, complaint_id)
    assert set(found) == {"fee_refund", "apology"}, "never 30 days past due: no late mark"
    assert (found["fee_refund"].amount, found["fee_refund"].state) == ("16.00", "approved")
    assert [e["kind"] for e in ledger.received] == ["fee_refund"], "the apology is a notice"
    (apology,) = [n for n in inbox(container, "B2") if n.kind == "remedy_apology"]
    assert apology.locale == "zh-CN"
    assert "16.00 CNY" in apology.body
    assert complaint_id in apology.body
    assert "深表歉意" in apology.subject


def test_the_apology_in_english_and_an_upheld_decision_owes_nothing(
    remedied: Container, clock: FixedClock
) -> None:
    container = remedied
    ingest(container, failing_debits_history("B1", NOW))
    ingest(container, failing_debits_history("B3", NOW))
    profile(container, "B1", "en")
    team = make_team(container)
    clock.advance(timedelta(days=1))
    upheld = file(container, "B3", ("auto_debit",))
    resolve(container, upheld.complaint_id, team["cara"], "uphold", "the debits failed")
    assert of_case(container, upheld.complaint_id) == {}

    complaint_id = reverse(container, team, clock, "B1")
    (apology,) = [n for n in inbox(container, "B1") if n.kind == "remedy_apology"]
    assert apology.subject == "We are sorry: how we are putting things right"
    assert "late-payment mark" in apology.body
    assert "being confirmed by a second member of our team" not in apology.body
    # Recorded again (a redelivered approval), nothing new is recorded.
    decision = latest_decision(container, "B1")
    with container.uow() as unit:
        again = remedies.record_remedies(
            remedies.RecordRemedies(
                complaint_id,
                "B1",
                decision.decision_id,
                decision.states.as_dict(),
                (),
                NOW,
                clock.now(),
                team["cara"],
                "cara",
            ),
            uow=unit,
            setup=setup(container),
        )
        unit.commit()
    assert {r.remedy_id for r in again} == {
        r.remedy_id for r in of_case(container, complaint_id).values()
    }
    assert len(again) == 2  # fmt: skip


def test_a_ledger_that_is_down_gets_the_remedy_when_it_is_back_without_holding_the_outbox(
    remedied: Container, clock: FixedClock, ledger: Ledger
) -> None:
    container = remedied
    ingest(container, failing_debits_history("B2", NOW))
    team = make_team(container)
    clock.advance(timedelta(days=1))
    ingest(container, [debit_attempt("B2", NOW + timedelta(days=2), "failed", 100.0)])
    ledger.down = True

    complaint_id = reverse(container, team, clock, "B2")

    fee = of_case(container, complaint_id)["fee_refund"]
    assert (fee.exported_at, fee.export_attempts) == (None, 1)
    assert "503" in (fee.export_error or "")
    assert container.relay.pending() == 0, "the outbox is not held back by the ledger"
    ledger.down = False
    assert "remedies.export" in container.jobs.names()
    assert container.ledger is not None
    retry = container.retry
    early = remedies.export_due(
        clock.now(), uow=container.uow, ledger=container.ledger, retry=retry
    )
    assert early.exported == 0, "not due before its backoff"
    clock.advance(retry.delay(1))
    report = remedies.export_due(
        clock.now(), uow=container.uow, ledger=container.ledger, retry=retry
    )
    assert report.exported == 2, "the fee refund and the bureau correction"
    assert fee.remedy_id in {e["remedy_id"] for e in ledger.received}
    assert of_case(container, complaint_id)["fee_refund"].exported_at == clock.now()
