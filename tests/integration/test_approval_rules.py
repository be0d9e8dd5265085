"""Every role × action × state of maker-checker: a hypothesis state machine submits, approves,
rejects, withdraws and expires requests as every kind of operator (and tries the database
directly), predicts each outcome from the rules, and checks the rules hold after every step —
on SQLite and on PostgreSQL. 0 bypasses is the figure this test publishes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from repayguard import approvals, entitlements, policies
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
from repayguard.errors import RepayguardError
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock
from repayguard.policies.errors import PolicyVersionConflict

from support.approvals import TEAM, context_of, make_team, override, submit_draft
from support.builders import healthy_history
from support.common import NOW

KINDS = ("policy_publish", "override", "emergency_review")
BORROWERS = ("SM-0", "SM-1", "SM-2")
NAMES = tuple(TEAM)
MAKERS = {
    "policy_publish": {"analyst", "admin"},
    "override": {"cs_agent", "admin"},
    "emergency_review": {"analyst", "admin"},
}
"""Who may make each kind of request: the specification, written independently of the code."""
CHECKERS = {"approver", "admin"}
STATES_OFFERED = [
    {"auto_debit": "optional", "early_repayment": "allowed", "manual": "allowed"},
    {"auto_debit": "mandatory", "early_repayment": "restricted", "manual": "allowed"},
    {"auto_debit": "disabled", "early_repayment": "allowed", "manual": "forced"},
]


T = TypeVar("T")


def attempt(call: Callable[[], T]) -> tuple[T | None, RepayguardError | None]:
    """The call's result, or the expected refusal it raised."""
    try:
        return call(), None
    except RepayguardError as exc:
        return None, exc


def refused_as(
    failed: RepayguardError | None, refusal: type[RepayguardError] | None, what: str
) -> bool:
    """Whether the call was refused, after checking it was refused exactly as the rules say."""
    if failed is None:
        assert refusal is None, f"{what} went through although the rules say {refusal}"
        return False
    assert refusal is not None, f"{what} was refused: {failed.code} {failed.message}"
    assert isinstance(failed, refusal), f"{what}: {failed.code} instead of {refusal.__name__}"
    return True


@dataclass
class Expected:
    """What the rules say a request is, whatever the service and database do."""

    kind: str
    subject: str
    maker: str
    payload: dict[str, Any]
    expires_at: datetime
    state: str = "pending"
    checker: str | None = None
    excluded: set[str] = field(default_factory=set)


class MakerChecker(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self, container: Container, team: dict[str, str]) -> None:
        super().__init__()
        self.container = container
        assert isinstance(container.clock, FixedClock)
        self.clock = container.clock
        self.team = team
        self.prefix = uuid.uuid4().hex[:8]
        self.expected: dict[str, Expected] = {}
        self.drafts: dict[int, str] = {}
        self.published: set[int] = set()
        self.overridden: dict[str, str] = {}  # borrower → request id of the override in force

    # -- the rules as the model sees them ------------------------------------------------------

    def _pending(self, kind: str, subject: str) -> bool:
        return any(
            e.kind == kind and e.subject == subject and e.state == "pending"
            for e in self.expected.values()
        )

    def _subject_and_payload(self, kind: str, slot: int, variant: int) -> tuple[str, Any]:
        if kind == "override":
            borrower = BORROWERS[slot]
            return borrower, override(borrower, **STATES_OFFERED[variant], days=5 + variant)
        if kind == "emergency_review":
            action = f"{self.prefix}-e{slot}"
            return action, {
                "action_id": action,
                "action": "tighten-segment",
                "taken_at": (self.clock.now() - timedelta(hours=1)).isoformat(),
                "taken_by": NAMES[(slot + variant) % len(NAMES)],
                "description": "time-boxed overlay",
            }
        if slot not in self.drafts:
            self.drafts[slot] = submit_draft(self.container, f"sm-{self.prefix}-{slot}")
        return f"sm-{self.prefix}-{slot}", {"draft_id": self.drafts[slot]}

    @initialize(target=requests)
    def one_request_of_each_kind(self) -> Any:
        """Start from requests a maker of each kind made, so decisions happen early."""
        made = [
            self._submit(who, kind, 0, 0, None)
            for who, kind in (
                ("ann", "policy_publish"),
                ("cara", "override"),
                ("amy", "emergency_review"),
            )
        ]
        return multiple(*made)

    @rule(
        target=requests,
        who=st.sampled_from(NAMES),
        kind=st.sampled_from(KINDS),
        slot=st.integers(0, 2),
        variant=st.integers(0, 2),
        hours=st.none() | st.integers(1, 96),
    )
    def submit(self, who: str, kind: str, slot: int, variant: int, hours: int | None) -> Any:
        made = self._submit(who, kind, slot, variant, hours)
        return multiple() if made is None else made

    def _submit(
        self, who: str, kind: str, slot: int, variant: int, hours: int | None
    ) -> str | None:
        subject, payload = self._subject_and_payload(kind, slot, variant)
        refusal: type[RepayguardError] | None = None
        if TEAM[who] not in MAKERS[kind]:
            refusal = ApprovalInitiatorNotAllowed
        elif kind == "policy_publish" and slot in self.published:
            refusal = PolicyVersionConflict
        elif self._pending(kind, subject):
            refusal = PendingApprovalExists
        made, failed = attempt(
            lambda: approvals.request_approval(
                approvals.RequestApproval(
                    kind,
                    payload,
                    by=self.team[who],
                    expires_in=timedelta(hours=hours) if hours else None,
                ),
                uow=self.container.uow(),
                context=context_of(self.container),
            )
        )
        if refused_as(failed, refusal, f"{who} submitting {kind}"):
            return None
        assert made is not None
        assert made.maker_id == self.team[who]
        excluded = {payload["taken_by"]} if kind == "emergency_review" else set()
        self.expected[made.request_id] = Expected(
            kind, subject, who, made.payload, made.expires_at, excluded=excluded
        )
        return made.request_id

    def _decision_refusal(self, request_id: str, who: str) -> type[RepayguardError] | None:
        e = self.expected[request_id]
        if TEAM[who] not in CHECKERS:
            return ApprovalCheckerNotAllowed
        if e.state != "pending":
            return ApprovalNotPending
        if self.clock.now() >= e.expires_at:
            return ApprovalExpired
        if who == e.maker or who in e.excluded:
            return MakerCannotApprove
        return None

    def _decide(self, request_id: str, who: str, *, approving: bool) -> None:
        refusal = self._decision_refusal(request_id, who)
        by = self.team[who]
        done, failed = attempt(
            lambda: (
                approvals.approve(
                    approvals.Approve(request_id, by),
                    uow=self.container.uow(),
                    context=context_of(self.container),
                )
                if approving
                else approvals.reject(
                    approvals.Reject(request_id, by, "not now"), uow=self.container.uow()
                )
            )
        )
        if refused_as(failed, refusal, f"{who} deciding {request_id}"):
            return
        assert done is not None
        e = self.expected[request_id]
        e.state, e.checker = ("approved" if approving else "rejected"), who
        assert (done.state, done.checker_id) == (e.state, self.team[who])
        if approving and e.kind == "override":
            self.overridden[e.subject] = request_id
        if approving and e.kind == "policy_publish":
            self.published.add(int(e.subject.rsplit("-", 1)[1]))

    @rule(request_id=requests, who=st.sampled_from(NAMES))
    def approve(self, request_id: str, who: str) -> None:
        self._decide(request_id, who, approving=True)

    @rule(request_id=requests, who=st.sampled_from(NAMES))
    def reject(self, request_id: str, who: str) -> None:
        self._decide(request_id, who, approving=False)

    @rule(request_id=requests, who=st.sampled_from(NAMES))
    def withdraw(self, request_id: str, who: str) -> None:
        e = self.expected[request_id]
        refusal: type[RepayguardError] | None = None
        if e.state != "pending":
            refusal = ApprovalNotPending
        elif self.clock.now() >= e.expires_at:
            refusal = ApprovalExpired
        elif who != e.maker:
            refusal = ApprovalNotYours
        _, failed = attempt(
            lambda: approvals.withdraw(
                approvals.Withdraw(request_id, self.team[who]), uow=self.container.uow()
            )
        )
        if refused_as(failed, refusal, f"{who} withdrawing {request_id}"):
            return
        e.state = "withdrawn"

    @rule(hours=st.integers(1, 72))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule()
    def expire(self) -> None:
        now = self.clock.now()
        due = {
            rid for rid, e in self.expected.items() if e.state == "pending" and e.expires_at <= now
        }
        closed = approvals.expire_due(now, uow=self.container.uow())
        assert {c.request_id for c in closed} == due
        for rid in due:
            self.expected[rid].state = "expired"

    @rule(request_id=requests)
    def approve_own_request_in_the_database(self, request_id: str) -> None:
        """A direct UPDATE making the maker the checker: refused in every state."""
        with pytest.raises(DBAPIError), self.container.engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE approval_requests SET state = 'approved', checker_id = maker_id, "
                    "checker_name = maker_name, decided_at = created_at, comment = 'self' "
                    "WHERE request_id = :id"
                ),
                {"id": request_id},
            )

    # -- after every step ----------------------------------------------------------------------

    @invariant()
    def the_store_agrees_with_the_rules(self) -> None:
        with self.container.session_factory() as session:
            rows = {
                r.request_id: r
                for r in session.scalars(
                    select(ApprovalRequestRow).where(
                        ApprovalRequestRow.request_id.in_(list(self.expected))
                    )
                )
            }
            self_approved = session.scalar(
                select(func.count())
                .select_from(ApprovalRequestRow)
                .where(ApprovalRequestRow.checker_id == ApprovalRequestRow.maker_id)
            )
            pending = session.execute(
                select(ApprovalRequestRow.kind, ApprovalRequestRow.subject, func.count())
                .where(ApprovalRequestRow.state == "pending")
                .group_by(ApprovalRequestRow.kind, ApprovalRequestRow.subject)
                .having(func.count() > 1)
            ).all()
            current = entitlements.load(session, list(self.overridden))
        assert self_approved == 0, "a request was decided by its maker"
        assert pending == [], "more than one pending request about a subject"
        for rid, e in self.expected.items():
            row = rows[rid]
            assert row.state == e.state, f"{rid}: {row.state} in the store, {e.state} by the rules"
            assert row.payload == e.payload, "what was submitted changed"
            assert approvals.payload_sha256(row.payload) == row.payload_sha256
            if e.state in ("approved", "rejected"):
                assert row.checker_id == self.team[str(e.checker)]
                assert row.checker_id != row.maker_id
                assert TEAM[str(e.checker)] in CHECKERS
            else:
                assert row.checker_id is None
        for borrower, rid in self.overridden.items():
            applied = self.expected[rid].payload
            held = current[borrower]
            assert (held.decision_id, held.states.as_dict()) == (rid, applied["states"]), (
                "the entitlement is not exactly the approved override"
            )

    def teardown(self) -> None:
        # Free every subject for the next example (requests never leave the table).
        approvals.expire_due(self.clock.now() + timedelta(days=365), uow=self.container.uow())


@pytest.mark.slow
def test_no_role_action_or_state_bypasses_maker_checker(container: Container) -> None:
    team = make_team(container)
    events = [e for b in BORROWERS for e in healthy_history(b, NOW)]
    ingest_events(IngestEvents(events, source="t"), uow=container.uow(), setup=container.ingest)
    published = policies.list_versions(policies.ListPolicyVersions(), uow=container.uow())
    assert [(v.name, v.published_by) for v in published.items] == [
        ("cn-consumer-credit-line", "system")  # the store's seed; the machine's names are its own
    ]
    run_state_machine_as_test(
        lambda: MakerChecker(container, team),
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    with container.session_factory() as session:
        decided = session.scalar(
            select(func.count())
            .select_from(ApprovalRequestRow)
            .where(ApprovalRequestRow.state.in_(("approved", "rejected")))
        )
    assert decided is not None
    assert decided > 10, "the machine reached decisions, not only refusals"
