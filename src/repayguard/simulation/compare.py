"""Two policies on the same portfolio and the same luck: per-arm figures, their difference and
95 % confidence intervals across seeds.

Each seed is one replication: a fresh population, market and set of common random numbers,
run once under each arm. The difference B − A is taken within a seed (paired), so the luck the
two arms share cancels; the interval is the t-interval of the K paired differences (and of the
K per-arm values for each arm). With a single seed no interval is given.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from repayguard import policies
from repayguard.core.policy import Policy
from repayguard.decisions import load_engine
from repayguard.simulation.assumptions import Assumptions
from repayguard.simulation.groups import ATTRIBUTES, MEASURES, by_group, group_warnings
from repayguard.simulation.simulator import MONTHLY_SERIES, ArmRun, Engine, run_arm
from repayguard.simulation.spec import PortfolioSpec

METRICS: Final = (
    ("overdue_rate", "overdue rate (any instalment past due) at the last month's end"),
    ("dpd30_rate", "30+ DPD rate at the last month's end"),
    ("roll_1_30", "roll rate 1–29 → 30+ DPD (month to month)"),
    ("roll_30_60", "roll rate 30–59 → 60+ DPD"),
    ("roll_60_90", "roll rate 60–89 → 90+ DPD"),
    ("cure_rate", "cure rate: delinquent → current (month to month)"),
    ("credit_loss", "credit loss per borrower (LGD × exposure at default)"),
    ("auto_debit_adoption", "share debited by auto-debit at the end"),
    ("restricted_auto_debit", "share with auto-debit restricted at the end"),
    ("restricted_early_repayment", "share with early repayment restricted at the end"),
    ("restricted_manual", "share with manual repayment restricted at the end"),
    ("failed_debit_fees", "failed-debit fees per borrower over the window"),
    ("missed_payments", "instalments missed per 1,000 borrowers"),
    ("notices", "notices per 1,000 borrowers"),
    ("complaints", "expected complaints per 1,000 borrowers"),
)
"""Reported figures: name and meaning, in report order."""
_T975: Final = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086)  # fmt: skip
"""Two-sided 95 % Student t quantiles for 1–20 degrees of freedom (1.96 beyond)."""
DEFAULT_DISPARITY_RATIO: Final = 1.25
"""The threshold when the caller gives none (the CLI passes ``fairness.max_disparity_ratio``)."""


@dataclass(frozen=True, slots=True)
class ArmPolicy:
    """A policy to simulate: its label in reports, the checked document, its lineage hash."""

    label: str
    policy: Policy
    lineage_hash: str | None = None
    """The sha256 of a file's bytes for an unpublished file (as decisions name it)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """What :func:`compare` measured, ready for the terminal, JSON and HTML."""

    spec: PortfolioSpec
    seeds: tuple[int, ...]
    arms: tuple[dict[str, str], dict[str, str]]
    """Label, policy name, version and hash of arm A and arm B."""
    assumptions: Assumptions
    metrics: dict[str, dict[str, dict[str, float | None]]]
    """metric → ``A`` / ``B`` / ``difference`` → ``mean``, ``low``, ``high``."""
    monthly: dict[str, dict[str, dict[str, list[float]]]]
    """series → ``A`` / ``B`` → ``mean``, ``low``, ``high`` per month."""
    fairness: dict[str, Any]
    """``threshold``, ``attributes``, ``by_group`` (arm → measure → disparity rows, seeds
    pooled) and ``warnings`` (groups past the threshold; see ``simulation.groups``)."""

    def as_json(self) -> dict[str, Any]:
        """The report as plain data; the same inputs always give the same document."""
        return {
            "parameters": {
                "borrowers": self.spec.borrowers,
                "months": self.spec.months,
                "seeds": list(self.seeds),
                "start": self.spec.start.isoformat(),
                "auto_debit_share": self.spec.auto_debit_share,
                "interval": "95% t-interval across seeds; differences paired within a seed",
            },
            "arms": {"A": self.arms[0], "B": self.arms[1]},
            "assumptions": self.assumptions.as_dict(),
            "metrics": self.metrics,
            "monthly": self.monthly,
            "fairness": self.fairness,
        }


def _engine(arm: ArmPolicy) -> Engine:
    base = load_engine(policy_path=None, model_path=None, bands_path=None)
    compiled = policies.compile_checked(
        arm.policy, profiles=policies.profiles(), lineage_hash=arm.lineage_hash
    )
    return Engine(arm.label, compiled, base.model, base.bands)


def _run(spec: PortfolioSpec, arm: ArmPolicy, assumptions: Assumptions) -> dict[str, Any]:
    """One (arm, seed) task; returns the figures only (plain arrays pickle cheaply)."""
    run = run_arm(spec, _engine(arm), assumptions)
    b = run.borrowers
    flags = {name: b[name] > 0 for name, _, _ in MEASURES if name.startswith("restricted_")}
    flags["restricted"] = flags["restricted_auto_debit"] | flags["restricted_early_repayment"]
    flags["restricted"] |= flags["restricted_manual"]
    flags["dpd30"] = b["dpd_end"] >= 30
    return {"scalars": _scalars(run, spec.borrowers), "monthly": run.monthly, "flags": flags}


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _scalars(run: ArmRun, n: int) -> dict[str, float]:
    t, m, b = run.transitions, run.monthly, run.borrowers
    return {
        "overdue_rate": float(np.mean(b["dpd_end"] >= 1)),
        "dpd30_rate": float(m["dpd30_rate"][-1]),
        "roll_1_30": _ratio(t[1, 2:].sum(), t[1].sum()),
        "roll_30_60": _ratio(t[2, 3:].sum(), t[2].sum()),
        "roll_60_90": _ratio(t[3, 4:].sum(), t[3].sum()),
        "cure_rate": _ratio(t[1:, 0].sum(), t[1:].sum()),
        "credit_loss": float(b["loss"].mean()),
        "auto_debit_adoption": float(m["auto_debit_adoption"][-1]),
        "restricted_auto_debit": float(m["restricted_auto_debit"][-1]),
        "restricted_early_repayment": float(m["restricted_early_repayment"][-1]),
        "restricted_manual": float(m["restricted_manual"][-1]),
        "failed_debit_fees": float(b["fees"].mean()),
        "missed_payments": 1000.0 * float(b["missed"].mean()),
        "notices": 1000.0 * float(m["notices"].sum()) / n,
        "complaints": 1000.0 * float(b["complaints_expected"].mean()),
    }


def _interval(values: NDArray[np.float64]) -> dict[str, float | None]:
    k = values.size
    mean = float(values.mean())
    if k < 2:
        return {"mean": round(mean, 6), "low": None, "high": None}
    half = (
        (_T975[k - 2] if k - 1 <= len(_T975) else 1.96) * float(values.std(ddof=1)) / math.sqrt(k)
    )
    return {"mean": round(mean, 6), "low": round(mean - half, 6), "high": round(mean + half, 6)}


def compare(
    spec: PortfolioSpec,
    a: ArmPolicy,
    b: ArmPolicy,
    assumptions: Assumptions,
    *,
    seeds: int,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    groups: Sequence[str] = ATTRIBUTES,
    disparity_threshold: float = DEFAULT_DISPARITY_RATIO,
) -> Comparison:
    """Run both arms on seeds ``spec.seed`` … ``spec.seed + seeds - 1``; ``progress`` gets
    (tasks done, tasks) after each arm-seed run. Results do not depend on ``workers``.

    ``groups`` (of ``simulation.groups.ATTRIBUTES``) are broken down by group with
    ``core.fairness.disparity``; restriction ratios above ``disparity_threshold`` are warned."""
    unknown = sorted(set(groups) - set(ATTRIBUTES))
    if unknown:
        raise ValueError(f"simulated borrowers have no {', '.join(unknown)}")
    seed_list = tuple(spec.seed + k for k in range(seeds))
    tasks = [(replace(spec, seed=s), arm) for s in seed_list for arm in (a, b)]
    results: list[dict[str, Any]] = []
    if workers <= 1:
        for task_spec, arm in tasks:
            results.append(_run(task_spec, arm, assumptions))
            if progress is not None:
                progress(len(results), len(tasks))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(_run, s, arm, assumptions) for s, arm in tasks]
            for done, future in enumerate(futures, start=1):
                results.append(future.result())
                if progress is not None:
                    progress(done, len(tasks))
    arm_a, arm_b = results[0::2], results[1::2]
    metrics: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, _ in METRICS:
        va = np.array([r["scalars"][name] for r in arm_a])
        vb = np.array([r["scalars"][name] for r in arm_b])
        metrics[name] = {"A": _interval(va), "B": _interval(vb), "difference": _interval(vb - va)}
    monthly: dict[str, dict[str, dict[str, list[float]]]] = {}
    for series in MONTHLY_SERIES:
        monthly[series] = {}
        for label, arm_results in (("A", arm_a), ("B", arm_b)):
            stacked = np.stack([r["monthly"][series] for r in arm_results])
            cols = [_interval(stacked[:, j]) for j in range(stacked.shape[1])]
            monthly[series][label] = {
                key: [c[key] if c[key] is not None else c["mean"] for c in cols]  # type: ignore[misc]
                for key in ("mean", "low", "high")
            }
    specs = [replace(spec, seed=s) for s in seed_list]
    by_arm = {
        label: by_group(
            [(sp, r["flags"]) for sp, r in zip(specs, arm_results, strict=True)],
            groups=groups,
            threshold=disparity_threshold,
        )
        for label, arm_results in (("A", arm_a), ("B", arm_b))
    }
    fairness = {
        "threshold": disparity_threshold,
        "attributes": list(groups),
        "by_group": by_arm,
        "warnings": group_warnings(by_arm, threshold=disparity_threshold),
    }
    return Comparison(
        spec=spec,
        seeds=seed_list,
        arms=(_lineage(a), _lineage(b)),
        assumptions=assumptions,
        metrics=metrics,
        monthly=monthly,
        fairness=fairness,
    )


def _lineage(arm: ArmPolicy) -> dict[str, str]:
    compiled = _engine(arm).policy
    return {
        "label": arm.label,
        "policy_name": arm.policy.name,
        "policy_version": compiled.version,
        "policy_hash": compiled.content_hash,
    }
