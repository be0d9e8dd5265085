"""A soak run over a real deployment: `repayguard serve` and `repayguard worker` on PostgreSQL and
NATS, driven at fixed rates by threads (events, authorize, an operator filing and resolving
complaints), with per-minute latencies, server errors, memory per process and, at the end, a
consistency check of what the store holds. Shared by ``tests/e2e/test_soak.py`` and
``bench/soak.py``."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from repayguard.entitlements import OVERRIDE_RULE

from support.builders import (
    debit_attempt,
    failing_debits_history,
    healthy_history,
    make_event,
    paid,
)
from support.common import fresh_database
from support.deployment import Deployment, Process, Replica, deployment
from support.nats import wait_until

AUTHORIZE_METHODS = ("auto_debit", "early_repayment", "manual")


@dataclass(frozen=True, slots=True)
class SoakPlan:
    """How long and how hard: rates are per second, held by each driver's own schedule."""

    seconds: float = 600.0
    borrowers: int = 200
    events_per_second: float = 20.0
    authorize_per_second: float = 50.0
    complaint_every_seconds: float = 10.0
    memory_every_seconds: float = 5.0
    seed: int = 7


class Tally:
    """Latencies and status codes per driver and per minute since the start (thread-safe)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._latencies: dict[tuple[str, int], list[float]] = defaultdict(list)
        self._statuses: dict[tuple[str, int], int] = defaultdict(int)

    def record(self, driver: str, status: int, seconds: float) -> None:
        minute = int((time.monotonic() - self.started) // 60)
        with self._lock:
            self._latencies[(driver, minute)].append(seconds)
            self._statuses[(driver, status)] += 1

    def server_errors(self) -> int:
        """Answers of 500 and above, and requests that got no answer at all (status 0)."""
        with self._lock:
            return sum(
                n for (_, status), n in self._statuses.items() if status >= 500 or not status
            )

    def report(self) -> dict[str, Any]:
        with self._lock:
            minutes: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for (driver, minute), values in sorted(self._latencies.items()):
                ordered = sorted(values)
                minutes[driver].append(
                    {
                        "minute": minute,
                        "requests": len(ordered),
                        "p50_ms": round(_quantile(ordered, 0.50) * 1000, 2),
                        "p99_ms": round(_quantile(ordered, 0.99) * 1000, 2),
                    }
                )
            statuses: dict[str, dict[str, int]] = defaultdict(dict)
            for (driver, status), n in sorted(self._statuses.items()):
                statuses[driver][str(status)] = n
        return {"per_minute": dict(minutes), "statuses": dict(statuses)}


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB (``VmRSS`` of /proc), None once it has exited."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


def soak(directory: Path, plan: SoakPlan) -> dict[str, Any]:
    """Run ``plan`` on a fresh PostgreSQL database and NATS stream; the report as JSON data."""
    with fresh_database("postgres", directory) as url, deployment(directory, url) as running:
        run = Soak(running, plan)
        try:
            run.start()
            return run.run()
        finally:
            run.close()


@dataclass
class Soak:
    """One soak run over a deployment with one ``serve`` replica and one worker."""

    deployment: Deployment
    plan: SoakPlan
    replica: Replica = field(init=False)
    worker: Process = field(init=False)
    app: str = field(init=False, default="")
    agent: str = field(init=False, default="")
    approver: str = field(init=False, default="")
    tally: Tally = field(default_factory=Tally)
    sent_ids: set[str] = field(default_factory=set)
    _sent_events: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    memory: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    complaints: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.deployment.database_url, pool_size=1)
        self.random = random.Random(self.plan.seed)
        self.borrowers = [f"S{n:05d}" for n in range(self.plan.borrowers)]
        # Every fourth borrower starts with three failed debits: restricted at once, so the
        # operator has decisions to be complained about.
        self.failing = self.borrowers[::4]

    # -- set-up -------------------------------------------------------------------------
    def start(self) -> None:
        self.deployment.cli("db", "upgrade")
        self.app = self.deployment.token("--service", "lender-app").secret
        self.agent = self.deployment.operator("cara", "cs_agent").secret
        self.approver = self.deployment.operator("pat", "approver").secret
        self.replica = self.deployment.serve("soak-serve")
        self.worker = self.deployment.worker("soak-worker")
        now = datetime.now(UTC)
        history: list[dict[str, Any]] = []
        for borrower in self.borrowers:
            made = failing_debits_history if borrower in self.failing else healthy_history
            history += made(borrower, now)
        for start in range(0, len(history), 500):
            self._send_events(history[start : start + 500], driver="seed")
        wait_until(self.quiet, seconds=300, what="the seeded borrowers to be decided")

    # -- drivers ------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Drive the deployment for ``plan.seconds``, wait until it is quiet, check it."""
        self.tally = Tally()
        drivers = [
            (self._event_tick, 1.0),
            (self._authorize_tick, 1.0 / self.plan.authorize_per_second),
            (self._complaint_tick, self.plan.complaint_every_seconds),
            (self._memory_tick, self.plan.memory_every_seconds),
        ]
        threads = [
            threading.Thread(target=self._every, args=(tick, period), daemon=True)
            for tick, period in drivers
        ]
        for thread in threads:
            thread.start()
        self._stop.wait(self.plan.seconds)
        self._stop.set()
        for thread in threads:
            thread.join(timeout=60)
        wait_until(self.quiet, seconds=300, what="the deployment to be quiet after the soak")
        return {
            "plan": {k: getattr(self.plan, k) for k in self.plan.__dataclass_fields__},
            "server_errors": self.tally.server_errors(),
            **self.tally.report(),
            "complaints": dict(self.complaints),
            "memory": self.memory_report(),
            "consistency": self.consistency(),
        }

    def _every(self, tick: Callable[[], None], period: float) -> None:
        """Call ``tick`` on a fixed schedule (not after each call), so a slow answer does not
        lower the offered rate; a tick that overran is not made up for in a burst."""
        due = time.monotonic()
        while not self._stop.is_set():
            tick()
            due = max(due + period, time.monotonic())
            self._stop.wait(max(0.0, due - time.monotonic()))

    def _event_tick(self) -> None:
        now = datetime.now(UTC)
        batch = [
            self._event(self.random.choice(self.borrowers), now)
            for _ in range(max(1, round(self.plan.events_per_second)))
        ]
        with self._lock:
            replayed = self.random.sample(sorted(self.sent_ids), min(2, len(self.sent_ids)))
        # A replay of events already stored rides with every batch: it must change nothing.
        self._send_events(batch, driver="events", replays=replayed)

    def _event(self, borrower: str, now: datetime) -> dict[str, Any]:
        at = now - timedelta(minutes=self.random.randint(1, 600))
        kind = self.random.random()
        if kind < 0.3:
            return debit_attempt(borrower, at, self.random.choice(("failed", "succeeded")))
        if kind < 0.8:
            return paid(borrower, at)
        score = self.random.randint(450, 820)
        return make_event(
            "credit_report", borrower, at, score=score, inquiries=1, external_debt=1000.0
        )

    def _send_events(
        self, events: list[dict[str, Any]], *, driver: str, replays: list[str] | None = None
    ) -> None:
        again = set(replays or [])
        replayed = [e for e in self._sent_events if e["event_id"] in again]
        answer = self._call(driver, "/v1/events", self.app, {"events": events + replayed})
        if answer is not None and answer.status_code == 200:
            with self._lock:
                self.accepted += int(answer.json()["accepted"])
                self.sent_ids.update(e["event_id"] for e in events)
                self._sent_events.extend(events)

    def _authorize_tick(self) -> None:
        body = {
            "borrower_id": self.random.choice(self.borrowers),
            "method": self.random.choice(AUTHORIZE_METHODS),
        }
        self._call("authorize", "/v1/authorize", self.app, body)

    def _complaint_tick(self) -> None:
        """An agent files a complaint for a restricted borrower and resolves it: every other
        case reversed (an override an approver approves), the rest upheld."""
        borrower = self.failing[self.complaints["filed"] % len(self.failing)]
        body = {"contested": ["auto_debit"], "statement": "the bank replaced my card"}
        filed = self._call("operator", f"/v1/borrowers/{borrower}/complaints", self.agent, body)
        if filed is None or filed.status_code != 201:
            self.complaints["refused"] += 1
            return
        self.complaints["filed"] += 1
        case = filed.json()["complaint_id"]
        outcome = "reverse" if self.complaints["filed"] % 2 else "uphold"
        resolution = {"outcome": outcome, "comment": "reviewed during the soak"}
        resolved = self._call("operator", f"/v1/complaints/{case}/resolve", self.agent, resolution)
        if resolved is None or resolved.status_code != 200 or outcome == "uphold":
            self.complaints[outcome] += 1
            return
        approval = resolved.json()["approval_id"]
        approved = self._call(
            "operator", f"/v1/approvals/{approval}/approve", self.approver, {"comment": "ok"}
        )
        if approved is not None and approved.status_code == 200:
            self.complaints["reversed"] += 1

    def _memory_tick(self) -> None:
        for process in (self.replica, self.worker):
            kib = rss_kib(process.popen.pid)
            if kib is not None:
                self.memory[process.name].append(kib)

    def _call(
        self, driver: str, path: str, token: str, body: dict[str, Any]
    ) -> httpx.Response | None:
        began = time.monotonic()
        try:
            answer = self.replica.post(path, token, json=body)
        except httpx.TransportError:
            self.tally.record(driver, 0, time.monotonic() - began)
            return None
        self.tally.record(driver, answer.status_code, time.monotonic() - began)
        return answer

    # -- the end ------------------------------------------------------------------------
    def quiet(self) -> bool:
        """Every committed message published and every ingested batch decided online."""
        (pending,) = self._sql("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0]
        batches, runs = self._batches_and_runs()
        return pending == 0 and runs >= batches

    def _batches_and_runs(self) -> tuple[int, int]:
        """Ingested batches announced, and online runs the events triggered."""
        (batches,) = self._sql(
            "SELECT count(*) FROM outbox WHERE name = 'repayguard.events.ingested'"
        )[0]
        (runs,) = self._sql(
            "SELECT count(*) FROM decision_runs WHERE mode = 'online' AND trigger = 'events'"
        )[0]
        return int(batches), int(runs)

    def memory_report(self) -> dict[str, dict[str, int]]:
        """RSS per process: first and last sample, and the growth after the first minute (the
        first minute warms caches and imports; what grows after it is what a leak looks like)."""
        warm = int(60 / self.plan.memory_every_seconds)
        report = {}
        for name, kibs in self.memory.items():
            if kibs:
                settled = kibs[min(warm, len(kibs) - 1)]
                report[name] = {
                    "first_kib": kibs[0],
                    "after_first_minute_kib": settled,
                    "last_kib": kibs[-1],
                    "growth_after_first_minute_kib": kibs[-1] - settled,
                }
        return report

    def consistency(self) -> dict[str, Any]:
        """What the store holds against what was sent: each accepted event stored once, each
        ingested batch decided once, each entitlement the states of its borrower's last
        decision (unless an approved override or a decision held for approval explains it)."""
        stored = {row[0] for row in self._sql("SELECT event_id FROM events")}
        (stored_rows,) = self._sql("SELECT count(*) FROM events")[0]
        batches, runs = self._batches_and_runs()
        mismatched, overridden, held = self._entitlements_against_last_decisions()
        problems = []
        if stored != self.sent_ids:
            problems.append(
                f"{len(self.sent_ids - stored)} accepted events missing, "
                f"{len(stored - self.sent_ids)} stored that were never sent"
            )
        if stored_rows != len(stored) or self.accepted != stored_rows:
            problems.append(f"{stored_rows} rows stored, {self.accepted} reported accepted")
        if runs != batches:
            problems.append(f"{batches} ingested batches decided by {runs} online runs")
        if mismatched:
            problems.append(f"entitlements differ from the last decision: {mismatched[:10]}")
        return {
            "events_stored": stored_rows,
            "ingested_batches": batches,
            "online_runs": runs,
            "entitlements_overridden": overridden,
            "decisions_held_for_approval": held,
            "problems": problems,
        }

    def _entitlements_against_last_decisions(self) -> tuple[list[str], int, int]:
        rows = self._sql(
            "SELECT e.borrower_id, e.rule_id, e.auto_debit, e.early_repayment, e.manual, "
            "e.manual_channels, d.auto_debit, d.early_repayment, d.manual, d.manual_channels, "
            "d.requires_approval "
            "FROM entitlements e JOIN ("
            "  SELECT d.*, row_number() OVER ("
            "    PARTITION BY d.borrower_id ORDER BY d.as_of DESC, r.started_at DESC) AS latest"
            "  FROM decisions d JOIN decision_runs r ON r.run_id = d.run_id"
            ") d ON d.borrower_id = e.borrower_id AND d.latest = 1"
        )
        mismatched: list[str] = []
        overridden = held = 0
        for borrower, rule, *states in rows:
            entitlement, decision = states[:4], states[4:8]
            if rule == OVERRIDE_RULE:
                overridden += 1
            elif entitlement != decision:
                if states[8]:
                    held += 1
                else:
                    mismatched.append(borrower)
        return mismatched, overridden, held

    def _sql(self, query: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]

    def close(self) -> None:
        self.engine.dispose()
