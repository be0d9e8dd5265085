"""Maker-checker on a real database (SQLite and PostgreSQL): who may make and decide requests,
one pending request per subject, exactly the submitted payload applied, expiry, and the
database refusing what the service refuses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from repayguard import approvals, policies
from repayguard.approvals.errors import (
    ApprovalCheckerNotAllowed,
    ApprovalExpired,
    ApprovalInitiatorNotAllowed,
    ApprovalNotPending,
    ApprovalNotYours,
    MakerCannotApprove,
    PendingApprovalExists,
)
from repayguard.approvals.models import ApprovalRequestRow
from repayguard.bootstrap import Container
from repayguard.errors import ApprovalPayloadChanged
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.jobs import JobContext
from repayguard.policies.models import PolicyDraftRow

from support.approvals import TRIAL, context_of, make_team, override, submit_draft
from support.builders import healthy_history
from support.common import NOW


@pytest.fixture
def team(container: Container) -> dict[str, str]:
    return make_team(container)


def ask(
    container: Container, who: str, kind: str, payload: dict[str, object], **kw: Any
) -> approvals.ApprovalRead:
    return approvals.request_approval(
        approvals.RequestApproval(kind, payload, by=who, **kw),
        uow=container.uow(),
        context=context_of(container),
    )


def approve(container: Container, who: str, request_id: str) -> approvals.ApprovalRead:
    return approvals.approve(
        approvals.Approve(request_id, who, "checked"),
        uow=container.uow(),
        context=context_of(container),
    )


def names(container: Container) -> list[str]:
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    return [m.name for m in bus.published]


def test_maker_cannot_approve_own_policy_and_a_checker_publishes_exactly_the_draft(
    container: Container, team: dict[str, str]
) -> None:
    draft_id = submit_draft(container)
    asked = ask(container, team["amy"], "policy_publish", {"draft_id": draft_id}, reason="q2")

    assert (asked.state, asked.subject, asked.maker_name) == (
        "pending",
        TRIAL,
        "amy",
    )
    assert asked.payload["draft_id"] == draft_id
    assert asked.payload_sha256 == approvals.payload_sha256(asked.payload)
    listed = policies.list_versions(policies.ListPolicyVersions(name=TRIAL), uow=container.uow())
    assert listed.total == 0, "nothing is published before a second person approves"
    with pytest.raises(MakerCannotApprove):
        approve(container, team["amy"], asked.request_id)
    with pytest.raises(ApprovalCheckerNotAllowed, match=r"^an analyst may not approve or reject"):
        approve(container, team["ann"], asked.request_id)

    done = approve(container, team["pat"], asked.request_id)

    assert (done.state, done.checker_name, done.outcome and done.outcome["version"]) == (
        "approved",
        "pat",
        1,
    )
    version = policies.get_version(policies.GetPolicyVersion(TRIAL, 1), uow=container.uow())
    assert version.published_by == "amy, approved by pat"
    assert version.draft_id == draft_id
    _, drafted = policies.get_draft(draft_id, uow=container.uow())
    assert version.policy == drafted.model_copy(update={"version": "1"})
    sent = names(container)
    sent = sent[sent.index("repayguard.approval.requested") :]  # after start-up's seed
    assert sent.index("repayguard.policy.published") < sent.index("repayguard.approval.approved"), (
        "the version and its approval commit together, after the request"
    )
    with pytest.raises(ApprovalNotPending):
        approve(container, team["paul"], asked.request_id)


def test_checkers_and_readers_never_initiate_and_makers_only_their_kinds(
    container: Container, team: dict[str, str]
) -> None:
    draft_id = submit_draft(container)
    ingest_events(
        IngestEvents(healthy_history("B1", NOW), source="t"),
        uow=container.uow(),
        setup=container.ingest,
    )
    refused = [
        ("pat", "policy_publish", {"draft_id": draft_id}),
        ("pat", "override", override("B1")),
        ("aud", "policy_publish", {"draft_id": draft_id}),
        ("cara", "policy_publish", {"draft_id": draft_id}),
        ("ann", "override", override("B1")),
        ("amy", "decision", {"borrower_id": "B1"}),
    ]
    for who, kind, payload in refused:
        with pytest.raises(ApprovalInitiatorNotAllowed):
            ask(container, team[who], kind, payload)
    with pytest.raises(ApprovalInitiatorNotAllowed, match=r"^an auditor may not ask"):
        ask(container, team["aud"], "policy_publish", {"draft_id": draft_id})
    assert (
        approvals.list_requests(approvals.QueueFilter(state=None), uow=container.uow()).total == 0
    )
    assert ask(container, team["cara"], "override", override("B1")).state == "pending"


def test_at_most_one_pending_request_per_subject_and_only_the_maker_withdraws(
    container: Container, team: dict[str, str]
) -> None:
    first = ask(container, team["ann"], "policy_publish", {"draft_id": submit_draft(container)})
    other_draft = submit_draft(container, note="(reworded)")
    with pytest.raises(PendingApprovalExists):
        ask(container, team["alan"], "policy_publish", {"draft_id": other_draft})
    another_policy = ask(
        container, team["alan"], "policy_publish", {"draft_id": submit_draft(container, "other")}
    )
    assert another_policy.state == "pending", "another subject has its own queue slot"
    with pytest.raises(ApprovalNotYours):
        approvals.withdraw(approvals.Withdraw(first.request_id, team["alan"]), uow=container.uow())

    gone = approvals.withdraw(
        approvals.Withdraw(first.request_id, team["ann"], "wrong draft"), uow=container.uow()
    )

    assert (gone.state, gone.comment, gone.checker_id) == ("withdrawn", "wrong draft", None)
    assert ask(container, team["alan"], "policy_publish", {"draft_id": other_draft}).state == (
        "pending"
    )
    with pytest.raises(ApprovalNotPending):
        approve(container, team["pat"], first.request_id)


def _sql(container: Container, statement: str, **params: object) -> None:
    with container.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_the_database_refuses_self_approval_and_edits_whoever_writes(
    container: Container, team: dict[str, str]
) -> None:
    asked = ask(container, team["ann"], "policy_publish", {"draft_id": submit_draft(container)})
    at = (NOW + timedelta(hours=1)).isoformat()
    bypasses = [
        # the maker approving their own request, straight in the table
        "UPDATE approval_requests SET state = 'approved', checker_id = maker_id, "
        "checker_name = maker_name, decided_at = :at WHERE request_id = :id",
        # approved without a checker
        "UPDATE approval_requests SET state = 'approved', decided_at = :at WHERE request_id = :id",
        # what was submitted, changed while pending
        "UPDATE approval_requests SET payload_sha256 = 'x' WHERE request_id = :id",
        "UPDATE approval_requests SET maker_id = NULL WHERE request_id = :id",
        "DELETE FROM approval_requests WHERE request_id = :id",
        # a second pending request about the same subject
        "INSERT INTO approval_requests (request_id, kind, subject, category, summary, payload, "
        "payload_sha256, reason, maker_name, state, created_at, expires_at) SELECT 'copy', kind, "
        "subject, category, summary, payload, payload_sha256, reason, maker_name, state, "
        "created_at, expires_at FROM approval_requests WHERE request_id = :id",
    ]
    for statement in bypasses:
        with pytest.raises(DBAPIError):
            _sql(container, statement, id=asked.request_id, at=at)
    approve(container, team["pat"], asked.request_id)
    for statement in (
        "UPDATE approval_requests SET checker_id = maker_id WHERE request_id = :id",
        "UPDATE approval_requests SET state = 'pending', decided_at = NULL WHERE request_id = :id",
        "UPDATE approval_requests SET comment = 'edited later' WHERE request_id = :id",
    ):
        with pytest.raises(DBAPIError):
            _sql(container, statement, id=asked.request_id)
    stored = approvals.get_request(asked.request_id, uow=container.uow())
    assert (stored.state, stored.checker_name, stored.comment) == ("approved", "pat", "checked")


def _drop_guard(container: Container) -> None:
    on = " ON approval_requests" if container.engine.dialect.name == "postgresql" else ""
    _sql(container, f"DROP TRIGGER approval_requests_decided_once{on}")


def test_a_payload_changed_after_submission_is_never_applied(
    container: Container, team: dict[str, str]
) -> None:
    asked = ask(container, team["ann"], "policy_publish", {"draft_id": submit_draft(container)})
    _, drafted = policies.get_draft(asked.payload["draft_id"], uow=container.uow())
    swapped = drafted.model_dump(mode="json")
    swapped["rows"][2]["then"]["manual"] = "allowed"  # still a valid policy, not the one approved
    with container.engine.begin() as connection:
        connection.execute(
            update(PolicyDraftRow)
            .where(PolicyDraftRow.draft_id == asked.payload["draft_id"])
            .values(document=swapped)
        )
    with pytest.raises(ApprovalPayloadChanged, match="no longer has the content"):
        approve(container, team["pat"], asked.request_id)

    second = ask(
        container, team["alan"], "policy_publish", {"draft_id": submit_draft(container, "b")}
    )
    with pytest.raises(DBAPIError), container.engine.begin() as connection:  # refused ...
        connection.execute(
            update(ApprovalRequestRow)
            .where(ApprovalRequestRow.request_id == second.request_id)
            .values(payload={"draft_id": asked.payload["draft_id"]})
        )
    _drop_guard(container)  # ... unless someone with the rights to drop triggers does
    with container.engine.begin() as connection:
        connection.execute(
            update(ApprovalRequestRow)
            .where(ApprovalRequestRow.request_id == second.request_id)
            .values(payload={**second.payload, "draft_id": asked.payload["draft_id"]})
        )
    with pytest.raises(ApprovalPayloadChanged, match="pinned hash"):
        approve(container, team["pat"], second.request_id)

    assert (
        policies.list_versions(policies.ListPolicyVersions(name=TRIAL), uow=container.uow()).total
        == 0
    )
    states = {
        r.state
        for r in approvals.list_requests(
            approvals.QueueFilter(state=None), uow=container.uow()
        ).items
    }
    assert states == {"pending"}, "a refused approval changes nothing"


def test_requests_expire_and_cannot_be_decided_late(
    container: Container, team: dict[str, str], clock: FixedClock
) -> None:
    asked = ask(container, team["ann"], "policy_publish", {"draft_id": submit_draft(container)})
    assert asked.expires_at == NOW + timedelta(days=7)
    short = ask(
        container,
        team["ann"],
        "emergency_review",
        {"action_id": "E1", "action": "overlay", "taken_at": NOW.isoformat(), "description": "x"},
        expires_in=timedelta(hours=1),
    )
    clock.advance(timedelta(hours=2))
    with pytest.raises(ApprovalExpired):
        approve(container, team["pat"], short.request_id)
    with pytest.raises(ApprovalExpired):
        approvals.reject(
            approvals.Reject(short.request_id, team["pat"], "too late"), uow=container.uow()
        )
    assert approve(container, team["pat"], asked.request_id).state == "approved"
    late = ask(
        container, team["alan"], "policy_publish", {"draft_id": submit_draft(container, "b")}
    )

    clock.advance(timedelta(days=7))
    with pytest.raises(ApprovalExpired):
        approve(container, team["pat"], late.request_id)
    assert "approvals.expire" in container.jobs.names(), "the worker runs the expiry"
    job = approvals.ExpireOverdueRequests(every=timedelta(minutes=5), batch=1)
    context = JobContext(uow=container.uow, clock=clock, holder="test", heartbeat=lambda: None)

    outcome = job.run(context)

    assert outcome.counts == {"expired": 2}, "in batches of one until none is left"
    expired = [
        approvals.get_request(r, uow=container.uow()) for r in (short.request_id, late.request_id)
    ]
    assert all(e.state == "expired" and e.checker_id is None for e in expired)
    assert approvals.expire_due(clock.now(), uow=container.uow()) == [], "idempotent"
    assert "repayguard.approval.expired" in names(container)
    with pytest.raises(ApprovalNotPending):
        approvals.withdraw(approvals.Withdraw(late.request_id, team["alan"]), uow=container.uow())
    again = ask(container, team["alan"], "policy_publish", {"draft_id": late.payload["draft_id"]})
    assert again.state == "pending", "an expired request frees its subject"
