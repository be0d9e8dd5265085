"""Benchmark: batch evaluation of an imported JDM decision-table graph against zen-engine.

The graph is a GoRules JDM decision table -- the shipped CN policy exported to JDM (request ->
decision table -> response: 9 rules, 6 input columns, 11 outputs incl. lists) -- imported with
``repayguard.rules.jdm.import_graph`` and evaluated with ``evaluate_frame`` over a frame of N
requests (default 1M). Reference, measured in the same run: zen-engine's own batch evaluation
of the same JSON graph at its best (DESIGN §7: static loader, ``ZenEngine.evaluate_batch``;
bench/_zen.py) on a sample of the requests (its rate does not depend on the batch size, and
a full 1M run would take minutes). Before timing, both engines evaluate a sample and must
agree on every result. Prints one JSON object; rates are medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from importlib.metadata import version
from typing import Any

import numpy as np
import polars as pl

import _zen
from repayguard.core.policy import Policy
from repayguard.core.policy.jdm import to_jdm
from repayguard.policies import load_policy_text, profiles
from repayguard.resources import read_text
from repayguard.rules.jdm import evaluate, evaluate_frame, import_graph

TARGET_RATIO = 100.0  # DESIGN §7: a portfolio ≥ 100× zen-engine's batch rate


def requests(policy: Policy, rows: int, seed: int) -> pl.DataFrame:
    """Plausible requests for every declared input: skewed tiers, mostly-zero counts, rare
    flags, and values at the table's boundaries often enough that every rule is hit."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for name, spec in policy.inputs.items():
        if spec.type == "string":
            values = list(spec.enum or ("a", "b", "c"))
            weights = np.geomspace(1.0, 0.2, len(values))
            columns[name] = rng.choice(values, rows, p=weights / weights.sum())
        elif spec.type == "boolean":
            columns[name] = rng.random(rows) < 0.03
        elif spec.type == "integer":
            counts = np.where(rng.random(rows) < 0.6, 0, rng.geometric(0.08, rows))
            columns[name] = np.clip(counts, spec.minimum or 0, spec.maximum or 10**6)
        else:
            low = spec.minimum if spec.minimum is not None else 0.0
            high = spec.maximum if spec.maximum is not None else 2.0
            columns[name] = np.round(rng.uniform(low, high, rows), 4)
    return pl.DataFrame(columns)


def ours(graph: Any, frame: pl.DataFrame, repeat: int) -> dict[str, float]:
    evaluate_frame(graph, frame.head(1000))  # warm the expression caches
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        out = evaluate_frame(graph, frame)
        runs.append(time.perf_counter() - started)
        assert out.height == frame.height
        del out
    seconds = statistics.median(runs)
    return {
        "rows": frame.height,
        "seconds_median": round(seconds, 3),
        "seconds_min": round(min(runs), 3),
        "rows_per_s": round(frame.height / seconds),
    }


def agreement(graph: Any, engine: Any, frame: pl.DataFrame) -> dict[str, Any]:
    """Results of both engines on a sample: row-wise, batch and zen-engine's batch (the call
    that is timed) must all agree."""
    rows = frame.to_dicts()
    batch = evaluate_frame(graph, frame).to_dicts()
    agreed = 0
    for row, from_batch, reference in zip(rows, batch, _zen.results(engine, rows), strict=True):
        row_wise = evaluate(graph, row)
        agreed += (
            row_wise == reference
            and {k: v for k, v in from_batch.items() if v is not None} == reference
        )
    return {"rows": len(rows), "agreeing": agreed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="policies/cn-default.yaml")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--zen-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    policy = load_policy_text(read_text(args.policy), profiles=profiles())
    document = to_jdm(policy)
    engine = _zen.static_engine(document)
    graph = import_graph(document)
    frame = requests(policy, args.rows, seed=2)
    checked = agreement(graph, engine, frame.head(2_000))
    if checked["agreeing"] != checked["rows"]:
        raise SystemExit(f"repayguard and zen-engine disagree: {checked}")
    zen_contexts = frame.head(args.zen_rows).to_dicts()
    reference = _zen.batch(engine, zen_contexts, args.repeat)
    measured = ours(graph, frame, args.repeat)
    ratio = measured["rows_per_s"] / reference["rows_per_s"]
    table = next(n for n in document["nodes"] if n["type"] == "decisionTableNode")["content"]
    report = {
        "benchmark": "jdm",
        "graph": {
            "source": f"{args.policy} exported to JDM",
            "hit_policy": table["hitPolicy"],
            "rules": len(table["rules"]),
            "inputs": len(table["inputs"]),
            "outputs": len(table["outputs"]),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "polars_threads": pl.thread_pool_size(),
            "zen_engine": version("zen-engine"),
            "zen_configuration": "static loader, evaluate_batch",
        },
        "agreement_with_zen": checked,
        "repayguard_batch": measured,
        "zen_engine_batch": reference,
        "ratio": round(ratio, 1),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
