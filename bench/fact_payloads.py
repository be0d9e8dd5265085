"""Benchmark: serialising a run-sized ``repayguard.entitlements.changed`` message (2,000
entitlements) from its typed fact, against building the same dict by hand as producers did
before facts were typed (the reference). Prints one JSON object: medians in milliseconds.

A message serialises once (``Message.payload`` keeps it): the outbox row and the audit record
of the commit read the same dict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from repayguard.entitlements import Entitlement, EntitlementsChanged, MethodStates
from repayguard.platform.messages import Message

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def _median_ms(work: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entitlements", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    states = MethodStates("disabled", "allowed", "allowed", ("app_balance", "bank_card"))
    chunk = tuple(
        Entitlement(f"B{n:08d}", states, None, NOW, None, None, ("R1",), f"D{n}", "r1", 3, NOW)
        for n in range(args.entitlements)
    )
    fact = EntitlementsChanged(run_id="r1", told_at=NOW, entitlements=chunk)

    def by_hand() -> dict[str, Any]:
        return {
            "run_id": "r1",
            "told_at": NOW.isoformat(),
            "entitlements": [e.as_payload() for e in chunk],
        }

    def outbox_and_audit() -> None:
        message = Message(fact)
        _ = message.payload, message.payload

    assert fact.payload() == by_hand(), "the fact's payload is the dict built by hand"
    reference = _median_ms(by_hand, args.repeats)
    typed = _median_ms(fact.payload, args.repeats)
    both = _median_ms(outbox_and_audit, args.repeats)
    print(
        json.dumps(
            {
                "entitlements": args.entitlements,
                "by_hand_ms": round(reference, 2),
                "fact_payload_ms": round(typed, 2),
                "message_read_twice_ms": round(both, 2),
                "ratio_fact_to_by_hand": round(typed / reference, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
