"""Benchmark: memory of the authorize view per borrower (what sizes an API replica).

``EntitlementView`` keeps every decided borrower's entitlement in a dict (DESIGN §4.7:
authorize is answered from memory). This builds N entitlements as start-up loads them -- each
with its own ids, timestamps and method states, nothing shared that a real load would not
share -- and measures the bytes they hold with ``tracemalloc``. docs/scaling.md multiplies it
out to 100M borrowers. Prints one JSON object.

    .venv/bin/python bench/view_memory.py [--borrowers 200000]
"""

from __future__ import annotations

import argparse
import json
import secrets
import tracemalloc
from datetime import UTC, datetime, timedelta

from repayguard.entitlements import Entitlement, EntitlementView, MethodStates

CHANNELS = ("app_balance", "bank_card", "counter", "bank_transfer")


def _entitlement(n: int, at: datetime) -> Entitlement:
    return Entitlement(
        borrower_id=f"B{n:09d}",
        states=MethodStates("optional", "allowed", "allowed", CHANNELS),
        interim=None,
        effective_at=at + timedelta(seconds=n),
        expires_at=at + timedelta(days=60, seconds=n),
        review_at=at + timedelta(days=30, seconds=n),
        reasons=("NOT_RESTRICTED",),
        decision_id=secrets.token_hex(16),
        rule_id="default",
        tier=2,
        tier_since=at + timedelta(seconds=n),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=200_000)
    args = parser.parse_args()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    view = EntitlementView(defaults=MethodStates("optional", "allowed", "allowed", CHANNELS))
    tracemalloc.start()
    view.load(_entitlement(n, at) for n in range(args.borrowers))
    held, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(view) == args.borrowers
    per = held / args.borrowers
    print(
        json.dumps(
            {
                "benchmark": "view_memory",
                "borrowers": args.borrowers,
                "bytes_per_borrower": round(per),
                "gib_per_100m_borrowers": round(per * 100e6 / 2**30, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
