"""Mutable per-borrower state of one chunk while it is simulated, and its random streams.

Money on the credit line (limit, principal, instalments) is held in integer cents so arrears
are exact; the linked account balance is a float in currency units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from repayguard.simulation._eventlog import EventLog
from repayguard.simulation._population import Population
from repayguard.simulation._timeline import DAY_US, HOUR_US
from repayguard.simulation.spec import PortfolioSpec

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
I32 = NDArray[np.int32]
Bools = NDArray[np.bool_]

INQUIRY_BUCKET: Final = 30
"""Outside credit applications are counted per 30-day bucket; a bureau pull sums three."""
MIN_PRINCIPAL_CENTS: Final = 20_000
"""An instalment bills at least 200 of principal (or all that is left)."""
ESSENTIAL_SHARE: Final = 0.6
"""Share of desired spending a borrower cannot cut, even to keep money for an instalment."""


class Streams:
    """Independent random streams per mechanism, so changing one leaves the others' draws alone."""

    __slots__ = ("behaviour", "bureau", "credit", "payment", "shock", "spend")

    def __init__(self, seed: np.random.SeedSequence) -> None:
        children = [np.random.default_rng(s) for s in seed.spawn(6)]
        self.shock, self.spend, self.payment, self.credit, self.bureau, self.behaviour = children


@dataclass(frozen=True, slots=True)
class World:
    """What the steps of a day read: the spec, the borrowers, the streams and the event log."""

    spec: PortfolioSpec
    pop: Population
    rs: Streams
    log: EventLog


@dataclass(slots=True)
class ChunkState:
    """Everything that changes from day to day, one array element per borrower."""

    balance: F64
    principal: I64
    """Drawn and not yet repaid (cents)."""
    billed: I64
    """Principal contained in unpaid instalments (cents)."""
    limit: I64
    frozen: Bools
    gave_up: Bools
    """Stopped paying after reaching 30+ days past due."""
    ext_debt: F64
    arrears: I64
    """Sum of unpaid instalments (cents); positive exactly when the borrower is late."""
    oldest_due: I64
    """Day the oldest unpaid instalment fell due (meaningful only with arrears)."""
    n_bills: I64
    paid_upto: I64
    """Instalments 0 .. paid_upto-1 are settled; the rest are arrears."""
    bill_day: I64
    """Day each instalment fell due (borrowers x instalments)."""
    cum_amount: I64
    """Cumulative instalment amounts (cents), column k = sum of the first k instalments."""
    cum_principal: I64
    last_bill: I64
    plan_day: I64
    """Day a manual payer means to settle the current arrears."""
    job_until: I64
    """Out of work while the day is before this one."""
    medical_until: I64
    redraw_day: I64
    """Day a cycler plans to redraw what they repaid early (-1: none)."""
    redraw_cents: I64
    draw_cooldown: I64
    applications: NDArray[np.int16]
    """Outside credit applications per 30-day bucket (hard inquiries)."""
    last_score: F64
    max_dpd: I32
    first30: I32
    failed_debits: I32
    early_count: I32
    job_days: I32
    medical_count: I32

    @classmethod
    def open(cls, pop: Population, spec: PortfolioSpec, days: int) -> ChunkState:
        """State at the opening instant: lines undrawn, nobody late or out of work."""
        n = pop.risk.size
        bills = spec.months + 2  # at most one instalment per calendar month touched

        def zeros() -> I64:
            return np.zeros(n, dtype=np.int64)

        def counts() -> I32:
            return np.zeros(n, dtype=np.int32)

        return cls(
            balance=pop.balance.copy(),
            principal=zeros(),
            billed=zeros(),
            limit=pop.limit_cents.copy(),
            frozen=np.zeros(n, dtype=np.bool_),
            gave_up=np.zeros(n, dtype=np.bool_),
            ext_debt=pop.external_debt.copy(),
            arrears=zeros(),
            oldest_due=zeros(),
            n_bills=zeros(),
            paid_upto=zeros(),
            bill_day=np.zeros((n, bills), dtype=np.int64),
            cum_amount=np.zeros((n, bills + 1), dtype=np.int64),
            cum_principal=np.zeros((n, bills + 1), dtype=np.int64),
            last_bill=np.full(n, -(10**6), dtype=np.int64),
            plan_day=zeros(),
            job_until=zeros(),
            medical_until=zeros(),
            redraw_day=np.full(n, -1, dtype=np.int64),
            redraw_cents=zeros(),
            draw_cooldown=zeros(),
            applications=np.zeros((n, days // INQUIRY_BUCKET + 1), dtype=np.int16),
            last_score=np.full(n, 700.0),  # until the first bureau pull
            max_dpd=counts(),
            first30=np.full(n, -1, dtype=np.int32),
            failed_debits=counts(),
            early_count=counts(),
            job_days=counts(),
            medical_count=counts(),
        )

    def in_arrears(self) -> Bools:
        """Borrowers with at least one unpaid instalment."""
        late: Bools = self.arrears > 0
        return late

    def days_past_due(self, t: int) -> I64:
        """Days since each borrower's oldest unpaid instalment fell due (0 when current)."""
        dpd: I64 = np.where(self.arrears > 0, t - self.oldest_due, 0)
        return dpd

    def bill(self, t: int, idx: I64, spec: PortfolioSpec) -> tuple[I64, I64, Bools]:
        """Post day ``t``'s statements for ``idx``: 1/term of the unbilled principal (at least
        ``MIN_PRINCIPAL_CENTS``, or all that is left) plus a month's interest on the principal.

        Returns the borrowers billed (those with principal left unbilled), each one's amount
        (cents), and whether each was current before this statement.
        """
        unbilled = self.principal[idx] - self.billed[idx]
        idx, unbilled = idx[unbilled > 0], unbilled[unbilled > 0]
        term, rate = spec.instalment_term_months, spec.monthly_interest_rate
        part = np.minimum(unbilled, np.maximum(MIN_PRINCIPAL_CENTS, -(-unbilled // term)))
        amount: I64 = part + np.round(self.principal[idx] * rate).astype(np.int64)
        k = self.n_bills[idx]
        current: Bools = self.paid_upto[idx] == k
        self.bill_day[idx, k] = t
        self.cum_amount[idx, k + 1] = self.cum_amount[idx, k] + amount
        self.cum_principal[idx, k + 1] = self.cum_principal[idx, k] + part
        self.n_bills[idx] += 1
        self.billed[idx] += part
        self.arrears[idx] += amount
        self.oldest_due[idx] = np.where(current, t, self.oldest_due[idx])
        self.last_bill[idx] = t
        return idx, amount, current

    def settle(self, idx: I64, upto: I64) -> I64:
        """Mark instalments up to ``upto`` paid; returns the amounts paid (cents)."""
        done = self.paid_upto[idx]
        amount: I64 = self.cum_amount[idx, upto] - self.cum_amount[idx, done]
        part = self.cum_principal[idx, upto] - self.cum_principal[idx, done]
        self.balance[idx] -= amount / 100.0
        self.principal[idx] -= part
        self.billed[idx] -= part
        self.paid_upto[idx] = upto
        self.arrears[idx] -= amount
        left = upto < self.n_bills[idx]
        self.oldest_due[idx[left]] = self.bill_day[idx[left], upto[left]]
        return amount

    def spend(
        self, pop: Population, spec: PortfolioSpec, t: int, noise: NDArray[np.floating[Any]]
    ) -> None:
        """A day's outlay (``noise`` has mean 1; higher when ill, lower out of work; plus service
        of outside debt), cut to keep the borrower's share of the next instalment in hand, but
        never below the essentials the balance can cover. Outside debt amortises."""
        desired = pop.income * pop.spend_ratio / 30.0 * noise
        ill, out_of_work = self.medical_until > t, self.job_until > t
        desired *= np.where(ill, 1.25, 1.0) * np.where(out_of_work, 0.9, 1.0)
        desired += self.ext_debt * (0.035 / 30.0)
        unbilled = self.principal - self.billed
        next_due = np.where(
            unbilled > 0,
            np.maximum(MIN_PRINCIPAL_CENTS, unbilled / spec.instalment_term_months)
            + self.principal * spec.monthly_interest_rate,
            0.0,
        )
        reserve = pop.discipline * (self.arrears + next_due) / 100.0
        spend = np.maximum(
            np.minimum(desired, self.balance - reserve),
            np.minimum(ESSENTIAL_SHARE * desired, self.balance),
        )
        self.balance -= np.maximum(spend, 0.0)
        self.ext_debt *= 1.0 - 0.025 / 30.0


def at(rng: np.random.Generator, day: int, size: int, start_h: float, end_h: float) -> I64:
    """Random instants (µs from window start) on ``day`` within hours [start_h, end_h)."""
    low, high = int(start_h * HOUR_US), int(end_h * HOUR_US)
    return day * DAY_US + rng.integers(low, high, size=size, dtype=np.int64)
