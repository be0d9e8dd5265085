"""The catalogue of portfolio metrics: name → meaning, unit and which way is worse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Unit = Literal["share", "count", "index", "value"]

MARKET_SIGNAL_PREFIX: Final = "market_signal:"
"""Every ``market_signal`` series ``S`` is the metric ``market_signal:S`` (its daily last
value); the catalogue lists the family once, under ``market_signal:*``."""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One portfolio metric: its plain-language definition, the unit of its value and
    whether a higher value is worse for the lender (None: neither, e.g. a market series)."""

    name: str
    description: str
    unit: Unit
    higher_is_worse: bool | None


_SPECS: Final = (
    MetricSpec("overdue_rate_1p", "Share of the repaying book 1+ days past due at day end.",
               "share", True),
    MetricSpec("overdue_rate_30p", "Share of the repaying book 30+ days past due at day end.",
               "share", True),
    MetricSpec("failed_autodebit_rate", "Share of the day's auto-debit attempts that failed.",
               "share", True),
    MetricSpec("roll_rate_current_1_29", "Share of borrowers current 30 days earlier who are "
               "now 1+ days past due (rolled to 1-29 or beyond).", "share", True),
    MetricSpec("roll_rate_1_29_30_59", "Share of borrowers 1-29 days past due 30 days earlier "
               "who are now 30+ days past due.", "share", True),
    MetricSpec("roll_rate_30_59_60p", "Share of borrowers 30-59 days past due 30 days earlier "
               "who are now 60+ days past due.", "share", True),
    MetricSpec("tier_migration", "Share of borrowers in the segment's from-tier the day before "
               "who are in its to-tier at day end (segment 'T2->T3').", "share", None),
    MetricSpec("restricted_auto_debit_disabled", "Share of decided borrowers whose latest "
               "decision disables auto-debit.", "share", True),
    MetricSpec("restricted_auto_debit_mandatory", "Share of decided borrowers whose latest "
               "decision makes auto-debit mandatory.", "share", True),
    MetricSpec("restricted_early_repayment", "Share of decided borrowers whose latest decision "
               "restricts early repayment.", "share", True),
    MetricSpec("restricted_manual_forced", "Share of decided borrowers whose latest decision "
               "forces the manual flow.", "share", True),
    MetricSpec("autodebit_adoption", "Share of the repaying book with a payment whose latest "
               "payment was collected by auto-debit.", "share", False),
    MetricSpec("notices_per_day", "Notices written to borrowers that day.", "count", True),
    MetricSpec("complaints_per_day", "Complaints filed that day.", "count", True),
    MetricSpec("approvals_waiting", "Approval requests waiting for a checker at day end.",
               "count", True),
    MetricSpec("score_psi", "Population stability index of decided borrowers' PD at day end "
               "against the production model's training bins.", "index", True),
    MetricSpec(f"{MARKET_SIGNAL_PREFIX}*", "The last value of each market_signal series that "
               "day, one metric per series.", "value", None),
)  # fmt: skip

METRICS: Final[dict[str, MetricSpec]] = {spec.name: spec for spec in _SPECS}
"""Every metric ``daily_series`` computes, by name (market signals as one family)."""


def spec_of(name: str) -> MetricSpec | None:
    """The catalogue entry of a metric name (a market series maps to its family)."""
    if name.startswith(MARKET_SIGNAL_PREFIX):
        return METRICS[f"{MARKET_SIGNAL_PREFIX}*"]
    return METRICS.get(name)
