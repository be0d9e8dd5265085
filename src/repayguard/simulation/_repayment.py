"""Instalments falling due and how they get paid: auto-debit, manual, early (and cycling)."""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from repayguard.simulation._eventlog import CODE
from repayguard.simulation._money import hundreds
from repayguard.simulation._state import (
    I64,
    INQUIRY_BUCKET,
    ChunkState,
    World,
    at,
)
from repayguard.simulation._timeline import DAY_US

AUTO, MANUAL = 0, 1  # indices into core.events.REPAYMENT_METHODS
SUCCEEDED, FAILED = 0, 1
TECHNICAL_FAILURE: Final = 0.005
"""Share of auto-debit attempts that fail for technical reasons despite enough money."""
GIVE_UP_WILLINGNESS: Final = 0.01
"""Daily willingness to pay of a borrower who has given up (after reaching 30+ DPD)."""
CYCLE_RATE: Final = 0.5
"""Monthly probability that a cycler with room repays early (and so redraws soon after)."""


def bill_statements(w: World, s: ChunkState, t: int, idx: I64) -> None:
    """On the due day, bill 1/term of the unbilled principal plus interest on all of it.

    Manual payers plan when to pay: on the due date with their on-time probability, else
    after a geometric delay. Borrowers already in arrears keep their earlier plan.
    """
    idx, amount, current = s.bill(t, idx, w.spec)
    if not idx.size:
        return
    rng = w.rs.payment
    on_time = rng.random(idx.size) < w.pop.ontime_prob[idx]
    delay = 1 + rng.geometric(1.0 / w.pop.late_mean_days[idx])
    s.plan_day[idx] = np.where(current, t + np.where(on_time, 0, delay), s.plan_day[idx])
    # Instalments fall due at midnight of the due date.
    w.log.add(
        CODE["repayment/due"],
        idx,
        np.full(idx.size, t * DAY_US, dtype=np.int64),
        floats={"amount": amount / 100.0},
    )


def auto_debit(w: World, s: ChunkState, t: int) -> None:
    """Pull all arrears on the due date and retry every few days while they stay unpaid.

    An attempt fails when the balance is short (or, rarely, for technical reasons); a
    succeeded attempt is followed by its ``paid`` event seconds later.
    """
    every, retries = w.spec.auto_debit_retry_days, w.spec.auto_debit_retries
    since = t - s.last_bill
    due_now = (since <= every * retries) & (since % every == 0)
    idx = np.flatnonzero(w.pop.enrolled & s.in_arrears() & due_now)
    if not idx.size:
        return
    rng = w.rs.payment
    owed = s.arrears[idx]
    ok = (s.balance[idx] * 100.0 >= owed) & (rng.random(idx.size) >= TECHNICAL_FAILURE)
    ok &= ~s.gave_up[idx]  # who gave up keeps the account out of the lender's reach
    when = at(rng, t, idx.size, 6.0, 8.0)
    status = np.where(ok, SUCCEEDED, FAILED).astype(np.int8)
    w.log.add(
        CODE["repayment/auto_debit_attempt"],
        idx,
        when,
        floats={"amount": owed / 100.0},
        ints={"status": status},
    )
    s.failed_debits[idx[~ok]] += 1
    paid = idx[ok]
    amount = s.settle(paid, s.n_bills[paid])
    w.log.add(
        CODE["repayment/paid"],
        paid,
        when[ok] + rng.integers(1_000_000, 90_000_000, size=paid.size),
        floats={"amount": amount / 100.0},
        ints={"method": AUTO, "early": 0},
    )


def manual_payments(w: World, s: ChunkState, t: int) -> None:
    """Manual settling of arrears, by manual payers and by enrolled ones after the retries.

    A borrower pays on the planned day, or later on a day they are willing to; they pay as
    many of the oldest instalments as their balance covers.
    """
    every, retries = w.spec.auto_debit_retry_days, w.spec.auto_debit_retries
    manual_turn = ~w.pop.enrolled | (t - s.last_bill > every * retries)
    idx = np.flatnonzero(s.in_arrears() & manual_turn & (t >= s.plan_day))
    if not idx.size:
        return
    rng = w.rs.payment
    willing = np.where(s.gave_up[idx], GIVE_UP_WILLINGNESS, w.pop.willingness[idx])
    idx = idx[(s.plan_day[idx] == t) | (rng.random(idx.size) < willing)]
    done = s.paid_upto[idx]
    budget = s.cum_amount[idx, done] + np.floor(s.balance[idx] * 100.0).astype(np.int64)
    cols = np.arange(s.cum_amount.shape[1])
    payable = (
        (s.cum_amount[idx] <= budget[:, None])
        & (cols > done[:, None])
        & (cols <= s.n_bills[idx][:, None])
    )
    upto = done + payable.sum(axis=1)
    idx, upto = idx[upto > done], upto[upto > done]
    amount = s.settle(idx, upto)
    w.log.add(
        CODE["repayment/paid"],
        idx,
        at(rng, t, idx.size, 8.0, 14.0),
        floats={"amount": amount / 100.0},
        ints={"method": MANUAL, "channel": _channel(w, idx), "early": 0},
    )


def early_repayments(w: World, s: ChunkState, t: int) -> None:
    """Repayment of principal not yet billed, only by borrowers with no arrears.

    Cyclers repay (bridging with money borrowed elsewhere when the account is short) and
    plan to redraw within ten days; others with surplus cash occasionally pay the line down.
    """
    pop, rng = w.pop, w.rs.payment
    unbilled = s.principal - s.billed
    can = ~s.in_arrears() & (unbilled >= 20_000)
    u = rng.random(unbilled.size)
    cycle = can & pop.cycler & (s.redraw_day < 0) & (u < CYCLE_RATE / 30.0)
    surplus = can & ~pop.cycler & (s.balance > 1.2 * pop.income) & (u < pop.prepay_rate / 30.0)
    idx = np.flatnonzero(cycle | surplus)
    if not idx.size:
        return
    cycling = cycle[idx]
    bridge = unbilled[idx] / 100.0 * w.rs.credit.uniform(0.3, 1.0, idx.size)
    room = np.where(
        cycling, np.maximum(0.9 * s.balance[idx], bridge), s.balance[idx] - 0.8 * pop.income[idx]
    )
    cents = np.minimum(unbilled[idx], hundreds(room))
    keep = cents >= 10_000
    idx, cents, cycling = idx[keep], cents[keep], cycling[keep]
    borrowed = np.where(cycling, np.maximum(cents / 100.0 - np.maximum(s.balance[idx], 0), 0), 0)
    s.ext_debt[idx] += borrowed
    s.balance[idx] += borrowed
    s.applications[idx[borrowed > 0], t // INQUIRY_BUCKET] += 1
    s.balance[idx] -= cents / 100.0
    s.principal[idx] -= cents
    s.early_count[idx] += 1
    w.log.add(
        CODE["repayment/paid"],
        idx,
        at(rng, t, idx.size, 8.0, 14.0),
        floats={"amount": cents / 100.0},
        ints={"method": MANUAL, "channel": _channel(w, idx), "early": 1},
    )
    cyclers = idx[cycling]
    back = cents[cycling] * w.rs.credit.uniform(0.9, 1.15, cyclers.size)
    s.redraw_day[cyclers] = t + w.rs.credit.integers(1, 11, size=cyclers.size)
    s.redraw_cents[cyclers] = (np.floor(back / 10_000) * 10_000).astype(np.int64)


def _channel(w: World, idx: I64) -> NDArray[np.int8]:
    """The borrower's preferred manual channel, or another one for one payment in ten."""
    rng = w.rs.payment
    other = rng.integers(0, 4, size=idx.size).astype(np.int8)
    channel: NDArray[np.int8] = np.where(rng.random(idx.size) < 0.9, w.pop.channel[idx], other)
    return channel
