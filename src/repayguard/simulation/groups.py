"""Group attributes of simulated borrowers, and fairness by group across an arm's seeds.

Each borrower gets an age band and a region so a comparison can measure disparity the way
``core.fairness`` measures it everywhere else. The attributes come from their own stream,
``SeedSequence([seed, 3])`` — apart from the population's (``[seed, 2]``), the market's
(``[seed, 1]``) and the day-by-day draws (Philox, ``_crn``) — and nothing in an arm reads
them: a borrower behaves the same whatever group it is in, so any disparity a report shows is
the policy's doing (or chance in a small group), never an assumption about a group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from repayguard.core.fairness import UNKNOWN, disparity, warnings
from repayguard.simulation.spec import PortfolioSpec

AGE_BAND_SHARES: Final = (
    ("18-24", 0.12), ("25-34", 0.30), ("35-44", 0.25), ("45-54", 0.18), ("55-64", 0.11),
    ("65+", 0.04),
)  # fmt: skip
"""Age bands (``core.fairness.AGE_BANDS`` labels) and their shares: a guess shaped like a
consumer-credit book (young and middle-aged borrowers dominate), not a published figure."""
REGION_SHARES: Final = (
    ("north", 0.17), ("northeast", 0.07), ("east", 0.30), ("central_south", 0.27),
    ("southwest", 0.13), ("northwest", 0.06),
)  # fmt: skip
"""Regions and their shares: roughly mainland China's population by region (census-shaped,
rounded); replace with your book's mix when calibrating."""
ATTRIBUTES: Final = ("age_band", "region")
"""The group attributes a simulated borrower has."""
MEASURES: Final = (
    ("restricted", "any method restricted at the end", True),
    ("restricted_auto_debit", "auto-debit restricted at the end", True),
    ("restricted_early_repayment", "early repayment restricted at the end", True),
    ("restricted_manual", "manual repayment restricted at the end", True),
    ("dpd30", "30+ DPD at the end (outcome)", False),
)
"""Per-borrower flags broken down by group: name, meaning, and whether crossing the
threshold is warned about (restrictions are; the outcome rate is shown beside them)."""
_Z: Final = 3.0
"""Standard errors a crossing must clear (one-sided p ≈ 0.001: many groups are tested)."""


def draw_groups(spec: PortfolioSpec) -> pl.DataFrame:
    """``borrower_id``, ``age_band`` and ``region`` of ``spec``'s borrowers (same seed, same
    groups, in both arms)."""
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 3]))
    n = spec.borrowers
    frame: dict[str, Any] = {"borrower_id": [f"B{i:07d}" for i in range(1, n + 1)]}
    for name, table in (("age_band", AGE_BAND_SHARES), ("region", REGION_SHARES)):
        labels = np.array([label for label, _ in table])
        shares = np.array([share for _, share in table])
        frame[name] = labels[rng.choice(len(table), size=n, p=shares / shares.sum())]
    return pl.DataFrame(frame, schema=dict.fromkeys(frame, pl.String))


def by_group(
    runs: Sequence[tuple[PortfolioSpec, dict[str, NDArray[np.bool_]]]],
    *,
    groups: Sequence[str],
    threshold: float,
) -> dict[str, list[dict[str, Any]]]:
    """Per measure, the :func:`core.fairness.disparity` rows of one arm, its seeds pooled
    (a borrower of seed s is ``s:Bnnnnnnn``). ``runs``: per seed, the spec and the
    per-borrower flags of :data:`MEASURES`. Rates and ratios are rounded to 6 places; an
    infinite ratio is ``None``; ``beyond_chance`` says the crossing is not luck."""
    attributes = pl.concat([_keyed(draw_groups(spec), spec.seed) for spec, _ in runs])
    out: dict[str, list[dict[str, Any]]] = {}
    for measure, _meaning, _warned in MEASURES:
        flags = pl.DataFrame(
            {
                "borrower_id": attributes["borrower_id"],
                "flag": np.concatenate([f[measure] for _, f in runs]),
            }
        )
        table = disparity(flags, attributes, groups=groups, threshold=threshold, restricted="flag")
        rows = [_row(r) for r in table.iter_rows(named=True)]
        _mark_beyond_chance(rows, threshold)
        out[measure] = rows
    return out


def _mark_beyond_chance(rows: list[dict[str, Any]], threshold: float) -> None:
    """Set ``beyond_chance``: the group's rate exceeds ``threshold`` × its reference group's
    by more than :data:`_Z` (pooled) standard errors. Small groups cross a ratio by chance
    (the reference is the lowest of several noisy rates, and many groups and measures are
    tested); a warning should point at the policy, not at luck."""
    for attribute in {r["attribute"] for r in rows}:
        mine = [r for r in rows if r["attribute"] == attribute]
        known = [r for r in mine if r["group"] != UNKNOWN]
        ref = min(known, key=lambda r: r["rate"]) if known else None
        for r in mine:
            if ref is None or not r["crosses"]:
                r["beyond_chance"] = False
                continue
            p, q, n, m = r["rate"], ref["rate"], r["borrowers"], ref["borrowers"]
            # Pooled variance: a reference group with no restriction at all (common when it
            # is small) must not make its standard error vanish.
            pooled = (r["count"] + ref["count"]) / (n + m)
            se = math.sqrt(pooled * (1 - pooled) * (1 / n + threshold**2 / m))
            r["beyond_chance"] = p - threshold * q > _Z * se


def group_warnings(
    fairness: dict[str, dict[str, list[dict[str, Any]]]], *, threshold: float
) -> list[dict[str, Any]]:
    """Warned groups of both arms — restriction ratios past ``threshold`` beyond chance
    (``fairness``: arm → measure → rows) — B's first, worst first within an arm: ``arm``,
    ``measure``, ``attribute``, ``group``, ``ratio``, ``text``."""
    found = []
    for arm in ("B", "A"):
        for measure, meaning, warned in MEASURES:
            if not warned:
                continue
            rows = fairness[arm][measure]
            if not rows:
                continue
            table = pl.DataFrame(
                [
                    {
                        "attribute": r["attribute"],
                        "group": r["group"],
                        "ratio": float("inf") if r["ratio"] is None else r["ratio"],
                        "crosses": r["beyond_chance"],
                    }
                    for r in rows
                ]
            )
            for w in warnings(table, threshold=threshold):
                found.append(
                    {
                        "arm": arm,
                        "measure": measure,
                        "attribute": w.attribute,
                        "group": w.group,
                        "ratio": None if np.isinf(w.ratio) else round(w.ratio, 6),
                        "text": f"arm {arm}, {meaning}: {w}",
                    }
                )
    return found


def _keyed(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    return frame.with_columns((pl.lit(f"{seed}:") + pl.col("borrower_id")).alias("borrower_id"))


def _row(row: dict[str, Any]) -> dict[str, Any]:
    ratio = row["ratio"]
    return {
        "attribute": row["attribute"],
        "group": row["group"],
        "borrowers": int(row["borrowers"]),
        "count": int(row["restricted"]),
        "rate": round(float(row["rate"]), 6),
        "ratio": None if ratio is None or np.isinf(ratio) else round(float(ratio), 6),
        "crosses": bool(row["crosses"]),
    }
