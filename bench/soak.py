"""Soak: `repayguard serve` and a worker on a fresh PostgreSQL database and NATS stream under
mixed load for a bounded time — events and authorize at fixed rates, an operator filing and
resolving complaints — then a consistency check; prints JSON (per-minute p50/p99 per driver,
status counts, server errors, RSS per process, the check's findings).

    .venv/bin/python bench/soak.py --minutes 10

Needs PostgreSQL on 127.0.0.1:5432 and NATS on 127.0.0.1:4222 (as the tests do). The drivers
and the check are ``tests/support/soak.py``, the same code ``tests/e2e/test_soak.py`` runs for a
minute at low rates.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.soak import SoakPlan, soak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="How long to drive the load.")
    parser.add_argument("--borrowers", type=int, default=200)
    parser.add_argument("--events-per-second", type=float, default=20.0)
    parser.add_argument("--authorize-per-second", type=float, default=50.0)
    parser.add_argument(
        "--complaint-every", type=float, default=10.0, help="Seconds between cases."
    )
    args = parser.parse_args()
    plan = SoakPlan(
        seconds=args.minutes * 60,
        borrowers=args.borrowers,
        events_per_second=args.events_per_second,
        authorize_per_second=args.authorize_per_second,
        complaint_every_seconds=args.complaint_every,
    )
    with tempfile.TemporaryDirectory(prefix="rg-soak-") as scratch:
        report = soak(Path(scratch), plan)
    report["ok"] = report["server_errors"] == 0 and not report["consistency"]["problems"]
    print(json.dumps(report, indent=2))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
