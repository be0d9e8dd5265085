"""Impact preview: what a candidate policy would change if it went live over a portfolio now.

The portfolio is one row per borrower: ``borrower_id``, ``tier`` (number or label), ``inputs``
(the canonical JSON of the policy inputs of the borrower's latest decision) and the current
method states (``auto_debit``, ``early_repayment``, ``manual``, ``manual_channels``; null when the
borrower has no entitlement yet). The candidate decides every borrower (vectorized), ``keep``
resolves against the current states, the runtime guardrail applies, and each method's move is
classed as tighten or loosen (see :func:`repayguard.core.policy.outcome.direction`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import polars as pl

from repayguard.core.policy import guardrails
from repayguard.core.policy.compiler import CompiledPolicy
from repayguard.core.policy.outcome import METHODS, OPEN, RANK
from repayguard.core.policy.vectorized import EVAL_DTYPES

STATES: Final = ("auto_debit", "early_repayment", "manual", "manual_channels")
PORTFOLIO_SCHEMA: Final = pl.Schema(
    {
        "borrower_id": pl.String(),
        "tier": pl.String(),
        "inputs": pl.String(),
        "auto_debit": pl.String(),
        "early_repayment": pl.String(),
        "manual": pl.String(),
        "manual_channels": pl.List(pl.String()),
    }
)
"""The portfolio frame :func:`preview` reads (``tier`` may also be an integer: 3 -> "T3")."""


@dataclass(frozen=True, slots=True)
class ImpactReport:
    """How many borrowers' methods would change, by tier and direction, with samples."""

    policy: dict[str, Any]
    borrowers: int
    changed: int
    without_entitlement: int
    guardrail_adjusted: int
    by_method: dict[str, dict[str, int]]
    by_tier: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    samples: list[dict[str, Any]] = field(default_factory=list)
    restricted: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Per borrower: ``borrower_id``, ``now`` and ``candidate`` (Boolean: any method not in its
    open state), for fairness by group (``core.fairness.disparity``); not in ``as_dict``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "borrowers": self.borrowers,
            "changed": self.changed,
            "without_entitlement": self.without_entitlement,
            "guardrail_adjusted": self.guardrail_adjusted,
            "by_method": self.by_method,
            "by_tier": self.by_tier,
            "transitions": self.transitions,
            "samples": self.samples,
        }


def _rank(method: str, column: str) -> pl.Expr:
    return pl.col(column).replace_strict(dict(RANK[method]), default=None, return_dtype=pl.Int8)


def _direction(method: str) -> pl.Expr:
    """``tighten``, ``loosen`` or null for one method, current -> candidate."""
    old, new = _rank(method, f"{method}_now"), _rank(method, method)
    if method != "manual":
        return (
            pl.when(new > old).then(pl.lit("tighten")).when(new < old).then(pl.lit("loosen"))
        ).alias(f"{method}_move")
    lost = pl.col("manual_channels_now").list.set_difference("manual_channels").list.len() > 0
    gained = pl.col("manual_channels").list.set_difference("manual_channels_now").list.len() > 0
    return (
        pl.when((new > old) | lost)
        .then(pl.lit("tighten"))
        .when((new < old) | gained)
        .then(pl.lit("loosen"))
    ).alias("manual_move")


def decode_inputs(compiled: CompiledPolicy, inputs: pl.Series) -> pl.DataFrame:
    """The inputs JSON column as typed columns of the candidate's declared inputs (a name the
    JSON lacks is null; whole numbers read as numbers, so 3 and 3.0 both decode; dates stay
    text and are parsed when evaluated)."""
    fields = {
        name: (pl.String() if kind == "date" else EVAL_DTYPES[kind])
        for name, kind in compiled.input_types.items()
    }
    if not fields:
        return pl.DataFrame({"_": pl.Series([None] * len(inputs), dtype=pl.Null)})
    decoded = inputs.str.json_decode(pl.Struct(fields))
    return decoded.struct.unnest()


def preview(compiled: CompiledPolicy, portfolio: pl.DataFrame, *, samples: int = 5) -> ImpactReport:
    """Apply ``compiled`` to the portfolio (see the module docstring) and summarise the moves."""
    tier = pl.col("tier")
    label = (
        pl.format("T{}", tier) if portfolio.schema["tier"].is_integer() else tier.cast(pl.String)
    )
    base = portfolio.select(
        pl.col("borrower_id").cast(pl.String),
        label.alias("tier"),
        *(pl.col(s).alias(f"{s}_now") for s in STATES),
    )
    decided = compiled.evaluate(decode_inputs(compiled, portfolio["inputs"]))
    has_current = base["auto_debit_now"].is_not_null() & base["manual_now"].is_not_null()
    use_current = decided["keep"] & has_current
    decided = decided.with_columns(
        pl.when(pl.lit(use_current)).then(pl.lit(base[f"{s}_now"])).otherwise(pl.col(s)).alias(s)
        for s in STATES
    )
    decided = guardrails.enforce(decided, compiled)
    frame = pl.concat([base, decided], how="horizontal").with_columns(
        pl.lit(has_current).alias("_has_current")
    )
    frame = frame.with_columns(_direction(m) for m in METHODS).with_columns(
        (
            pl.col("_has_current")
            & pl.any_horizontal(pl.col(f"{m}_move").is_not_null() for m in METHODS)
        ).alias("_changed")
    )
    compared = frame.filter(pl.col("_has_current"))
    by_method = {
        m: {d: int((compared[f"{m}_move"] == d).sum()) for d in ("tighten", "loosen")}
        for m in METHODS
    }
    by_tier = (
        frame.group_by("tier")
        .agg(
            pl.len().alias("borrowers"),
            pl.col("_changed").sum().alias("changed"),
            *(
                (pl.col(f"{m}_move") == d).fill_null(False).sum().alias(f"{m}_{d}")
                for m in METHODS
                for d in ("tighten", "loosen")
            ),
        )
        .sort("tier", nulls_last=True)
    )
    transitions = []
    for m in METHODS:
        moved = compared.filter(pl.col(f"{m}_move").is_not_null())
        if m == "manual":
            moved = moved.with_columns(
                pl.col("manual_now").alias("_from"), pl.col("manual").alias("_to")
            )
        else:
            moved = moved.with_columns(pl.col(f"{m}_now").alias("_from"), pl.col(m).alias("_to"))
        counted = moved.group_by("_from", "_to", f"{m}_move").len().sort("len", descending=True)
        for row in counted.iter_rows(named=True):
            transitions.append(
                {
                    "method": m,
                    "from": row["_from"],
                    "to": row["_to"],
                    "direction": row[f"{m}_move"],
                    "borrowers": row["len"],
                }
            )
    return ImpactReport(
        policy={
            "name": compiled.policy.name,
            "version": compiled.version,
            "content_hash": compiled.content_hash,
        },
        borrowers=frame.height,
        changed=int(frame["_changed"].sum()),
        without_entitlement=int((~frame["_has_current"]).sum()),
        guardrail_adjusted=int(frame["guardrail"].is_not_null().sum()),
        by_method=by_method,
        by_tier=by_tier.to_dicts(),
        transitions=transitions,
        samples=_samples(compared, samples),
        restricted=frame.select(
            "borrower_id",
            _restricted("_now").fill_null(False).alias("now"),
            _restricted("").alias("candidate"),
        ),
    )


def _restricted(suffix: str) -> pl.Expr:
    """Any of the three methods away from its open state (``OPEN``)."""
    return pl.any_horizontal(pl.col(f"{m}{suffix}") != OPEN[m] for m in METHODS)


def _samples(frame: pl.DataFrame, per_move: int) -> list[dict[str, Any]]:
    """Up to ``per_move`` borrowers for each method and direction, with their reasons."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for m in METHODS:
        for d in ("tighten", "loosen"):
            picked = frame.filter(pl.col(f"{m}_move") == d).sort("borrower_id").head(per_move)
            for row in picked.iter_rows(named=True):
                if row["borrower_id"] in seen:
                    continue
                seen.add(row["borrower_id"])
                out.append(
                    {
                        "borrower_id": row["borrower_id"],
                        "tier": row["tier"],
                        "rule_id": row["rule_id"],
                        "reasons": row["reasons"],
                        "changes": [
                            {
                                "method": k,
                                "direction": row[f"{k}_move"],
                                "from": row[f"{k}_now"],
                                "to": row[k],
                            }
                            for k in METHODS
                            if row[f"{k}_move"] is not None
                        ],
                        "channels": {
                            "from": row["manual_channels_now"],
                            "to": row["manual_channels"],
                        },
                    }
                )
    return out
