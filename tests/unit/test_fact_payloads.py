"""Each feature's facts serialise to the payload its producers wrote before facts were typed:
the audit chain hashes those bytes, the outbox stores them, and other releases read them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from repayguard.approvals import ApprovalApproved, ApprovalRequested, EmergencyReviewed
from repayguard.borrowers import BorrowerKeysRotated, BorrowerProfileSaved, BorrowerProfileViewed
from repayguard.complaints import ComplaintFiled, ComplaintResolved
from repayguard.decisions import GuardrailApplied, RunCompleted
from repayguard.entitlements import (
    Entitlement,
    EntitlementsActivated,
    EntitlementsChanged,
    MethodStates,
)
from repayguard.hardship import HardshipClosed
from repayguard.identity.messages import (
    LoginAttemptFailed,
    OperatorAdded,
    OperatorDisabled,
    PasswordSet,
    SessionStarted,
    TokenCreated,
    TokenRejected,
    TokenRevoked,
    TokenUsed,
)
from repayguard.ingestion import EventsIngested, QuarantineRotated
from repayguard.keys import KeysRotated
from repayguard.monitoring import IncidentAcknowledged, IncidentOpened, IncidentResolved
from repayguard.notices import NoticeDeliveryFailed, NoticeRef, NoticesCreated
from repayguard.overlays import OverlayArmed, OverlayReviewed, PlaybookApproved
from repayguard.platform.messages import Fact, JSONValue
from repayguard.policies import PolicyPublished, PolicySubmitted
from repayguard.remedies import RemedyApproved
from repayguard.risk import ModelPromoted, ModelRegistered
from repayguard.shadow import ChallengerChanged

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
LATER = datetime(2026, 12, 7, 9, 45, tzinfo=UTC)

IDENTITY: list[tuple[Fact, dict[str, JSONValue]]] = [
    (
        OperatorAdded(operator_id="o1", username="ada", role="admin"),
        {"operator_id": "o1", "username": "ada", "role": "admin"},
    ),
    (OperatorDisabled(operator_id="o1"), {"operator_id": "o1"}),
    (PasswordSet(operator_id="o1"), {"operator_id": "o1"}),
    (LoginAttemptFailed(operator_id="o1", failures=2), {"operator_id": "o1", "failures": 2}),
    (SessionStarted(operator_id="o1", token_id="t1"), {"operator_id": "o1", "token_id": "t1"}),
    (
        TokenCreated(token_id="t1", kind="service", operator_id=None),
        {"token_id": "t1", "kind": "service", "operator_id": None},
    ),
    (TokenRevoked(token_id="t1"), {"token_id": "t1"}),
    (
        TokenUsed(
            subject="token:t1",
            token_id="t1",
            kind="borrower",
            role=None,
            operator_id=None,
            borrower_id="B1",
            calls=3,
            denied=1,
            first_at=AT,
            last_at=LATER,
            routes={"GET /a": 2, "POST /b": 1},
        ),
        {
            "subject": "token:t1",
            "token_id": "t1",
            "kind": "borrower",
            "role": None,
            "operator_id": None,
            "borrower_id": "B1",
            "calls": 3,
            "denied": 1,
            "first_at": "2026-12-07T09:30:00+00:00",
            "last_at": "2026-12-07T09:45:00+00:00",
            "routes": {"GET /a": 2, "POST /b": 1},
        },
    ),
    (
        TokenRejected(
            subject="token:unresolved",
            calls=1,
            denied=1,
            first_at=AT,
            last_at=AT,
            routes={"GET /a": 1},
        ),
        {
            "subject": "token:unresolved",
            "calls": 1,
            "denied": 1,
            "first_at": "2026-12-07T09:30:00+00:00",
            "last_at": "2026-12-07T09:30:00+00:00",
            "routes": {"GET /a": 1},
        },
    ),
]

KEYS_AND_BORROWERS: list[tuple[Fact, dict[str, JSONValue]]] = [
    (
        KeysRotated(subject="data_key:k2", active="k2", key_ids=("k1", "k2"), added="k2"),
        {"subject": "data_key:k2", "active": "k2", "key_ids": ["k1", "k2"], "added": "k2"},
    ),
    (
        BorrowerProfileSaved(
            borrower_id="B1",
            created=False,
            changed_fields=("phone", "locale"),
            locale="en",
            key_id="k2",
        ),
        {
            "borrower_id": "B1",
            "created": False,
            "changed_fields": ["phone", "locale"],
            "locale": "en",
            "key_id": "k2",
        },
    ),
    (
        BorrowerProfileViewed(borrower_id="B1", revealed=True, purpose="complaint"),
        {"borrower_id": "B1", "revealed": True, "purpose": "complaint"},
    ),
    (
        BorrowerKeysRotated(subject="data_key:k2", key_id="k2", profiles=40, at=AT),
        {
            "subject": "data_key:k2",
            "key_id": "k2",
            "profiles": 40,
            "at": "2026-12-07T09:30:00+00:00",
        },
    ),
]

OVERLAY_FIELDS: dict[str, JSONValue] = {
    "subject": "overlay:ov1",
    "overlay_id": "ov1",
    "playbook_name": "market-shock",
    "playbook_version": 2,
    "playbook_hash": "h",
    "armed_by": "amy",
    "incident_id": None,
    "armed_at": "2026-12-07T09:30:00Z",
    "expires_at": "2026-12-08T09:30:00Z",
    "review_due_at": "2026-12-07T13:30:00Z",
    "state": "active",
    "reason": "stress",
    "reviewed_by": None,
    "reviewed_at": None,
    "lifted_by": None,
    "lifted_at": None,
}

GOVERNANCE: list[tuple[Fact, dict[str, JSONValue]]] = [
    (
        ModelRegistered(
            version="m2",
            kind="scorecard",
            card_sha256="c",
            created_by="amy",
            metrics={"evaluated_on": "2026-12-01", "auc": 0.8, "ks": None},
        ),
        {
            "version": "m2",
            "kind": "scorecard",
            "card_sha256": "c",
            "created_by": "amy",
            "metrics": {"evaluated_on": "2026-12-01", "auc": 0.8, "ks": None},
        },
    ),
    (
        ModelPromoted(version="m2", kind="scorecard", previous=None, promoted_by="bo", note=""),
        {"version": "m2", "kind": "scorecard", "previous": None, "promoted_by": "bo", "note": ""},
    ),
    (
        PolicySubmitted(draft_id="d1", name="cn", content_hash="h", submitted_by="amy"),
        {"draft_id": "d1", "name": "cn", "content_hash": "h", "submitted_by": "amy"},
    ),
    (
        PolicyPublished(
            name="cn",
            version=3,
            content_hash="h",
            jurisdiction="CN",
            hit_policy="first",
            rows=12,
            draft_id="d1",
            published_by="bo",
            published_at=AT,
        ),
        {
            "name": "cn",
            "version": 3,
            "content_hash": "h",
            "jurisdiction": "CN",
            "hit_policy": "first",
            "rows": 12,
            "draft_id": "d1",
            "published_by": "bo",
            "published_at": "2026-12-07T09:30:00+00:00",
        },
    ),
    (
        ChallengerChanged(set_=True, name="cn", version="4", content_hash="h", set_by="amy"),
        {"name": "cn", "version": "4", "content_hash": "h", "set_by": "amy", "set": True},
    ),
    (ChallengerChanged(set_=False, cleared_by="bo"), {"set": False, "cleared_by": "bo"}),
    (
        IncidentOpened(
            incident_id="i1",
            metric="overdue_rate_1p",
            segment="tier=T5",
            direction="up",
            detector="ewma",
            deviation_sigma=4.2,
            change_pct=None,
            since="2026-12-01",
            value=0.12,
            baseline=0.04,
            thresholds_version="1",
        ),
        {
            "subject": "incident:i1",
            "incident_id": "i1",
            "metric": "overdue_rate_1p",
            "segment": "tier=T5",
            "direction": "up",
            "detector": "ewma",
            "deviation_sigma": 4.2,
            "change_pct": None,
            "since": "2026-12-01",
            "value": 0.12,
            "baseline": 0.04,
            "thresholds_version": "1",
        },
    ),
    (
        IncidentAcknowledged("i1", "utilization", "all", "acknowledged", "amy"),
        {
            "subject": "incident:i1",
            "incident_id": "i1",
            "metric": "utilization",
            "segment": "all",
            "state": "acknowledged",
            "by": "amy",
        },
    ),
    (
        IncidentResolved("i1", "utilization", "all", "resolved", "bo"),
        {
            "subject": "incident:i1",
            "incident_id": "i1",
            "metric": "utilization",
            "segment": "all",
            "state": "resolved",
            "by": "bo",
        },
    ),
    (
        PlaybookApproved(
            subject="playbook:market-shock:2",
            name="market-shock",
            version=2,
            content_hash="h",
            state="approved",
            by="bo",
        ),
        {
            "subject": "playbook:market-shock:2",
            "name": "market-shock",
            "version": 2,
            "content_hash": "h",
            "state": "approved",
            "by": "bo",
        },
    ),
    (OverlayReviewed(**OVERLAY_FIELDS), OVERLAY_FIELDS),  # type: ignore[arg-type]
    (
        OverlayArmed(**OVERLAY_FIELDS, tiers=("T4", "T5")),  # type: ignore[arg-type]
        {**OVERLAY_FIELDS, "tiers": ["T4", "T5"]},
    ),
]

APPROVAL_FIELDS: dict[str, object] = {
    "subject": "approval:q1",
    "request_id": "q1",
    "kind": "override",
    "category": "c",
    "state": "approved",
    "payload_sha256": "s",
    "maker": "amy",
    "checker": "bo",
    "created_at": AT,
    "expires_at": LATER,
    "decided_at": LATER,
    "comment_sha256": "e3b0",
}
APPROVAL_PAYLOAD: dict[str, JSONValue] = {
    **APPROVAL_FIELDS,  # type: ignore[dict-item]
    "created_at": "2026-12-07T09:30:00+00:00",
    "expires_at": "2026-12-07T09:45:00+00:00",
    "decided_at": "2026-12-07T09:45:00+00:00",
}
COMPLAINT_FIELDS: dict[str, object] = {
    "subject": "complaint:c1",
    "complaint_id": "c1",
    "borrower_id": "B1",
    "decision_id": "d1",
    "contested": ("ach",),
    "status": "open",
    "filed_at": AT,
    "due_at": LATER,
    "escalation": None,
    "approval_id": None,
    "reviewer": None,
    "comment_sha256": None,
    "resolved_at": None,
}
COMPLAINT_PAYLOAD: dict[str, JSONValue] = {
    **COMPLAINT_FIELDS,  # type: ignore[dict-item]
    "contested": ["ach"],
    "filed_at": "2026-12-07T09:30:00+00:00",
    "due_at": "2026-12-07T09:45:00+00:00",
}

CASES_AND_APPROVALS: list[tuple[Fact, dict[str, JSONValue]]] = [
    (
        ApprovalApproved(**APPROVAL_FIELDS, borrower_id="B1", outcome={"decision_id": "d2"}),  # type: ignore[arg-type]
        {**APPROVAL_PAYLOAD, "borrower_id": "B1", "outcome": {"decision_id": "d2"}},
    ),
    (
        ApprovalRequested(**APPROVAL_FIELDS, target="cn"),  # type: ignore[arg-type]
        {**APPROVAL_PAYLOAD, "target": "cn"},
    ),
    (
        EmergencyReviewed(
            subject="emergency:a1",
            action_id="a1",
            action="freeze",
            taken_by="amy",
            endorsed=True,
            reviewed_by="bo",
            request_id="q1",
        ),
        {
            "subject": "emergency:a1",
            "action_id": "a1",
            "action": "freeze",
            "taken_by": "amy",
            "endorsed": True,
            "reviewed_by": "bo",
            "request_id": "q1",
        },
    ),
    (
        ComplaintFiled(**COMPLAINT_FIELDS, filed_by="agent"),  # type: ignore[arg-type]
        {**COMPLAINT_PAYLOAD, "filed_by": "agent"},
    ),
    (
        ComplaintResolved(**COMPLAINT_FIELDS, outcome="reversed", approved_by="bo"),  # type: ignore[arg-type]
        {**COMPLAINT_PAYLOAD, "outcome": "reversed", "approved_by": "bo"},
    ),
    (
        HardshipClosed(
            subject="hardship:h1",
            case_id="h1",
            borrower_id="B1",
            reason="job_loss",
            status="closed",
            opened_by="amy",
            opened_at=AT,
            due_at=LATER,
            escalation=None,
            reviewer="bo",
            closed_at=LATER,
            outcome="granted",
        ),
        {
            "subject": "hardship:h1",
            "case_id": "h1",
            "borrower_id": "B1",
            "reason": "job_loss",
            "status": "closed",
            "opened_by": "amy",
            "opened_at": "2026-12-07T09:30:00+00:00",
            "due_at": "2026-12-07T09:45:00+00:00",
            "escalation": None,
            "reviewer": "bo",
            "closed_at": "2026-12-07T09:45:00+00:00",
            "outcome": "granted",
        },
    ),
    (
        RemedyApproved(
            subject="remedy:r1",
            remedy_id="r1",
            complaint_id="c1",
            borrower_id="B1",
            decision_id="d1",
            kind="refund",
            amount_minor=1250,
            amount="12.50",
            currency="CNY",
            basis={"fees": [1, 2]},
            state="approved",
            maker_id=None,
            maker="amy",
            approval_id="q1",
            decided_by="bo",
            decided_at=LATER,
        ),
        {
            "subject": "remedy:r1",
            "remedy_id": "r1",
            "complaint_id": "c1",
            "borrower_id": "B1",
            "decision_id": "d1",
            "kind": "refund",
            "amount_minor": 1250,
            "amount": "12.50",
            "currency": "CNY",
            "basis": {"fees": [1, 2]},
            "state": "approved",
            "maker_id": None,
            "maker": "amy",
            "approval_id": "q1",
            "decided_by": "bo",
            "decided_at": "2026-12-07T09:45:00+00:00",
        },
    ),
]

KEPT = Entitlement(
    "B1",
    MethodStates("optional", "allowed", "allowed", ("app_balance",)),
    None,
    AT,
    None,
    None,
    ("R1",),
    "D1",
    "default",
    1,
    None,
)

RUNS: list[tuple[Fact, dict[str, JSONValue]]] = [
    (
        EventsIngested(batch_id="b1", accepted=2, borrower_ids=("B1", "B2"), latest_occurred_at=AT),
        {
            "batch_id": "b1",
            "accepted": 2,
            "borrower_ids": ["B1", "B2"],
            "latest_occurred_at": "2026-12-07T09:30:00+00:00",
        },
    ),
    (
        QuarantineRotated(subject="data_key:k2", key_id="k2", records=5),
        {"subject": "data_key:k2", "key_id": "k2", "records": 5},
    ),
    (
        RunCompleted(
            run_id="r1",
            mode="batch",
            trigger="cli",
            as_of=AT,
            borrowers=7,
            changed=3,
            held=1,
            lineage={"policy_version": "3"},
        ),
        {
            "run_id": "r1",
            "mode": "batch",
            "trigger": "cli",
            "as_of": "2026-12-07T09:30:00+00:00",
            "borrowers": 7,
            "changed": 3,
            "held": 1,
            "lineage": {"policy_version": "3"},
        },
    ),
    (
        GuardrailApplied(
            run_id="r1", policy_version="3", count=1, decisions=({"borrower_id": "B1"},)
        ),
        {"run_id": "r1", "policy_version": "3", "count": 1, "decisions": [{"borrower_id": "B1"}]},
    ),
    (
        EntitlementsChanged(run_id="r1", told_at=AT, entitlements=(KEPT,)),
        {
            "run_id": "r1",
            "told_at": "2026-12-07T09:30:00+00:00",
            "entitlements": [KEPT.as_payload()],
        },
    ),
    (
        EntitlementsChanged(cause="expiry", entitlements=(KEPT,)),
        {"cause": "expiry", "entitlements": [KEPT.as_payload()]},
    ),
    (
        EntitlementsActivated(activated_at=AT, entitlements=(KEPT,)),
        {"activated_at": "2026-12-07T09:30:00+00:00", "entitlements": [KEPT.as_payload()]},
    ),
    (
        NoticesCreated(notices=(NoticeRef("n1", "B1", "advance", "D1"),)),
        {
            "notices": [
                {
                    "notice_id": "n1",
                    "borrower_id": "B1",
                    "kind": "advance",
                    "decision_id": "D1",
                    "occasion_id": None,
                }
            ]
        },
    ),
    (
        NoticeDeliveryFailed(
            notice_id="n1",
            delivery_id="d1",
            borrower_id="B1",
            channel="sms",
            attempts=3,
            error="timeout",
        ),
        {
            "notice_id": "n1",
            "delivery_id": "d1",
            "borrower_id": "B1",
            "channel": "sms",
            "attempts": 3,
            "error": "timeout",
        },
    ),
]

CASES = IDENTITY + KEYS_AND_BORROWERS + GOVERNANCE + CASES_AND_APPROVALS + RUNS


@pytest.mark.parametrize(("fact", "expected"), CASES, ids=lambda v: getattr(v, "NAME", ""))
def test_a_fact_serialises_to_the_payload_written_before_facts_were_typed(
    fact: Fact, expected: dict[str, JSONValue]
) -> None:
    assert fact.payload() == expected


@pytest.mark.parametrize(("fact", "expected"), CASES, ids=lambda v: getattr(v, "NAME", ""))
def test_a_fact_comes_back_from_its_payload(fact: Fact, expected: dict[str, JSONValue]) -> None:
    assert type(fact).from_payload(expected) == fact
