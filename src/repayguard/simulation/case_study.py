"""The source case tested honestly: docs/case-study.md, regenerated from simulation runs.

The system repayguard is built from reports that adjusting repayment methods cut a lender's
overdue rate from 5 % to 2 %. This runs the shipped policy against a no-restriction baseline
and against a stricter policy, once with the documented assumptions and once with every
behavioural lever set in the policy's favour, and writes what the simulator gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from repayguard import policies, resources
from repayguard.simulation.assumptions import Assumptions, default_assumptions
from repayguard.simulation.compare import METRICS, ArmPolicy, Comparison, compare
from repayguard.simulation.spec import PortfolioSpec

FAVOURABLE = {
    "mandatory_link_rate": 1.0,
    "switch_miss_prob": 0.0,
    "technical_failure": 0.0,
    "give_up_base": 0.0,
    "give_up_slope": 0.0,
}
"""Every lever in the policy's favour: mandates always link, nobody moved off auto-debit
misses a payment, no technical failures, nobody reaching 30+ DPD gives up paying."""


@dataclass(frozen=True, slots=True)
class CaseStudy:
    """The three comparisons the case study reports."""

    shipped_vs_none: Comparison
    strict_vs_shipped: Comparison
    favourable: Comparison
    command: str


def _arm(label: str, resource: str) -> ArmPolicy:
    policy = policies.load_policy_text(resources.read_text(resource), profiles=policies.profiles())
    return ArmPolicy(label, policy)


def run_case_study(
    spec: PortfolioSpec,
    *,
    seeds: int,
    workers: int,
    command: str,
    progress: Callable[[int, int], None] | None = None,
) -> CaseStudy:
    """Run the three comparisons on ``spec``'s portfolio; ``progress`` gets (done, total)."""
    none = _arm("no-restriction", "simulation/no-restriction.yaml")
    shipped = _arm("shipped", "policies/cn-default.yaml")
    strict = _arm("strict", "simulation/strict.yaml")
    base = default_assumptions()
    runs: list[Comparison] = []
    pairs: list[tuple[ArmPolicy, ArmPolicy, Assumptions]] = [
        (none, shipped, base),
        (shipped, strict, base),
        (none, shipped, base.with_(**FAVOURABLE)),
    ]
    for k, (a, b, assumptions) in enumerate(pairs):
        runs.append(
            compare(
                spec,
                a,
                b,
                assumptions,
                seeds=seeds,
                workers=workers,
                progress=_offset(progress, k),
            )
        )
    return CaseStudy(runs[0], runs[1], runs[2], command)


def _offset(
    progress: Callable[[int, int], None] | None, k: int
) -> Callable[[int, int], None] | None:
    """Progress of the ``k``-th of three comparisons as progress of the whole study."""
    if progress is None:
        return None
    report = progress

    def step(done: int, total: int) -> None:
        report(k * total + done, 3 * total)

    return step


def _cell(cell: dict[str, float | None], pct: bool) -> str:
    scale, unit = (100.0, " %") if pct else (1.0, "")
    mean, low, high = cell["mean"], cell["low"], cell["high"]
    assert mean is not None
    if low is None or high is None:
        return f"{mean * scale:.3g}{unit}"
    return f"{mean * scale:.3g}{unit} [{low * scale:.3g}, {high * scale:.3g}]"


_PCT = {
    "overdue_rate", "dpd30_rate", "roll_1_30", "roll_30_60", "roll_60_90", "cure_rate",
    "auto_debit_adoption", "restricted_auto_debit", "restricted_early_repayment",
    "restricted_manual",
}  # fmt: skip


def _table(c: Comparison) -> str:
    a, b = c.arms
    lines = [
        f"| figure | A: {a['label']} | B: {b['label']} | B − A |",
        "|---|---|---|---|",
    ]
    for name, meaning in METRICS:
        cells, pct = c.metrics[name], name in _PCT
        lines.append(
            f"| {meaning} | {_cell(cells['A'], pct)} | {_cell(cells['B'], pct)} "
            f"| {_cell(cells['difference'], pct)} |"
        )
    return "\n".join(lines)


def _relative(c: Comparison, name: str) -> float:
    a, b = c.metrics[name]["A"]["mean"], c.metrics[name]["B"]["mean"]
    assert a is not None
    assert b is not None
    return (b - a) / a if a else 0.0


def case_study_markdown(study: CaseStudy) -> str:
    """docs/case-study.md."""
    c1, c2, c3 = study.shipped_vs_none, study.strict_vs_shipped, study.favourable
    spec = c1.spec
    overdue = c1.metrics["overdue_rate"]
    base_overdue, shipped_overdue = overdue["A"]["mean"], overdue["B"]["mean"]
    assert base_overdue is not None
    assert shipped_overdue is not None
    rel, rel_fav = _relative(c1, "overdue_rate"), _relative(c3, "overdue_rate")
    fees = c1.metrics["failed_debit_fees"]["difference"]
    fee_note = (
        f"* Failed-debit fees change by {fees['mean']:+.2f} per borrower under the shipped "
        "policy. Where that is an increase, mandatory auto-debit for high-tier borrowers with "
        "no money on the account produces the failed pulls; the failed-debits row stops them, "
        "and once 30 days pass without a failure the high-risk row mandates auto-debit again — "
        "a cycle a policy author can see here before it costs borrowers fees."
    )
    return f"""# Case study: does controlling repayment methods cut overdue from 5 % to 2 %?

_Generated by `{study.command}` — do not edit by hand; change the assumptions
(`resources/simulation/assumptions.yaml`, docs/simulation.md) or the policies and regenerate._

The system repayguard is built from reports that adjusting repayment methods cut a lender's
overdue rate from 5 % to 2 % (a 60 % relative drop) and raised auto-debit use. This page runs
that claim through the outcome simulator on the default synthetic portfolio
(docs/synthetic-data.md) with the assumptions of docs/simulation.md, and says what would have
to be true for a drop of that size.

**Run:** {spec.borrowers:,} borrowers × {spec.months} months from {spec.start.date()},
seeds {list(c1.seeds)} (each seed a fresh portfolio, market and set of common random numbers,
both arms on the same draws); figures at the last month's end; intervals are 95 % t-intervals
across seeds, differences paired within a seed. Policies: the shipped
`{c1.arms[1]["policy_name"]}` (resources/policies/cn-default.yaml, hash
`{c1.arms[1]["policy_hash"][:16]}…`), the no-restriction baseline
(resources/simulation/no-restriction.yaml) and a stricter variant
(resources/simulation/strict.yaml: auto-debit stops after 2 failed pulls, cycling restricted
from T3 and one redraw, every T4 borrower on mandatory auto-debit).

## 1. The shipped policy against no restriction

{_table(c1)}

## 2. A stricter policy against the shipped one

{_table(c2)}

## 3. The shipped policy against no restriction, every lever in its favour

Assumptions changed: {", ".join(f"`{k}` = {v}" for k, v in FAVOURABLE.items())}.

{_table(c3)}

## What this says about 5 % → 2 %

* On this portfolio the overdue rate without any restriction is
  {base_overdue * 100:.2f} % and under the shipped policy {shipped_overdue * 100:.2f} %: a
  relative change of {rel * 100:+.1f} % (claimed: −60 %). With every behavioural lever in the
  policy's favour (section 3) the change is {rel_fav * 100:+.1f} %.
* The levers the simulator models act on *collection*, not on *ability to pay*: mandatory
  auto-debit collects from borrowers who have the money on the due date but would have paid
  late by hand; disabling failing debits saves fees; restricting early repayment stops the
  bridging debt of cyclers. None of them gives a borrower who lost their job the money to pay,
  and in this portfolio job loss drives most 30+ DPD (docs/synthetic-data.md).
{fee_note}
* For a 60 % drop, most overdue borrowers would have to be **able but inattentive** payers —
  people with money on the due date who pay late by hand — and the policy would have to move
  them to a debit that reaches that money. That requires, together: (a) a portfolio whose
  overdue stock is mostly short, "forgot to pay" lateness (1–29 DPD) rather than income
  shocks; (b) mandates that nearly always link a funded account (`mandatory_link_rate` near
  1); (c) targeting that reaches those borrowers *before* they are late (here, mandates follow
  a risk tier that lags the first missed payment); and (d) no offsetting harm — borrowers
  moved off auto-debit who then miss (`switch_miss_prob`) and fees that drain balances.
* A plainer reading of the source figure: an overdue rate measured as 1+ DPD on a portfolio
  of mostly attentive-but-late payers, before and after a change that also included reminders,
  collections and limit cuts, with a macro cycle in between. The simulator cannot separate
  those from its inputs; a lender can, with `repayguard simulate` on its own calibrated
  assumptions, and with a champion/challenger split on live traffic.
"""
