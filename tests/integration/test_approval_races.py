"""Maker-checker under concurrency, on SQLite and PostgreSQL: two operators act on the same
subject or the same request at the same moment, each on their own thread with their own unit
of work (as two API workers would). Whatever the interleaving, exactly one of them wins, the
other gets the domain error it would get had they come one after the other (never a raw
database error), and what approving applies happens once.

Each race runs for several rounds, on a fresh subject each round, so a lucky ordering cannot
pass for a rule that holds; the assertions are about counts and final states, never timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

import pytest
from sqlalchemy import func, select

from repayguard import approvals, entitlements, policies
from repayguard.approvals import ApprovalRead
from repayguard.approvals.errors import ApprovalNotPending, PendingApprovalExists
from repayguard.bootstrap import Container
from repayguard.entitlements.models import EntitlementOverrideRow
from repayguard.errors import RepayguardError
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus

from support.approvals import context_of, make_team, override, submit_draft
from support.builders import healthy_history
from support.common import NOW

ROUNDS: Final = 10
BARRIER_TIMEOUT: Final = 30.0
"""Seconds a racer waits for the others at the start line: only a hang ever reaches it."""

MAKERS: Final = {"policy_publish": ("ann", "alan"), "override": ("cara", "carl")}
"""Two operators allowed to make each kind of request."""

Outcome = ApprovalRead | RepayguardError


def race(*calls: Callable[[], ApprovalRead]) -> list[Outcome]:
    """Run each call on its own thread, all released together; each gives back what it
    returned or the domain error it raised. Anything else (a raw IntegrityError, "database is
    locked") is re-raised here, with its traceback, and fails the test."""
    start = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT)

    def run(call: Callable[[], ApprovalRead]) -> Outcome:
        start.wait()
        try:
            return call()
        except RepayguardError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result() for future in futures]


def split(outcomes: list[Outcome]) -> tuple[ApprovalRead, RepayguardError]:
    """The one winner and the one loser of a two-way race (fails unless exactly one won)."""
    won = [o for o in outcomes if isinstance(o, ApprovalRead)]
    lost = [o for o in outcomes if isinstance(o, RepayguardError)]
    assert (len(won), len(lost)) == (1, 1), f"expected one winner, got {outcomes!r}"
    return won[0], lost[0]


@dataclass(frozen=True, slots=True)
class Setting:
    """A container with the team and, for overrides, borrowers that have an entitlement."""

    container: Container
    team: dict[str, str]

    def ask(self, who: str, kind: str, payload: dict[str, Any]) -> ApprovalRead:
        return approvals.request_approval(
            approvals.RequestApproval(kind, payload, by=self.team[who], reason="race"),
            uow=self.container.uow(),
            context=context_of(self.container),
        )

    def approve(self, who: str, request_id: str) -> ApprovalRead:
        return approvals.approve(
            approvals.Approve(request_id, self.team[who], "checked"),
            uow=self.container.uow(),
            context=context_of(self.container),
        )

    def withdraw(self, who: str, request_id: str) -> ApprovalRead:
        return approvals.withdraw(
            approvals.Withdraw(request_id, self.team[who], "changed my mind"),
            uow=self.container.uow(),
        )

    def payload(self, kind: str, subject: str, maker: str) -> dict[str, Any]:
        """What ``maker`` submits about ``subject``: their own draft of the policy named
        ``subject``, or an override for the borrower ``subject``."""
        if kind == "policy_publish":
            return {"draft_id": submit_draft(self.container, subject, note=f"({maker})")}
        return override(subject, note=f"asked by {maker}")

    def subject(self, kind: str, n: int) -> str:
        return f"race-policy-{n}" if kind == "policy_publish" else borrower(n)

    def requests(self, kind: str, subject: str, state: str | None) -> list[ApprovalRead]:
        where = approvals.QueueFilter(state=state, kind=kind, subject=subject)
        return approvals.list_requests(where, uow=self.container.uow()).items

    def effects(self, kind: str, request: ApprovalRead) -> int:
        """How many times approving ``request`` took effect: the versions of its policy (each
        published from its draft), or the override records it wrote (each also announced once
        on the bus)."""
        bus = self.container.bus
        assert isinstance(bus, RecordingBus)
        if kind == "policy_publish":
            versions = policies.list_versions(
                policies.ListPolicyVersions(name=request.subject), uow=self.container.uow()
            ).items
            assert {v.draft_id for v in versions} <= {request.payload["draft_id"]}
            announced = [
                m
                for m in bus.published
                if m.name == policies.POLICY_PUBLISHED
                and m.payload["draft_id"] == request.payload["draft_id"]
            ]
            assert len(announced) == len(versions)
            return len(versions)
        with self.container.session_factory() as session:
            written = session.scalar(
                select(func.count())
                .select_from(EntitlementOverrideRow)
                .where(EntitlementOverrideRow.approval_id == request.request_id)
            )
        announced = [
            m
            for m in bus.published
            if m.name == entitlements.ENTITLEMENT_OVERRIDDEN
            and m.payload["approval_id"] == request.request_id
        ]
        assert len(announced) == written
        return int(written or 0)

    def approvals_announced(self, request: ApprovalRead) -> list[str]:
        """The names of the ``repayguard.approval.*`` decisions announced about ``request``."""
        bus = self.container.bus
        assert isinstance(bus, RecordingBus)
        return [
            m.name
            for m in bus.published
            if m.name in (approvals.APPROVAL_APPROVED, approvals.APPROVAL_WITHDRAWN)
            and m.payload.get("request_id") == request.request_id
        ]


def borrower(n: int) -> str:
    return f"RACE{n:02d}"


@pytest.fixture
def setting(container: Container) -> Setting:
    team = make_team(container)
    history = [e for n in range(ROUNDS) for e in healthy_history(borrower(n), NOW)]
    ingest_events(IngestEvents(history, source="t"), uow=container.uow(), setup=container.ingest)
    with container.session_factory() as session:
        decided = entitlements.load(session, [borrower(n) for n in range(ROUNDS)])
    assert len(decided) == ROUNDS, "every borrower has an entitlement an override can change"
    return Setting(container, team)


KINDS = pytest.mark.parametrize("kind", ["policy_publish", "override"])


@KINDS
def test_two_makers_asking_about_one_subject_at_once_leave_one_pending_request(
    setting: Setting, kind: str
) -> None:
    for n in range(ROUNDS):
        subject = setting.subject(kind, n)
        calls = [
            partial(setting.ask, maker, kind, setting.payload(kind, subject, maker))
            for maker in MAKERS[kind]
        ]

        won, lost = split(race(*calls))

        assert isinstance(lost, PendingApprovalExists), f"round {n}: {lost!r}"
        assert lost.detail["subject"] == subject
        assert won.state == "pending"
        pending = setting.requests(kind, subject, "pending")
        assert [r.request_id for r in pending] == [won.request_id], f"round {n}"
        assert len(setting.requests(kind, subject, None)) == 1, "the loser left nothing behind"


@KINDS
def test_two_checkers_approving_one_request_at_once_apply_it_once(
    setting: Setting, kind: str
) -> None:
    maker = MAKERS[kind][0]
    for n in range(ROUNDS):
        subject = setting.subject(kind, n)
        asked = setting.ask(maker, kind, setting.payload(kind, subject, maker))

        won, lost = split(
            race(
                partial(setting.approve, "pat", asked.request_id),
                partial(setting.approve, "paul", asked.request_id),
            )
        )

        assert isinstance(lost, ApprovalNotPending), f"round {n}: {lost!r}"
        assert (won.state, won.request_id) == ("approved", asked.request_id)
        [stored] = setting.requests(kind, subject, None)
        assert (stored.state, stored.checker_name) == ("approved", won.checker_name)
        assert stored.outcome == won.outcome
        assert setting.effects(kind, stored) == 1, f"round {n}: applied more than once"
        assert setting.approvals_announced(stored) == [approvals.APPROVAL_APPROVED]


@KINDS
def test_an_approval_racing_the_makers_withdrawal_ends_one_way_or_the_other(
    setting: Setting, kind: str
) -> None:
    maker = MAKERS[kind][0]
    for n in range(ROUNDS):
        subject = setting.subject(kind, n)
        asked = setting.ask(maker, kind, setting.payload(kind, subject, maker))

        won, lost = split(
            race(
                partial(setting.approve, "pat", asked.request_id),
                partial(setting.withdraw, maker, asked.request_id),
            )
        )

        assert isinstance(lost, ApprovalNotPending), f"round {n}: {lost!r}"
        [stored] = setting.requests(kind, subject, None)
        assert stored.state == won.state, f"round {n}: the stored state is the winner's"
        if won.state == "approved":
            assert (stored.checker_name, setting.effects(kind, stored)) == ("pat", 1)
            assert setting.approvals_announced(stored) == [approvals.APPROVAL_APPROVED]
        else:
            assert won.state == "withdrawn"
            assert (stored.checker_name, stored.outcome) == (None, None)
            assert setting.effects(kind, stored) == 0, f"round {n}: withdrawn, yet applied"
            assert setting.approvals_announced(stored) == [approvals.APPROVAL_WITHDRAWN]
