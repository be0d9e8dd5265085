"""Benchmark: composing an armed emergency overlay over the policy's decisions for a portfolio.

Draws ``--rows`` random borrowers' policy inputs (seeded), decides them with the shipped CN
policy (``CompiledPolicy.evaluate``, the reference: what every run already pays), then applies
the shipped market-stress overlay (``apply_overlays``). Best of ``--repeat`` for each. Prints
one JSON object: seconds for both and the overlay's cost relative to the policy's.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import polars as pl

from repayguard import policies
from repayguard.core.policy.overlay import Overlay, apply_overlays
from repayguard.core.policy.playbook import load_playbook
from repayguard.resources import read_text


def _inputs(rows: int, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    ints = {"dpd_now": 40, "max_dpd_90d": 60, "failed_debits_30d": 4,
            "early_repayments_30d": 3, "redraws_after_early_30d": 3}  # fmt: skip
    return pl.DataFrame(
        {
            "tier": [f"T{rng.randint(1, 5)}" for _ in range(rows)],
            **{
                name: [rng.random() for _ in range(rows)]
                for name in ("pd", "on_time_ratio_180d", "utilization")
            },
            **{name: [rng.randint(0, top) for _ in range(rows)] for name, top in ints.items()},
            "open_appeal": [False] * rows,
            "open_hardship": [False] * rows,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    known = policies.profiles()
    text = read_text("policies/cn-default.yaml")
    compiled = policies.compile_checked(
        policies.load_policy_text(text, profiles=known), profiles=known
    )
    inputs = _inputs(args.rows, seed=7)
    decided = compiled.evaluate(inputs)
    armed = [Overlay.of("0" * 32, load_playbook(read_text("playbooks/market-stress.yaml")))]
    policy_s = overlay_s = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        compiled.evaluate(inputs)
        policy_s = min(policy_s, time.perf_counter() - start)
        start = time.perf_counter()
        apply_overlays(decided, armed, inputs=inputs, profile=compiled.profile)
        overlay_s = min(overlay_s, time.perf_counter() - start)
    print(
        json.dumps(
            {
                "rows": args.rows,
                "policy_evaluate_s": round(policy_s, 4),
                "apply_overlays_s": round(overlay_s, 4),
                "overlay_rows_per_s": int(args.rows / overlay_s),
                "overlay_over_policy": round(overlay_s / policy_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
