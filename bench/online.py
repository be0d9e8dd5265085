"""Benchmark: the online path under a steady event stream, event → entitlement → authorize.

``repayguard serve`` runs as its own process on a loopback port (SQLite by default; with
``--postgres`` a fresh PostgreSQL database and the NATS JetStream bus, as a deployment runs).
The driver posts ``POST /v1/events`` open-loop at ``--rate`` events/s: every ``--interval``
seconds a batch is sent on schedule, whether or not earlier batches have been answered. Each
batch holds ``--probes`` new borrowers with three failed auto-debits in the last hours -- the
shipped policy's ``failed-debits`` row (``notice_days: 0``, so G3 sets no waiting period and
the decision is in force as soon as it lands: docs/notices-and-scheduler.md) -- and fills up
with logins of a pool of other borrowers, each of whom is re-decided too, as real traffic is.

Per probe borrower, from just before its batch is sent:
  * ``authorize_s``: until ``POST /v1/authorize`` for auto-debit answers ``allowed: false``
    (polled every ``--poll-ms``; authorize is the cheap fast path, so polling it does not
    load the server being measured the way polling a full FastAPI route would);
  * ``entitlement_s``: until the restriction landed -- its ``effective_at`` as
    ``GET /v1/borrowers/{id}/repayment-methods`` then shows it (read once, and checked to be
    the failed-debits row), stamped by the deciding unit of work on the same machine's clock.
A never-decided borrower is allowed auto-debit (the policy's defaults), so the refusal can
only come from the decision the events caused. The feed posts on ``--connections`` of its own
and the probes poll on ``--app-connections`` of theirs: sharing one pool, the polls queued the
feed's batches on the client and the figure measured the pool, not the server. Prints one
JSON object: p50/p99/max of both, the event rate sent and accepted. No reference: a latency
against DESIGN §7's target (p99 ≤ 250 ms at 2,000 events/s).

    .venv/bin/python bench/online.py [--seconds 20] [--rate 2000] [--postgres]
        [--workers N [--decide-in-workers]]

With ``--postgres``, ``--workers N`` starts ``repayguard worker`` processes beside ``serve``:
they bind the same durable effect consumers, so the online decider runs in whichever process
pulls a message; ``--decide-in-workers`` turns the decider off in ``serve``
(``decisions.online = false``), which then only ingests and answers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from propagation import NATS, REPAYGUARD, _cli, _database, _delete_stream, _token

from authorize import _free_port, _wait_until_up

TARGET_P99_S = 0.25
TARGET_EVENTS_PER_S = 2_000
FAILED_ATTEMPTS = 3  # the shipped policy's failed-debits row: failed_debits_30d >= 3
GIVE_UP_S = 30.0


@dataclass
class Observed:
    """What the driver saw: per-probe latencies and the stream's own accounting."""

    entitlement_s: list[float] = field(default_factory=list)
    authorize_s: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    sent: int = 0
    accepted: int = 0
    late_sends_s: list[float] = field(default_factory=list)
    replies_s: list[float] = field(default_factory=list)
    last_reply: float = 0.0


def _batch(number: int, size: int, probes: int, pool: int, now: datetime) -> tuple[list, list]:
    """One batch: ``probes`` new borrowers with three failed pulls each, then logins of pool
    borrowers up to ``size`` events. Returns (events, probe borrower ids)."""
    events: list[dict[str, Any]] = []
    probe_ids = [f"P{number:07d}{k:03d}" for k in range(probes)]
    for borrower in probe_ids:
        for attempt in range(FAILED_ATTEMPTS):
            events.append(
                {
                    "event_id": f"{borrower}-a{attempt}",
                    "type": "repayment",
                    "kind": "auto_debit_attempt",
                    "status": "failed",
                    "borrower_id": borrower,
                    "loan_id": f"L{borrower}",
                    "amount": 500.0,
                    "occurred_at": (now - timedelta(hours=attempt + 1)).isoformat(),
                }
            )
    for k in range(size - len(events)):
        events.append(
            {
                "event_id": f"login-{number}-{k}",
                "type": "behaviour",
                "kind": "login",
                "borrower_id": f"B{(number * size + k) % pool:07d}",
                "occurred_at": (now - timedelta(seconds=1)).isoformat(),
            }
        )
    return events, probe_ids


async def _watch(
    client: httpx.AsyncClient,
    borrower: str,
    sent: tuple[float, float],
    poll_s: float,
    seen: Observed,
) -> None:
    """Poll authorize (the fast path: microseconds of server time, so polling does not slow
    the server it measures) until auto-debit is refused; then read the entitlement once, check
    it is the failed-debits restriction, and take when it landed from its ``effective_at`` --
    stamped by the deciding unit of work on this machine's clock (``notice_days: 0``)."""
    started, wall = sent
    body = {"borrower_id": borrower, "method": "auto_debit"}
    while time.perf_counter() - started < GIVE_UP_S:
        reply = await client.post("/v1/authorize", json=body)
        reply.raise_for_status()
        if not reply.json()["allowed"]:
            answered = time.perf_counter() - started
            break
        await asyncio.sleep(poll_s)
    else:
        seen.missed.append(borrower)
        return
    read = await client.get(f"/v1/borrowers/{borrower}/repayment-methods")
    if read.status_code != 200:
        raise SystemExit(f"reading {borrower}'s methods: {read.status_code} {read.text}")
    methods = read.json()
    if methods["methods"]["auto_debit"] != "disabled" or methods["rule_id"] != "failed-debits":
        raise SystemExit(f"{borrower} was refused auto-debit for another reason: {methods}")
    landed = datetime.fromisoformat(methods["effective_at"]).timestamp() - wall
    seen.entitlement_s.append(landed)
    seen.authorize_s.append(answered)


@dataclass(frozen=True)
class Clients:
    """The event feed and the lender's apps, each with connections of its own: the probes'
    polls must not queue the feed's batches behind them (nor the feed the polls), as the
    systems that send events and the apps that call authorize never share connections."""

    feed: httpx.AsyncClient
    apps: httpx.AsyncClient


async def _send(
    clients: Clients, events: list, probes: list[str], poll_s: float, seen: Observed
) -> None:
    started, wall = time.perf_counter(), time.time()
    reply = await clients.feed.post("/v1/events", json={"events": events})
    reply.raise_for_status()
    seen.last_reply = time.perf_counter()
    seen.replies_s.append(seen.last_reply - started)
    seen.accepted += reply.json()["accepted"]
    await asyncio.gather(*(_watch(clients.apps, p, (started, wall), poll_s, seen) for p in probes))


async def drive(url: str, token: str, args: argparse.Namespace) -> tuple[Observed, float]:
    """Send the stream on schedule for ``args.seconds``; wait for every probe to settle.

    One batch goes first, unmeasured, and is waited for: the server's first decision compiles
    the policy's expressions and warms Polars (seconds), which is start-up, not steady state.
    Returns what was seen and the seconds from the first send to the last ingest reply."""
    size = round(args.rate * args.interval)
    headers = {"Authorization": f"Bearer {token}"}
    seen = Observed()

    def client(connections: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60)

    async with client(args.connections) as feed, client(args.app_connections) as apps:
        clients = Clients(feed, apps)
        events, probes = _batch(999_999, size, args.probes, args.pool, datetime.now(UTC))
        await _send(clients, events, probes, args.poll_ms / 1000, Observed())
        tasks = []
        begun = time.perf_counter()
        for number in range(round(args.seconds / args.interval)):
            due = begun + number * args.interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            seen.late_sends_s.append(time.perf_counter() - due)
            events, probes = _batch(number, size, args.probes, args.pool, datetime.now(UTC))
            seen.sent += len(events)
            tasks.append(
                asyncio.create_task(_send(clients, events, probes, args.poll_ms / 1000, seen))
            )
        await asyncio.gather(*tasks)
    return seen, seen.last_reply - begun


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": round(pick(0.5), 4), "p99": round(pick(0.99), 4), "max": round(ordered[-1], 4)}


@contextlib.contextmanager
def _deployment(folder: Path, postgres: bool) -> Iterator[dict[str, str]]:
    """The environment ``repayguard`` runs with: SQLite in ``folder``, or a fresh PostgreSQL
    database and its own NATS stream (both removed afterwards)."""
    # Rate limits off: the probes' reads of their methods come in bursts as a backlog settles,
    # and a 429 would measure the token's budget, not the online path.
    env = {
        **os.environ,
        "REPAYGUARD_DATA_DIR": str(folder / "data"),
        "REPAYGUARD_RATE_LIMIT__ENABLED": "false",
    }
    if not postgres:
        yield env
        return
    stream = f"RGONLINE_{uuid.uuid4().hex[:8].upper()}"
    with _database() as db:
        env |= {
            "REPAYGUARD_DATABASE__URL": db,
            "REPAYGUARD_BUS__URL": NATS,
            "REPAYGUARD_BUS__STREAM": stream,
            "REPAYGUARD_BUS__SUBJECT_PREFIX": f"{stream.lower()}.",
        }
        try:
            yield env
        finally:
            _delete_stream(stream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the stream runs")
    parser.add_argument("--rate", type=int, default=TARGET_EVENTS_PER_S, help="events/s sent")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between batches")
    parser.add_argument("--probes", type=int, default=2, help="restricted borrowers per batch")
    parser.add_argument("--pool", type=int, default=20_000, help="borrowers the logins come from")
    parser.add_argument("--poll-ms", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16, help="the event feed's connections")
    parser.add_argument(
        "--app-connections",
        type=int,
        default=16,
        help="the probes' connections (authorize polls, methods reads), apart from the feed's",
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + NATS JetStream")
    parser.add_argument(
        "--workers", type=int, default=0, help="`repayguard worker` processes beside serve"
    )
    parser.add_argument(
        "--decide-in-workers",
        action="store_true",
        help="serve runs no online decider (decisions.online off): the workers decide",
    )
    args = parser.parse_args()
    if (args.workers or args.decide_in_workers) and not args.postgres:
        parser.error("workers share the effects only over NATS: add --postgres")
    if args.decide_in_workers and not args.workers:
        parser.error("--decide-in-workers needs --workers 1 or more")
    if args.probes * FAILED_ATTEMPTS > args.rate * args.interval:
        parser.error("a batch must hold every probe's three failed auto-debits")

    with tempfile.TemporaryDirectory(prefix="repayguard-online-") as tmp:
        folder = Path(tmp)
        with _deployment(folder, args.postgres) as env:
            _cli(env, "db", "upgrade")
            token = _token(env, "--service", "bench-online")
            port = _free_port()
            log = (folder / "serve.log").open("wb")
            serving = env | (
                {"REPAYGUARD_DECISIONS__ONLINE": "false"} if args.decide_in_workers else {}
            )
            server = subprocess.Popen(
                [REPAYGUARD, "serve", "--port", str(port)], env=serving, stdout=log, stderr=log
            )
            workers = [
                subprocess.Popen(
                    [REPAYGUARD, "worker", "--name", f"bench-{n}"],
                    env=env,
                    stdout=log,
                    stderr=log,
                )
                for n in range(args.workers)
            ]
            try:
                _wait_until_up(port, server)
                seen, elapsed = asyncio.run(drive(f"http://127.0.0.1:{port}", token, args))
            finally:
                for worker in workers:
                    worker.terminate()
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:  # still working through a backlog
                    server.kill()
                    server.wait()
                for worker in workers:
                    try:
                        worker.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        worker.kill()
                        worker.wait()
                log.close()
            if seen.accepted != seen.sent:
                tail = (folder / "serve.log").read_text(errors="replace")[-3000:]
                raise SystemExit(
                    f"the server lost events or failed ({seen.accepted}/{seen.sent}):\n{tail}"
                )

    # A probe that never settled counts as GIVE_UP_S: the percentiles then are lower bounds
    # (``probes_not_settled`` says how many), never figures computed from the lucky ones only.
    censored = [GIVE_UP_S] * len(seen.missed)
    seen.entitlement_s += censored
    seen.authorize_s += censored
    authorize = _quantiles(seen.authorize_s)
    accepted_rate = seen.accepted / elapsed
    report = {
        "benchmark": "online",
        "database": "postgresql + nats" if args.postgres else "sqlite + in-process bus",
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "seconds": args.seconds,
        "batch_events": round(args.rate * args.interval),
        "interval_s": args.interval,
        "connections": {"feed": args.connections, "apps": args.app_connections},
        "workers": args.workers,
        "online_decider": (
            "workers"
            if args.decide_in_workers
            else "serve and workers"
            if args.workers
            else "serve"
        ),
        "target_events_per_s": args.rate,
        "sent_events_per_s": round(seen.sent / args.seconds),
        "accepted_events_per_s": round(accepted_rate),
        "ingest_reply_s": _quantiles(seen.replies_s),
        "send_lateness_s": _quantiles(seen.late_sends_s),
        "probes": len(seen.entitlement_s),
        "probes_not_settled": len(seen.missed),
        "not_settled_counted_as_s": GIVE_UP_S,
        "event_to_entitlement_s": _quantiles(seen.entitlement_s),
        "event_to_authorize_denies_s": authorize,
        "target_p99_s": TARGET_P99_S,
        "meets_target": not seen.missed
        and accepted_rate >= 0.99 * TARGET_EVENTS_PER_S
        and authorize["p99"] <= TARGET_P99_S,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
