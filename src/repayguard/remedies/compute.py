"""What a reversed restriction cost the borrower, computed from their events alone (pure: no
database, clock or settings; the service passes everything in).

The restriction ran from ``start`` (the reversed decision's as-of time plus its notice period:
when it took effect) to ``end`` (when the reversal was approved). Within it:

- **fee refund** — when the decision restricted auto-debit (made it mandatory) or repayment by
  hand (its state, or channels taken away), every *failed* ``auto_debit_attempt`` in the window
  cost the borrower the lender's failed-debit fee plus a penalty on the attempted amount. Events
  carry no fees, so both come from the lender's schedule (``Rates``):
  ``Σ (failed_debit_fee + failed_debit_penalty_rate × attempted amount)``.
- **early-repayment refund** — when the decision restricted early repayment, each instalment
  falling due in the window is money the borrower could have repaid from ``start``; the interest
  it carried meanwhile is refunded: ``Σ amount × early_repayment_interest_rate × days(start →
  due) / 365``.
- **bureau correction** — when the borrower was under ``late_mark_dpd`` days past due at
  ``start`` and reached it inside the window, the bureau recorded a late mark the restriction may
  have caused; a correction is requested (no amount).

Amounts are rounded half-up to the currency's minor unit once, on the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import polars as pl

from repayguard.core.features import compute_features
from repayguard.core.policy.outcome import OPEN
from repayguard.remedies.models import BUREAU_CORRECTION, EARLY_REPAYMENT_REFUND, FEE_REFUND

_CENT: Final = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Rates:
    """The lender's schedule (``remedies.*`` settings)."""

    failed_debit_fee: float = 0.0
    failed_debit_penalty_rate: float = 0.0
    early_repayment_interest_rate: float = 0.0
    late_mark_dpd: int = 30


@dataclass(frozen=True, slots=True)
class Harm:
    """One remedy owed: its kind, the amount in minor units, and how it was computed."""

    kind: str
    amount_minor: int
    basis: dict[str, Any]


def _minor(total: Decimal) -> int:
    return int((total / _CENT).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _inside(events: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    return events.filter((pl.col("occurred_at") > start) & (pl.col("occurred_at") <= end))


def harms(
    events: pl.DataFrame,
    *,
    borrower_id: str,
    states: Mapping[str, Any],
    offered_channels: Sequence[str],
    start: datetime,
    end: datetime,
    rates: Rates,
) -> list[Harm]:
    """The remedies owed for a restriction to ``states`` from ``start`` to ``end`` (see the
    module docstring), from ``events`` of the borrower (EVENT_SCHEMA layout)."""
    mine = events.filter(pl.col("borrower_id") == borrower_id).sort("occurred_at", "event_id")
    found: list[Harm] = []
    fee = _fee_refund(mine, states, offered_channels, start, end, rates)
    if fee is not None:
        found.append(fee)
    early = _early_repayment_refund(mine, states, start, end, rates)
    if early is not None:
        found.append(early)
    mark = _late_mark(mine, borrower_id, start, end, rates.late_mark_dpd)
    if mark is not None:
        found.append(mark)
    return found


def _fee_refund(
    events: pl.DataFrame,
    states: Mapping[str, Any],
    offered: Sequence[str],
    start: datetime,
    end: datetime,
    rates: Rates,
) -> Harm | None:
    narrowed = not set(offered) <= set(states.get("manual_channels") or ())
    shaped_debits = (
        states.get("auto_debit") == "mandatory"
        or states.get("manual") != OPEN["manual"]
        or narrowed
    )
    if not shaped_debits or (rates.failed_debit_fee == 0 and rates.failed_debit_penalty_rate == 0):
        return None
    failed = _inside(events, start, end).filter(
        (pl.col("type") == "repayment")
        & (pl.col("kind") == "auto_debit_attempt")
        & (pl.col("status") == "failed")
    )
    if failed.is_empty():
        return None
    fee = Decimal(str(rates.failed_debit_fee))
    rate = Decimal(str(rates.failed_debit_penalty_rate))
    attempts = [
        {
            "event_id": e["event_id"],
            "occurred_at": e["occurred_at"].isoformat(),
            "amount": e["amount"],
        }
        for e in failed.iter_rows(named=True)
    ]
    total = sum((fee + rate * Decimal(str(a["amount"] or 0.0)) for a in attempts), start=Decimal(0))
    return Harm(
        FEE_REFUND,
        _minor(total),
        {
            "failed_debits": attempts,
            "failed_debit_fee": rates.failed_debit_fee,
            "failed_debit_penalty_rate": rates.failed_debit_penalty_rate,
        },
    )


def _early_repayment_refund(
    events: pl.DataFrame, states: Mapping[str, Any], start: datetime, end: datetime, rates: Rates
) -> Harm | None:
    if states.get("early_repayment") == OPEN["early_repayment"]:
        return None
    if rates.early_repayment_interest_rate == 0:
        return None
    dues = _inside(events, start, end).filter(
        (pl.col("type") == "repayment") & (pl.col("kind") == "due")
    )
    if dues.is_empty():
        return None
    rate = Decimal(str(rates.early_repayment_interest_rate))
    instalments = [
        {
            "event_id": e["event_id"],
            "due_at": e["occurred_at"].isoformat(),
            "amount": e["amount"],
            "days": (e["occurred_at"] - start).days,
        }
        for e in dues.iter_rows(named=True)
    ]
    total = sum(
        (Decimal(str(i["amount"] or 0.0)) * rate * i["days"] / 365 for i in instalments),
        start=Decimal(0),
    )
    if _minor(total) == 0:
        return None
    return Harm(
        EARLY_REPAYMENT_REFUND,
        _minor(total),
        {"instalments": instalments, "early_repayment_interest_rate": float(rate)},
    )


def _dpd_at(events: pl.DataFrame, borrower_id: str, at: datetime) -> int:
    value = compute_features(events, at, [borrower_id])["dpd_now"][0]
    return int(value or 0)


def _late_mark(
    events: pl.DataFrame, borrower_id: str, start: datetime, end: datetime, threshold: int
) -> Harm | None:
    """Days past due first reach ``threshold`` ``threshold`` days after some instalment fell
    due; so checking at each such moment in the window finds the mark if there is one."""
    if _dpd_at(events, borrower_id, start) >= threshold:
        return None  # marked before the restriction: not its doing
    dues = events.filter((pl.col("type") == "repayment") & (pl.col("kind") == "due"))
    crossings = sorted(
        {
            due + timedelta(days=threshold)
            for due in dues["occurred_at"].to_list()
            if start < due + timedelta(days=threshold) <= end
        }
    )
    for moment in crossings:
        dpd = _dpd_at(events, borrower_id, moment)
        if dpd >= threshold:
            return Harm(
                BUREAU_CORRECTION,
                0,
                {"late_mark_at": moment.isoformat(), "days_past_due": dpd, "threshold": threshold},
            )
    return None
