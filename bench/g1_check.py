"""Benchmark: the static G1 check of ``collect`` policies (the merge search over elementary
regions), on the shipped policies, the crowded 48-row case and random generated tables.

Each policy is checked whole (``check_policy``: every static check, as submit runs it) and its
merge search alone (``merge_violations``), reporting milliseconds (median of ``--repeat``),
search steps and whether the search concluded. Random tables: ``--tables`` per size, cells
with random thresholds on numbers, integers, an enum and a boolean; five free channels and a
paid one, each row taking one free channel away. Each size is measured as drawn (mostly
refused: the search stops at 20 findings) and repaired until valid (the whole search proves
it). Prints one JSON object; there is no reference engine for this check, so compare the
shipped policies' figures with the large tables'.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from repayguard.core.policy import Policy, Profiles, check_policy, parse_policy
from repayguard.core.policy.analysis import policy_boxes
from repayguard.core.policy.ir import build_ir
from repayguard.core.policy.regions import MERGE_BUDGET, merge_violations
from repayguard.policies import profiles
from repayguard.resources import read_text

FREE = ["app_balance", "counter", "wallet", "kiosk", "post_office"]
TERMS = {"max_days": 30, "review_after_days": 14}
DEFAULT_ROW = {
    "id": "default",
    "then": {
        "auto_debit": "optional",
        "early_repayment": "allowed",
        "manual": "allowed",
        "manual_channels": [*FREE, "bank_transfer"],
    },
}


def crowded(fillers: int) -> dict[str, Any]:
    """The case of tests/support/merge.py: overlapping fillers, then two rows whose channels
    intersect to the paid one (45 fillers: 48 rows)."""
    patterns = (
        ["app_balance", "wallet", "counter", "kiosk", "bank_transfer"],
        ["app_balance", "wallet", "counter", "post_office", "bank_transfer"],
        ["app_balance", "wallet", "kiosk", "post_office", "bank_transfer"],
    )
    rows: list[dict[str, Any]] = [
        {
            "id": f"filler-{i}",
            "when": {"dpd_now": "0", "failed_debits_30d": f">= {i}"},
            "then": {"manual_channels": patterns[i % 3]},
            **TERMS,
        }
        for i in range(fillers)
    ]
    rows += [
        {
            "id": "late",
            "when": {"dpd_now": ">= 1"},
            "then": {"manual_channels": ["app_balance", "counter", "bank_transfer"]},
            **TERMS,
        },
        {
            "id": "failing",
            "when": {"failed_debits_30d": ">= 3"},
            "then": {"manual_channels": ["wallet", "kiosk", "bank_transfer"]},
            **TERMS,
        },
    ]
    inputs = {n: {"type": "integer", "minimum": 0} for n in ("dpd_now", "failed_debits_30d")}
    return _document("crowded", inputs, rows)


def _document(name: str, inputs: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "owner": "risk",
        "jurisdiction": "CN",
        "channels": {**{c: {"free": True} for c in FREE}, "bank_transfer": {"free": False}},
        "inputs": inputs,
        "hit_policy": "collect",
        "rows": [*rows, DEFAULT_ROW],
    }


def random_table(rows: int, rng: random.Random) -> dict[str, Any]:
    """A collect table of ``rows`` rows, 1-3 random cells each, random channel lists."""
    inputs = {
        "tier": {"type": "string", "enum": ["T1", "T2", "T3", "T4", "T5"]},
        "dpd_now": {"type": "integer", "minimum": 0},
        "failed_debits_30d": {"type": "integer", "minimum": 0},
        "utilization": {"type": "number", "minimum": 0, "maximum": 1},
        "bureau_score": {"type": "number"},
        "open_appeal": {"type": "boolean"},
    }
    cells: dict[str, Callable[[], str]] = {
        "tier": lambda: ", ".join(f'"{t}"' for t in rng.sample(["T1", "T2", "T3", "T4", "T5"], 2)),
        "dpd_now": lambda: rng.choice([f">= {rng.randint(0, 90)}", _interval(rng, 0, 90)]),
        "failed_debits_30d": lambda: f">= {rng.randint(1, 6)}",
        "utilization": lambda: rng.choice([f"> 0.{rng.randint(1, 9)}", "null"]),
        "bureau_score": lambda: _interval(rng, 300, 900),
        "open_appeal": lambda: rng.choice(["true", "false"]),
    }
    table = []
    for i in range(rows):
        names = rng.sample(sorted(cells), rng.randint(1, 3))
        # each row takes one free channel away: G1 fails only where rows taking all five
        # away match together, so valid tables need the whole search to prove them
        channels = [c for c in FREE if c != rng.choice(FREE)] + ["bank_transfer"]
        table.append(
            {
                "id": f"r{i}",
                "when": {n: cells[n]() for n in names},
                "then": {"manual_channels": channels},
                **TERMS,
            }
        )
    return _document(f"random-{rows}", inputs, table)


def repaired(doc: dict[str, Any]) -> dict[str, Any]:
    """The table with clashes removed one at a time (the last row of each clash offered every
    free channel again) until G1 holds: a valid table only the whole search can prove."""
    while True:
        policy = Policy.model_validate(doc)
        ir = build_ir(policy)
        search = merge_violations(
            ir, policy_boxes(ir.rows, policy.inputs), policy.free_channels, limit=1
        )
        if not search.violations:
            return doc
        last = ir.rows[search.violations[0].rows[-1]].index
        doc["rows"][last]["then"]["manual_channels"] = [*FREE, "bank_transfer"]


def _interval(rng: random.Random, low: int, high: int) -> str:
    a, b = sorted(rng.sample(range(low, high), 2))
    return f"[{a}..{b}]"


def measure(policy: Policy, repeat: int, known: Profiles) -> dict[str, Any]:
    runs, search_runs = [], []
    ir = build_ir(policy)
    boxes = policy_boxes(ir.rows, policy.inputs)
    for _ in range(repeat):
        started = time.perf_counter()
        problems = check_policy(policy, profiles=known)
        runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        search = merge_violations(ir, boxes, policy.free_channels)
        search_runs.append(time.perf_counter() - started)
    return {
        "rows": len(policy.rows),
        "check_ms": round(statistics.median(runs) * 1000, 2),
        "search_ms": round(statistics.median(search_runs) * 1000, 2),
        "search_steps": search.nodes,
        "concluded": search.complete,
        "g1_refused": any("G1" in p.message for p in problems),
    }


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    if not results:
        return {"tables": 0}
    checks = sorted(r["check_ms"] for r in results)
    searches = sorted(r["search_ms"] for r in results)
    return {
        "tables": len(results),
        "check_ms_median": checks[len(checks) // 2],
        "check_ms_max": checks[-1],
        "search_ms_median": searches[len(searches) // 2],
        "search_ms_max": searches[-1],
        "search_steps_max": max(r["search_steps"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tables", type=int, default=20, help="random tables per size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50, 100])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    out: dict[str, Any] = {"budget_steps": MERGE_BUDGET, "shipped": {}, "random": {}}
    known = profiles()
    for name in ("cn-default", "eu-example", "us-example"):
        policy = parse_policy(read_text(f"policies/{name}.yaml"))
        out["shipped"][name] = {
            "hit_policy": policy.hit_policy,
            **measure(policy, args.repeat, known),
        }
    for fillers in (12, 45):
        out[f"crowded_{fillers}_fillers"] = measure(
            Policy.model_validate(crowded(fillers)), args.repeat, known
        )
    rng = random.Random(args.seed)
    for size in args.sizes:
        results = [
            measure(Policy.model_validate(random_table(size, rng)), 1, known)
            for _ in range(args.tables)
        ]
        proven = [
            measure(Policy.model_validate(repaired(random_table(size, rng))), 1, known)
            for _ in range(args.tables)
        ]
        out["random"][str(size)] = {
            "tables": len(results),
            "repaired_valid": _summary(proven),
            "not_concluded": sum(not r["concluded"] for r in results),
            "valid": _summary([r for r in results if not r["g1_refused"]]),
            "refused_g1": _summary([r for r in results if r["g1_refused"]]),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
