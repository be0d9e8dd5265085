"""Benchmark: what the metrics add to one authorize call answered by the fast path.

The fast path (``api/fastpath.AuthorizeFastPath``) is driven in-process, without a server or
a network, over a decided synthetic portfolio: the same ASGI call with and without its meter,
alternated in rounds so both see the same machine, each figure the best round (the least
disturbed by other work). The reference is the same call without metrics. A third variant
writes the call's access line too (``access_log = all``, JSON to /dev/null), what that setting
costs each fast-path call. Prints one JSON object. Over HTTP the difference drowns in
uvicorn's own cost; bench/authorize.py measures that.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from repayguard.api.app import create_server
from repayguard.api.fastpath import AuthorizeFastPath
from repayguard.bootstrap import bootstrap
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.ingestion import ingest_files
from repayguard.platform.clock import FixedClock
from repayguard.platform.logging import configure_logging

from _common import AS_OF, embedded, portfolio

METHODS = ("auto_debit", "early_repayment", "manual")


async def _drive(server: AuthorizeFastPath, bodies: list[bytes]) -> float:
    """Seconds per call over ``bodies``."""
    scope: dict[str, Any] = {
        "type": "http",
        "path": "/v1/authorize",
        "method": "POST",
        "headers": [(b"content-type", b"application/json")],
    }
    sent: list[object] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    started = time.perf_counter()
    for body in bodies:
        message = {"type": "http.request", "body": body, "more_body": False}

        async def receive(message: dict[str, Any] = message) -> dict[str, Any]:
            return message

        await server(scope, receive, send)
    elapsed = time.perf_counter() - started
    assert len(sent) == 2 * len(bodies), "every call must be answered by the fast path"
    return elapsed / len(bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=2_000)
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="repayguard-telemetry-") as folder:
        events = Path(folder) / "events"
        portfolio(args.borrowers, events)
        container = embedded(Path(folder) / "data")
        with container:
            ingest_files(
                sorted(events.glob("*.parquet")), uow=container.uow, setup=container.ingest
            )
            decide_borrowers(
                DecideBorrowers(trigger=triggers.CLI, as_of=AS_OF),
                uow=container.uow(),
                engine=container.decision_engine,
                history_days=container.settings.decisions.history_days,
            )
            # Token checks cost the same with or without metrics; leave them out.
            security = container.settings.security.model_copy(update={"auth": "off"})
            settings = container.settings.model_copy(update={"security": security})
        devnull = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
        configure_logging(json=True, level="INFO", stream=devnull)
        with bootstrap(settings, clock=FixedClock(AS_OF), serve_view=True) as served:
            assert served.view is not None
            metered = create_server(served)
            logged = AuthorizeFastPath(
                metered.app,
                view=served.view,
                clock=served.clock,
                tokens=None,
                usage=None,
                meter=served.telemetry.fast_authorize,
                access_log=True,
            )
            bare = AuthorizeFastPath(
                metered.app, view=served.view, clock=served.clock, tokens=None, usage=None
            )
            rng = random.Random(7)
            borrowers = [e.borrower_id for e in served.view.entitlements()]
            bodies = [
                json.dumps(
                    {"borrower_id": rng.choice(borrowers), "method": rng.choice(METHODS)}
                ).encode()
                for _ in range(args.calls)
            ]
            with_metrics, without, with_lines = [], [], []
            for _ in range(args.rounds):
                without.append(asyncio.run(_drive(bare, bodies)))
                with_metrics.append(asyncio.run(_drive(metered, bodies)))
                with_lines.append(asyncio.run(_drive(logged, bodies)))
    best_with, best_without, best_lines = min(with_metrics), min(without), min(with_lines)
    print(
        json.dumps(
            {
                "benchmark": "authorize_fastpath_metrics_cost",
                "borrowers": args.borrowers,
                "calls": args.calls,
                "rounds": args.rounds,
                "us_per_call_with_metrics": round(best_with * 1e6, 2),
                "us_per_call_without_metrics": round(best_without * 1e6, 2),
                "metrics_cost_us": round((best_with - best_without) * 1e6, 2),
                "metrics_cost_share": round(best_with / best_without - 1, 3),
                "us_per_call_with_access_line": round(best_lines * 1e6, 2),
                "access_line_ratio": round(best_lines / best_with, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
