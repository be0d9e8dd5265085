"""Benchmark: the policy engine, one decision in-process and batches, against zen-engine.

Reference, measured in the same run: zen-engine (GoRules' Rust engine, PyPI ``zen-engine``)
evaluating the same policy exported as a JDM decision table at its own best (DESIGN §7): one
engine with the static loader, ``evaluate(KEY, ctx)`` per call and ``evaluate_batch`` in
batches (on a sample whose rate is independent of the portfolio size; bench/_zen.py). Before
timing, both engines decide a sample -- zen-engine per call and in a batch -- and must agree
on every row, or the benchmark refuses. Prints one JSON object; compare ``targets``.

One decision: p50/p99 are of per-call latency measured over groups of ``--group`` calls (a
clock read costs about as much as a sub-microsecond decision). Batch: ``CompiledPolicy.evaluate``
over a Polars frame of N borrowers, every decision column out (``rows_per_s``, median of
``--repeat`` runs), and ``CompiledPolicy.decide`` alone -- the same decisions as an index into
the distinct outcomes, without copying outputs per row (``decide_only_rows_per_s``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import date
from importlib.metadata import version
from typing import Any

import numpy as np
import polars as pl

import _zen
from repayguard.core.policy import CompiledPolicy
from repayguard.core.policy.jdm import matched_rules, to_jdm, zen_context
from repayguard.policies import compile_checked, load_policy_text, profiles
from repayguard.resources import read_text

# DESIGN §7: one decision ≥ 10× zen-engine's and ≤ 1 µs p50; a portfolio ≥ 100× its batch
# rate and ≥ 20M rows/s.
TARGETS = {
    "single_ratio": 10.0,
    "single_p50_us": 1.0,
    "batch_ratio": 100.0,
    "batch_rows_per_s": 20_000_000,
}


def synthetic(policy: CompiledPolicy, rows: int, seed: int) -> pl.DataFrame:
    """Plausible inputs for every declared input: skewed tiers, mostly-zero counts, rare flags,
    and values at the policy's boundaries often enough that every row gets exercised."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for name, spec in policy.policy.inputs.items():
        if spec.type == "string":
            values = list(spec.enum or ("a", "b", "c"))
            weights = np.geomspace(1.0, 0.2, len(values))
            columns[name] = pl.Series(rng.choice(values, rows, p=weights / weights.sum()))
        elif spec.type == "boolean":
            columns[name] = pl.Series(rng.random(rows) < 0.03)
        elif spec.type == "date":
            offset = (date(2024, 1, 1) - date(1970, 1, 1)).days
            columns[name] = pl.Series(rng.integers(0, 730, rows) + offset).cast(pl.Date)
        elif spec.type == "integer":
            counts = np.where(rng.random(rows) < 0.6, 0, rng.geometric(0.08, rows))
            columns[name] = pl.Series(np.clip(counts, spec.minimum or 0, spec.maximum or 10**6))
        else:
            low = spec.minimum if spec.minimum is not None else 0.0
            high = spec.maximum if spec.maximum is not None else 2.0
            columns[name] = pl.Series(rng.uniform(low, high, rows))
    return pl.DataFrame(columns)


def single(
    policy: CompiledPolicy, inputs: list[dict[str, Any]], calls: int, group: int
) -> dict[str, float]:
    decide = policy.evaluate_row
    pool = len(inputs)
    per_call: list[float] = []
    clock = time.perf_counter_ns
    started = time.perf_counter()
    done = 0
    while done < calls:
        batch = [inputs[(done + k) % pool] for k in range(group)]
        t0 = clock()
        for item in batch:
            decide(item)
        per_call.append((clock() - t0) / group / 1000)
        done += group
    seconds = time.perf_counter() - started
    return _latency(per_call, 1e6 / statistics.fmean(per_call), seconds)


def _latency(per_call: list[float], ops: float, seconds: float) -> dict[str, float]:
    ordered = sorted(per_call)
    return {
        "ops_per_s": round(ops),
        "p50_us": round(statistics.median(ordered), 3),
        "p99_us": round(ordered[int(len(ordered) * 0.99)], 3),
        "seconds": round(seconds, 3),
    }


def batch(policy: CompiledPolicy, frame: pl.DataFrame, repeat: int) -> dict[str, float]:
    policy.evaluate(frame.head(1000))  # compile the expressions once
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        out = policy.evaluate(frame)
        runs.append(time.perf_counter() - started)
        assert out.height == frame.height
        del out
    encoded = []
    for _ in range(repeat):
        started = time.perf_counter()
        index, _ = policy.decide(frame)
        encoded.append(time.perf_counter() - started)
        assert index.len() == frame.height
        del index
    seconds = statistics.median(runs)
    return {
        "rows": frame.height,
        "seconds_median": round(seconds, 3),
        "seconds_min": round(min(runs), 3),
        "rows_per_s": round(frame.height / seconds),
        "decide_only_rows_per_s": round(frame.height / statistics.median(encoded)),
    }


def agreement(policy: CompiledPolicy, engine: Any, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Rows where zen-engine -- per call and in a batch -- picks the same row(s) as repayguard;
    the benchmark refuses to time engines that disagree."""
    contexts = [zen_context(row) for row in rows]
    batched = _zen.results(engine, contexts)
    same = 0
    for row, context, in_batch in zip(rows, contexts, batched, strict=True):
        ours = policy.evaluate_row(row)
        expected = [ours.rule_id] if policy.hit_policy == "first" else list(ours.rule_ids)
        one = matched_rules(engine.evaluate(_zen.KEY, context)["result"]) or [ours.rule_id]
        many = matched_rules(in_batch) or [ours.rule_id]
        same += one == expected and many == expected
    return {"rows": len(rows), "agreeing": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy", default="policies/cn-default.yaml", help="shipped resource")
    parser.add_argument("--single-calls", type=int, default=1_000_000)
    parser.add_argument("--group", type=int, default=64)
    parser.add_argument("--zen-calls", type=int, default=20_000)
    parser.add_argument("--zen-batch-rows", type=int, default=50_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    known = profiles()
    policy = compile_checked(
        load_policy_text(read_text(args.policy), profiles=known), profiles=known
    )
    engine = _zen.static_engine(to_jdm(policy.policy))
    sample = synthetic(policy, 10_000, seed=1)
    rows = [{k: v for k, v in r.items() if v is not None} for r in sample.to_dicts()]
    contexts = [zen_context(r) for r in rows]
    agreed = agreement(policy, engine, rows[:5_000])
    if agreed["agreeing"] != agreed["rows"]:
        raise SystemExit(f"repayguard and zen-engine disagree: {agreed}")

    ours_single = single(policy, rows, args.single_calls, args.group)
    theirs_single = _zen.single(engine, contexts, args.zen_calls)
    theirs_batch = _zen.batch(
        engine, [contexts[k % len(contexts)] for k in range(args.zen_batch_rows)]
    )
    batches = []
    for n in args.rows:
        frame = synthetic(policy, n, seed=2)
        measured = batch(policy, frame, args.repeat)
        measured["ratio_to_zen_batch"] = round(
            measured["rows_per_s"] / theirs_batch["rows_per_s"], 1
        )
        batches.append(measured)
        del frame

    report = {
        "benchmark": "policy",
        "policy": {
            "name": policy.policy.name,
            "version": policy.version,
            "hit_policy": policy.hit_policy,
            "rows": len(policy.policy.rows),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "polars_threads": pl.thread_pool_size(),
            "zen_engine": version("zen-engine"),
            "zen_configuration": "static loader, evaluate(KEY, ctx) / evaluate_batch",
        },
        "agreement_with_zen": agreed,
        "single": {
            "repayguard": ours_single,
            "zen_engine": theirs_single,
            "ratio_ops": round(ours_single["ops_per_s"] / theirs_single["ops_per_s"], 1),
        },
        "batch": {"repayguard": batches, "zen_engine": theirs_batch},
        "targets": TARGETS,
        "meets_targets": {
            "single_ratio": ours_single["ops_per_s"] / theirs_single["ops_per_s"]
            >= TARGETS["single_ratio"],
            "single_p50_us": ours_single["p50_us"] <= TARGETS["single_p50_us"],
            "batch_ratio": all(b["ratio_to_zen_batch"] >= TARGETS["batch_ratio"] for b in batches),
            "batch_rows_per_s": all(
                b["rows_per_s"] >= TARGETS["batch_rows_per_s"] for b in batches
            ),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
