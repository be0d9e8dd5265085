"""Benchmark: two policy arms over a synthetic portfolio (100,000 borrowers x 12 months by
default), the production decision core deciding month by month; prints JSON.

Target (DESIGN §7): <= 60 s on the 2-core development machine. The reference is the same
portfolio's day-by-day dynamics alone (the generator writing its events), so the JSON shows
what deciding and reacting add.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from repayguard import policies, resources
from repayguard.simulation import (
    ArmPolicy,
    PortfolioSpec,
    compare,
    default_assumptions,
    generate_portfolio,
)


def main() -> None:
    """Time one two-arm comparison on one seed and the generator on the same portfolio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()

    known = policies.profiles()
    shipped = policies.load_policy_text(
        resources.read_text("policies/cn-default.yaml"), profiles=known
    )
    baseline = policies.load_policy_text(
        resources.read_text("simulation/no-restriction.yaml"), profiles=known
    )
    spec = PortfolioSpec(borrowers=args.borrowers, months=args.months, seed=args.seed)
    began = time.perf_counter()
    result = compare(
        spec,
        ArmPolicy("no-restriction", baseline),
        ArmPolicy("shipped", shipped),
        default_assumptions(),
        seeds=1,
        workers=args.workers,
    )
    seconds = time.perf_counter() - began
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = used.ru_utime + used.ru_stime + time.process_time()
    with tempfile.TemporaryDirectory(prefix="repayguard-bench-") as tmp:
        reference = generate_portfolio(spec, Path(tmp), workers=args.workers).seconds
    dpd = result.metrics["dpd30_rate"]
    print(
        json.dumps(
            {
                "benchmark": "simulate_two_arms",
                "borrowers": spec.borrowers,
                "months": spec.months,
                "arms": 2,
                "workers": args.workers,
                "seconds": round(seconds, 2),
                "target_seconds": 60,
                "cpu_seconds": round(cpu, 2),
                "reference_generate_seconds": round(reference, 2),
                "borrower_months_per_second": round(2 * spec.borrowers * spec.months / seconds),
                "dpd30_rate": {"A": dpd["A"]["mean"], "B": dpd["B"]["mean"]},
                "peak_rss_mb_parent": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                ),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
