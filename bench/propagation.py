"""Benchmark: a published policy reaching every replica, and authorize with two replicas.

A deployment on this machine: PostgreSQL (127.0.0.1:5432), NATS JetStream (127.0.0.1:4222),
two ``repayguard serve`` replicas as separate processes. Each round, an analyst submits a new
policy draft on replica A and asks for it to be published; an approver approves on replica B;
the clock runs from just before the approval is sent until both replicas' ``/healthz`` name
the new version (each polled every 2 ms). Then authorize throughput with ``wrk``: one replica,
then both replicas under one load split over them, in the same run. Prints one JSON object.

    .venv/bin/python bench/propagation.py [--rounds 30] [--borrowers 2000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from repayguard import resources
from repayguard.simulation import PortfolioSpec, generate_portfolio

from _common import median
from authorize import _free_port, _lua, _pinned, _wait_until_up, _wrk

TARGET_P99_S = 1.0
REPAYGUARD = str(Path(sys.executable).parent / "repayguard")
POSTGRES = os.environ.get("REPAYGUARD_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1")
NATS = os.environ.get("REPAYGUARD_BENCH_NATS", "nats://127.0.0.1:4222")


@contextmanager
def _database() -> Any:
    name = f"rg_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{POSTGRES}:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES}:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([REPAYGUARD, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"repayguard {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _token(env: dict[str, str], *who: str) -> str:
    found = re.search(r"(rg_[A-Za-z0-9_\-]+)", _cli(env, "token", "create", *who))
    if found is None:
        raise RuntimeError("no token printed")
    return found.group(1)


def _draft(round_: int) -> str:
    """The shipped policy, its description marked with the round so each draft is new."""
    shipped = resources.read_text("policies/cn-default.yaml")
    lines = [line for line in shipped.splitlines() if not line.startswith("version:")]
    marked = [
        f"description: propagation round {round_}." if line.startswith("description:") else line
        for line in lines
    ]
    skip = False
    out = []
    for line in marked:  # drop the folded description's continuation lines
        if line.startswith("description:"):
            skip = True
            out.append(line)
            continue
        if skip and line.startswith("  "):
            continue
        skip = False
        out.append(line)
    return "\n".join(out) + "\n"


def _version(client: httpx.Client, url: str) -> int:
    return int(client.get(f"{url}/healthz").json()["policy"]["version"])


def _propagation(
    urls: list[str], analyst: str, approver: str, rounds: int
) -> tuple[list[float], int]:
    client = httpx.Client(timeout=10)
    a, b = urls
    seconds: list[float] = []
    version = _version(client, a)
    for round_ in range(rounds):
        draft = client.post(
            f"{a}/v1/policies/drafts",
            headers={"Authorization": f"Bearer {analyst}"},
            json={"source": _draft(round_)},
        )
        draft.raise_for_status()
        asked = client.post(
            f"{a}/v1/policies/drafts/{draft.json()['draft_id']}/publish",
            headers={"Authorization": f"Bearer {analyst}"},
            json={"reason": f"round {round_}"},
        )
        asked.raise_for_status()
        version += 1
        started = time.perf_counter()
        client.post(
            f"{b}/v1/approvals/{asked.json()['request_id']}/approve",
            headers={"Authorization": f"Bearer {approver}"},
            json={"comment": "ok"},
        ).raise_for_status()
        waiting = set(urls)
        while waiting:
            for url in list(waiting):
                if _version(client, url) >= version:
                    waiting.discard(url)
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"version {version} did not reach {sorted(waiting)} in 30 s")
            time.sleep(0.002)
        seconds.append(time.perf_counter() - started)
    client.close()
    return seconds, version


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _load(ports: list[int], script: Path, args: argparse.Namespace) -> dict[str, float]:
    """wrk against each port at once (the connections split between them); rates summed."""
    results: list[dict[str, float]] = []

    def run(port: int) -> None:
        results.append(
            _wrk(port, script, seconds=args.seconds, connections=args.connections // len(ports))
        )

    threads = [threading.Thread(target=run, args=(port,)) for port in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "requests_per_s": round(sum(r["requests_per_s"] for r in results), 1),
        "p99_ms": max(r.get("p99_ms", 0.0) for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--borrowers", type=int, default=2_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    has_wrk = shutil.which("wrk") is not None
    with tempfile.TemporaryDirectory(prefix="repayguard-propagation-") as folder, _database() as db:
        stream = f"RGBENCH_{uuid.uuid4().hex[:8].upper()}"
        env = {
            **os.environ,
            "REPAYGUARD_DATA_DIR": str(Path(folder) / "data"),
            "REPAYGUARD_DATABASE__URL": db,
            "REPAYGUARD_BUS__URL": NATS,
            "REPAYGUARD_BUS__STREAM": stream,
            "REPAYGUARD_BUS__SUBJECT_PREFIX": f"{stream.lower()}.",
            # The authorize load runs on one service token: its budget sits above the load,
            # as a deployment sizes it (bench/authorize.py measures the limiter's own cost).
            "REPAYGUARD_RATE_LIMIT__AUTHORIZE": "10000000/second",
        }
        _cli(env, "db", "upgrade")
        start = datetime.now(UTC) - timedelta(days=160)
        spec = PortfolioSpec(borrowers=args.borrowers, months=5, seed=3, start=start)
        generate_portfolio(spec, Path(folder) / "events")
        _cli(env, "ingest", str(Path(folder) / "events"))
        for user, role in (("ana", "analyst"), ("ben", "approver")):
            _cli(env, "user", "add", user, "--role", role)
        analyst = _token(env, "--operator", "ana")
        approver = _token(env, "--operator", "ben")
        service = _token(env, "--service", "bench-app")
        ports = [_free_port(), _free_port()]
        servers = [
            subprocess.Popen(
                [*_pinned(core), REPAYGUARD, "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for core, port in enumerate(ports)
        ]
        try:
            for port, server in zip(ports, servers, strict=True):
                _wait_until_up(port, server)
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            seconds, version = _propagation(urls, analyst, approver, args.rounds)
            throughput: dict[str, Any] = {"skipped": "needs wrk: apt-get install wrk"}
            if has_wrk:
                script = Path(folder) / "authorize.lua"
                _lua(script, args.borrowers, service)
                one = [_load(ports[:1], script, args) for _ in range(args.repeat)]
                two = [_load(ports, script, args) for _ in range(args.repeat)]
                one_rate = median([r["requests_per_s"] for r in one])
                two_rate = median([r["requests_per_s"] for r in two])
                throughput = {
                    "one_replica_requests_per_s": one_rate,
                    "two_replicas_requests_per_s": two_rate,
                    "two_over_one": round(two_rate / one_rate, 2),
                    "p99_ms_one": median([r["p99_ms"] for r in one]),
                    "p99_ms_two": median([r["p99_ms"] for r in two]),
                    "note": "two cores: the load generator shares them with the replicas",
                }
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
            _delete_stream(stream)
    p99 = _percentile(seconds, 0.99)
    print(
        json.dumps(
            {
                "benchmark": "policy_propagation",
                "rounds": args.rounds,
                "replicas": 2,
                "final_version": version,
                "approval_to_every_replica_s": {
                    "p50": round(median(seconds), 4),
                    "p99": round(p99, 4),
                    "max": round(max(seconds), 4),
                },
                "target_p99_s": TARGET_P99_S,
                "meets_target": p99 <= TARGET_P99_S,
                "authorize": throughput,
            },
            indent=2,
        )
    )


def _delete_stream(stream: str) -> None:
    import asyncio

    import nats

    async def run() -> None:
        client = await nats.connect(NATS)
        try:
            await client.jetstream().delete_stream(stream)
        finally:
            await client.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
