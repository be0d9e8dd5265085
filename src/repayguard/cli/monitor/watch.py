"""The stress test's day-by-day replay over a live container: ingest, decide, one worker pass,
and what the detectors and overlays did (``repayguard.cli.monitor.stress`` runs it)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import polars as pl

from repayguard import approvals, decisions, entitlements, monitoring, notices, overlays, policies
from repayguard.bootstrap import Container
from repayguard.cli.monitor.stress import (
    CHECKER,
    MAKER,
    PLAYBOOK,
    REQUESTER,
    IncidentSeen,
    OverlaySeen,
    StressScenario,
    Tightened,
)
from repayguard.core.policy.guardrails import g1_holds
from repayguard.core.policy.model import Methods
from repayguard.platform.clock import FixedClock
from repayguard.resources import read_text
from repayguard.scheduler import Worker

_EXTRA_DAYS = 4
"""Days the replay goes on after the watch while an overlay is still in force."""
_SEGMENT_TIERS = (4, 5)
"""The shipped market-stress playbook's tiers (T4, T5)."""


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


class Watch:
    """Drives one container through the scenario and keeps what it saw. One instance per
    replay; ``prepare`` first, then ``replay`` each day in order."""

    def __init__(
        self,
        container: Container,
        clock: FixedClock,
        scenario: StressScenario,
        events: pl.DataFrame,
    ) -> None:
        self._container = container
        self._clock = clock
        self._scenario = scenario
        self._events = events
        self._borrowers = sorted(
            events.filter(pl.col("borrower_id").is_not_null())["borrower_id"].unique().to_list()
        )
        self._worker = Worker(
            container.jobs,
            uow=container.uow,
            clock=clock,
            holder="stress",
            lease=timedelta(seconds=container.settings.scheduler.lease_seconds),
            before_pass=container.relay.drain,
        )
        self._free = container.decision_engine.policy.free_channels
        self._profile = policies.profiles()[container.decision_engine.policy.jurisdiction]
        self._seen_incidents: set[str] = set()
        self._tightened: dict[str, tuple[Tightened, ...]] = {}
        self._notices_at_arming: dict[str, int] = {}
        self._in_segment: dict[str, int] = {}
        self.incidents: list[IncidentSeen] = []
        self.ingested = 0
        self.checked = 0
        self.g1_violations: list[str] = []
        self.profile_violations: list[str] = []

    def prepare(self) -> None:
        """Ingest the history before the watch, decide everyone as of the watch's start, and
        have the market-stress playbook approved by a second operator (maker-checker)."""
        self._ingest(self._events.filter(pl.col("occurred_at") < self._clock.now()))
        self._decide()
        container = self._container
        ids = {
            name: approvals_id
            for name, role in ((MAKER, "analyst"), (REQUESTER, "admin"), (CHECKER, "approver"))
            for approvals_id in [self._operator(name, role)]
        }
        overlays.submit_playbook(
            overlays.SubmitPlaybook(read_text(f"playbooks/{PLAYBOOK}.yaml"), by=MAKER),
            uow=container.uow(),
            profiles=policies.profiles(),
        )
        assert container.approvals is not None  # bootstrap always wires approvals
        request = approvals.request_approval(
            approvals.RequestApproval(
                "playbook_approve", {"name": PLAYBOOK, "version": 1}, by=ids[REQUESTER]
            ),
            uow=container.uow(),
            context=container.approvals,
        )
        approvals.approve(
            approvals.Approve(request.request_id, ids[CHECKER], "pre-approved for market stress"),
            uow=container.uow(),
            context=container.approvals,
        )

    def replay(self, day: date) -> None:
        """One day: its events in, everyone decided at its end, one worker pass at its end."""
        end = _midnight(day + timedelta(days=1))
        # The day's events have all arrived by its end: ingested then, none is ahead of the
        # clock (ingestion refuses events more than a few minutes in the future).
        self._clock.at = end
        self._ingest(
            self._events.filter(pl.col("occurred_at").is_between(_midnight(day), end, "left"))
        )
        self._decide()
        self._pass(day)

    def until_overlays_end(self) -> None:
        """Move on a day at a time (no new events) while an overlay is still in force, so the
        replay shows how it ended; at most a few days."""
        for _ in range(_EXTRA_DAYS):
            if not self._active():
                return
            day = self._clock.now().date()
            self._clock.at = _midnight(day + timedelta(days=1))
            self._pass(day)

    def overlays_seen(self) -> tuple[OverlaySeen, ...]:
        """Every overlay armed during the replay, with who it tightened and how it ended."""
        with self._container.session_factory() as session:
            rows = overlays.list_overlays(session)
        seen = []
        for row in rows:
            tightened = self._tightened.get(row.overlay_id, ())
            ended = row.lifted_at if row.state in ("lifted", "expired", "lapsed") else None
            seen.append(
                OverlaySeen(
                    overlay_id=row.overlay_id,
                    armed_by=row.armed_by,
                    armed_at=row.armed_at,
                    expires_at=row.expires_at,
                    review_due_at=row.review_due_at,
                    state=row.state,
                    ended_at=ended,
                    in_segment=self._in_segment.get(row.overlay_id, 0),
                    tightened=tightened,
                    restored=sum(
                        1 for t in tightened if ended and self._latest(t.borrower_id)[1] is None
                    ),
                    notices_at_arming=self._notices_at_arming.get(row.overlay_id, 0),
                    notices_at_end=self._notices_at(ended, tightened) if ended else 0,
                )
            )
        return tuple(sorted(seen, key=lambda o: o.armed_at))

    def _pass(self, day: date) -> None:
        before = {o.overlay_id for o in self._active()}
        self._worker.run_once()
        self._record_incidents(day)
        for armed in self._active():
            if armed.overlay_id not in before and armed.overlay_id not in self._tightened:
                self._record_tightening(armed)
        self._check_guardrails()

    def _ingest(self, frame: pl.DataFrame) -> None:
        from repayguard.ingestion import IngestEvents, ingest_events

        if frame.is_empty():
            return
        report = ingest_events(
            IngestEvents(frame, source="stress"),
            uow=self._container.uow(),
            setup=self._container.ingest,
        )
        self.ingested += report.accepted

    def _decide(self) -> None:
        decisions.decide_borrowers(
            decisions.DecideBorrowers(as_of=self._clock.now(), trigger=decisions.triggers.CLI),
            uow=self._container.uow(),
            engine=self._container.decision_engine,
            history_days=self._container.settings.decisions.history_days,
        )

    def _operator(self, name: str, role: str) -> str:
        from repayguard.identity import AddOperator, add_operator

        return add_operator(AddOperator(name, role), uow=self._container.uow()).operator_id

    def _active(self) -> list[overlays.OverlayRead]:
        with self._container.session_factory() as session:
            return overlays.list_overlays(session, active_only=True)

    def _record_incidents(self, day: date) -> None:
        page = monitoring.list_incidents(uow=self._container.uow(), state=None, limit=200)
        for found in sorted(page.items, key=lambda i: i.opened_at):
            if found.incident_id in self._seen_incidents:
                continue
            self._seen_incidents.add(found.incident_id)
            self.incidents.append(
                IncidentSeen(
                    metric=found.metric,
                    segment=found.segment,
                    detector=found.detector,
                    since=found.since_day,
                    opened_on=day,
                    delay_days=(day - self._scenario.shock_day).days + 1,
                    deviation_sigma=found.deviation_sigma,
                )
            )

    def _latest(self, borrower: str) -> tuple[decisions.LoggedDecision | None, str | None]:
        with self._container.session_factory() as session:
            found = decisions.recent_decisions(session, borrower, limit=1)
        return (found[0], found[0].overlay_id) if found else (None, None)

    def _record_tightening(self, armed: overlays.OverlayRead) -> None:
        """Who the overlay's re-decision tightened, and authorize's answer for each of them
        (from the in-memory view, as the API's fast path answers)."""
        view = self._container.view
        assert view is not None  # the replay builds the container with the view
        now = self._clock.now()
        tightened = []
        in_segment = 0
        for borrower in self._borrowers:
            decision, overlay_id = self._latest(borrower)
            in_segment += decision is not None and decision.tier in _SEGMENT_TIERS
            if decision is None or overlay_id != armed.overlay_id:
                continue
            began = time.perf_counter()
            answer = view.authorize(
                entitlements.AuthorizeRequest(borrower, "early_repayment"), now=now
            )
            took = (time.perf_counter() - began) * 1e6
            tightened.append(
                Tightened(
                    borrower_id=borrower,
                    tier=decision.tier,
                    at=decision.as_of,
                    early_repayment=decision.states.early_repayment,
                    auto_debit=decision.states.auto_debit,
                    authorize_allowed=answer.allowed,
                    authorize_reasons=tuple(answer.reasons),
                    authorize_microseconds=took,
                )
            )
        self._tightened[armed.overlay_id] = tuple(tightened)
        self._in_segment[armed.overlay_id] = in_segment
        self._notices_at_arming[armed.overlay_id] = self._notices_at(now, tightened)

    def _notices_at(self, at: datetime | None, who: tuple[Tightened, ...] | list[Tightened]) -> int:
        """Notices written at ``at`` to the borrowers in ``who``."""
        count = 0
        for t in who:
            page = notices.list_notices(
                notices.ListNotices(t.borrower_id, limit=20), uow=self._container.uow()
            )
            count += sum(1 for n in page if n.created_at == at)
        return count

    def _check_guardrails(self) -> None:
        """G1 and the jurisdiction profile over every borrower's latest decision."""
        for borrower in self._borrowers:
            decision, _ = self._latest(borrower)
            if decision is None:
                continue
            self.checked += 1
            s = decision.states
            methods = Methods(s.auto_debit, s.early_repayment, s.manual, s.manual_channels)
            if not g1_holds(methods, self._free):
                self.g1_violations.append(f"{borrower} at {decision.as_of:%Y-%m-%d}")
            for finding in self._profile.violations(s.as_dict()):
                self.profile_violations.append(f"{borrower}: {finding}")
