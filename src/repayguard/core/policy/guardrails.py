"""Guardrails: compliance rules that hold by construction, checked statically and at runtime.

G1 -- a borrower always keeps a usable, free manual repayment channel. Statically every row's
effective outputs must list a channel the policy declares ``free``; under ``collect`` so must
every merge of rows that can match together (channels intersect), decided by the complete
search of :mod:`repayguard.core.policy.regions` -- a search that cannot conclude refuses.
G2 -- the jurisdiction profile's forbidden states (e.g. restricted early repayment in the EU
and UK, mandatory auto-debit in the US) appear in no row; a profile may also set a minimum
notice for restrictions. G4 -- a row that restricts anything has an expiry (``max_days``) and a
re-evaluation date (``review_after_days``, not after the expiry). Each finding names the row
and, where the rows' cells allow, an input that reaches it.

At runtime :func:`enforce` replaces any decision that still violates G1 or G2 (an override, a
kept entitlement from an older policy) with the safe default -- the default row's methods, or
the unrestricted baseline -- and says why in the ``guardrail`` column; decisions no row gave
(``rule_id = "(no-match)"``) are flagged there too. :func:`alerts` lists them for the alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import polars as pl

from repayguard.core.policy.analysis import Box, reaching, uncovered
from repayguard.core.policy.compiler import CompiledPolicy
from repayguard.core.policy.ir import PolicyIR
from repayguard.core.policy.jurisdiction import JurisdictionProfile
from repayguard.core.policy.model import Methods, Policy
from repayguard.core.policy.outcome import NO_MATCH, OPEN, restricts
from repayguard.core.policy.problems import PolicyProblem
from repayguard.core.policy.regions import MERGE_BUDGET, USABLE_MANUAL, merge_violations

SAFE_DEFAULT: Final = "safe default applied"
_MAX_MERGE_FINDINGS: Final = 20


def check_policy(
    policy: Policy,
    *,
    ir: PolicyIR | None = None,
    boxes: Sequence[Box] | None = None,
    profile: JurisdictionProfile | None = None,
    merge_budget: int = MERGE_BUDGET,
) -> list[PolicyProblem]:
    """G1, G2 and G4 over every row; with the typed form and the rows' boxes (when every cell
    is valid) findings carry an input reaching the row, and ``collect`` merges are checked
    (within ``merge_budget`` search steps, else refused as unproven)."""
    problems: list[PolicyProblem] = []
    free = policy.free_channels
    if not free:
        problems.append(
            PolicyProblem(
                None,
                "channels",
                "G1: no channel is declared free, so no outcome can leave a free manual channel",
            )
        )
    examples = _examples(policy, ir, boxes)
    baseline_channels = policy.baseline.manual_channels or ()
    for index, row in enumerate(policy.rows):
        methods = policy.methods(row)
        if row.keep or None in (methods.auto_debit, methods.early_repayment, methods.manual):
            continue  # a keep row gives the baseline, checked on the default row
        example_input = examples.get(index)
        if free and not g1_holds(methods, free):
            who = (
                "the default row (what keep rows and the runtime guardrail fall back to)"
                if row is policy.default_row and example_input is None
                else "a borrower reaching this row"
            )
            problems.append(
                PolicyProblem(
                    row.id,
                    "then.manual_channels",
                    f"G1: {who} would have no free manual repayment channel "
                    f"(manual={methods.manual}, channels={list(methods.manual_channels)}; "
                    f"free channels are {sorted(free)})",
                    example_input,
                )
            )
        states = _states(methods)
        if profile is not None:
            for method, banned in profile.forbidden().items():
                if states[method] in banned:
                    problems.append(
                        PolicyProblem(
                            row.id,
                            f"then.{method}",
                            f"G2 ({profile.code}): {method} may not be {states[method]!r}: "
                            f"{banned[states[method]]}",
                            example_input,
                        )
                    )
        if not restricts(states, baseline_channels):
            continue
        if row.max_days is None or row.review_after_days is None:
            missing = [f for f in ("max_days", "review_after_days") if getattr(row, f) is None]
            problems.append(
                PolicyProblem(
                    row.id,
                    missing[0],
                    f"G4: this row restricts repayment methods but has no "
                    f"{' and no '.join(missing)}; every restriction needs an expiry and a "
                    f"re-evaluation date",
                    example_input,
                )
            )
        elif row.review_after_days > row.max_days:
            problems.append(
                PolicyProblem(
                    row.id,
                    "review_after_days",
                    f"G4: re-evaluation after "
                    f"{row.review_after_days} days comes after the restriction expires "
                    f"({row.max_days} days)",
                    example_input,
                )
            )
        if profile is not None and row.notice_days < profile.min_notice_days:
            problems.append(
                PolicyProblem(
                    row.id,
                    "notice_days",
                    f"G3 ({profile.code}): a "
                    f"restriction needs at least {profile.min_notice_days} days' notice",
                    example_input,
                )
            )
    if ir is not None and boxes is not None and ir.hit_policy == "collect" and free:
        problems += _merge_findings(policy, ir, boxes, free, merge_budget)
    return problems


def g1_holds(methods: Methods, free: frozenset[str]) -> bool:
    """A usable manual flow with at least one free channel."""
    return methods.manual in USABLE_MANUAL and any(c in free for c in methods.manual_channels)


def _states(methods: Methods) -> dict[str, Any]:
    return {
        "auto_debit": methods.auto_debit,
        "early_repayment": methods.early_repayment,
        "manual": methods.manual,
        "manual_channels": list(methods.manual_channels),
    }


def _examples(
    policy: Policy, ir: PolicyIR | None, boxes: Sequence[Box] | None
) -> dict[int, dict[str, Any] | None]:
    """An input reaching each row (``first``) or matching it (``collect``), by document index."""
    if ir is None or boxes is None:
        return {}
    out: dict[int, dict[str, Any] | None] = {}
    first = ir.hit_policy != "collect"
    for k, row in enumerate(ir.rows):
        out[row.index] = reaching(boxes[k], boxes[:k] if first else [], policy.inputs)
    if ir.default is not None:  # an input no other row takes, if there is one
        found = uncovered({}, boxes, policy.inputs, budget=5_000)
        out[len(policy.rows) - 1] = found if isinstance(found, dict) else None
    return out


def _merge_findings(
    policy: Policy, ir: PolicyIR, boxes: Sequence[Box], free: frozenset[str], budget: int
) -> list[PolicyProblem]:
    """Rows that can match together and whose merged channels leave no free one (``collect``).

    The search over the rows' elementary regions (:mod:`~repayguard.core.policy.regions`) is
    complete; a single row without a free channel is already reported above, so only merges
    of two or more rows are. A search that stops at its budget refuses the policy: G1 is a
    promise, and an unproven promise is not kept.
    """
    search = merge_violations(ir, boxes, free, budget=budget, limit=_MAX_MERGE_FINDINGS)
    found: list[PolicyProblem] = []
    for violation in search.violations:
        if len(violation.rows) < 2:
            continue
        *others, last = (ir.rows[k].id for k in violation.rows)
        matched = [ir.rows[k].id for k in violation.matched]
        found.append(
            PolicyProblem(
                last,
                "then.manual_channels",
                f"G1: under collect, a borrower matching this row and row(s) {others} "
                f"gets the intersection of their channels, which leaves no free manual "
                f"channel (free channels are {sorted(free)}; this borrower matches {matched})",
                violation.example,
            )
        )
    if not search.complete and not search.violations:
        found.append(
            PolicyProblem(
                None,
                "rows",
                f"could not prove G1 within budget: the collect merge search stopped after "
                f"{search.nodes - 1:,} steps without deciding whether rows matching together "
                f"can leave a borrower without a free manual channel, so the policy is refused; "
                f"give overlapping rows a common free channel, narrow their conditions so "
                f"fewer overlap, or use hit_policy first",
            )
        )
    return found


# -- runtime ----------------------------------------------------------------------------------


def safe_default(policy: Policy) -> dict[str, Any]:
    """The states a violating decision is replaced with: the default row's methods (or the
    unrestricted baseline), with a free channel and the open states where needed."""
    fallback = policy.baseline
    free = sorted(policy.free_channels)
    channels = list(fallback.manual_channels or ())
    if not any(c in free for c in channels):
        channels += free
    return {
        "auto_debit": fallback.auto_debit or OPEN["auto_debit"],
        "early_repayment": fallback.early_repayment or OPEN["early_repayment"],
        "manual": fallback.manual if fallback.manual in USABLE_MANUAL else "allowed",
        "manual_channels": channels,
    }


def enforce(
    decisions: pl.DataFrame,
    policy: Policy | CompiledPolicy,
    profile: JurisdictionProfile | None = None,
) -> pl.DataFrame:
    """Apply G1 and G2 at runtime: a decision without a usable free manual channel, or with a
    state the jurisdiction forbids, gets the safe default; ``guardrail`` says what was adjusted
    and why (null when nothing). ``profile`` defaults to the compiled policy's.

    ``decisions`` needs ``auto_debit``, ``early_repayment``, ``manual``, ``manual_channels``;
    other columns pass through unchanged and the row order is kept.
    """
    doc = policy.policy if isinstance(policy, CompiledPolicy) else policy
    if profile is None and isinstance(policy, CompiledPolicy):
        profile = policy.profile
    free = sorted(doc.free_channels)
    if not free:
        raise ValueError("G1: no channel is declared free; the policy cannot be enforced")
    safe = safe_default(doc)
    if profile is not None and profile.violations(safe):
        safe = {**safe, **{m: OPEN[m] for m in profile.forbidden()}}
    has_free = (
        pl.col("manual_channels").list.eval(pl.element().is_in(free)).list.any().fill_null(False)
    )
    g1_ok = has_free & pl.col("manual").is_in(list(USABLE_MANUAL)).fill_null(False)
    notes = [
        pl.when(~g1_ok).then(
            pl.format(
                "G1: no usable free manual channel (manual={}, channels={})",
                pl.col("manual").fill_null("null"),
                pl.col("manual_channels").list.join(",").fill_null("null"),
            )
        )
    ]
    bad = ~g1_ok
    code = profile.code if profile is not None else ""
    for method, banned in (profile.forbidden() if profile is not None else {}).items():
        hit = pl.col(method).is_in(list(banned)).fill_null(False)
        bad = bad | hit
        template = f"G2: {method} may not be '{{}}' under {code}"
        notes.append(pl.when(hit).then(pl.format(template, pl.col(method))))
    replaced = {
        "auto_debit": pl.lit(safe["auto_debit"], pl.String),
        "early_repayment": pl.lit(safe["early_repayment"], pl.String),
        "manual": pl.lit(safe["manual"], pl.String),
        "manual_channels": pl.lit(safe["manual_channels"], pl.List(pl.String)),
    }
    unmatched = (
        pl.col("rule_id") == NO_MATCH if "rule_id" in decisions.columns else pl.lit(False)
    ).fill_null(False)
    note = (
        pl.when(bad)
        .then(pl.concat_str([*notes, pl.lit(SAFE_DEFAULT)], separator="; ", ignore_nulls=True))
        .when(unmatched)
        .then(pl.lit(f"no row matched these inputs; {SAFE_DEFAULT}"))
        .otherwise(pl.lit(None, pl.String))
    )
    return decisions.with_columns(
        *(pl.when(bad).then(v).otherwise(pl.col(k)).alias(k) for k, v in replaced.items()),
        note.alias("guardrail"),
    )


def alert_codes(note: str) -> list[str]:
    """The guardrails a ``guardrail`` note reports: G1, G2, and NO_MATCH for unmatched inputs."""
    codes = [code for code in ("G1", "G2") if f"{code}:" in note]
    return codes or (["NO_MATCH"] if note.startswith("no row matched") else [])


def alerts(decisions: pl.DataFrame) -> pl.DataFrame:
    """The decisions the runtime guardrail adjusted, for the alert event: borrower (when the
    frame has one), rule, the note and its codes."""
    keep = [c for c in ("borrower_id", "rule_id", "guardrail") if c in decisions.columns]
    flagged = decisions.filter(pl.col("guardrail").is_not_null()).select(keep)
    note = pl.col("guardrail")
    codes = pl.concat_list(
        pl.when(note.str.contains("G1:", literal=True)).then(pl.lit("G1")),
        pl.when(note.str.contains("G2:", literal=True)).then(pl.lit("G2")),
        pl.when(note.str.starts_with("no row matched")).then(pl.lit("NO_MATCH")),
    )
    return flagged.with_columns(codes.list.drop_nulls().alias("codes"))
