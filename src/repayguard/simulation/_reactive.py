"""One simulated day of a policy arm: the generator's dynamics, reacting to repayment methods.

The mechanisms and their formulas are the generator's (``_dynamics``, ``_repayment``; see
docs/synthetic-data.md); what differs is (1) every random draw comes from the common random
numbers of :mod:`._crn`, so two arms see the same luck, and (2) each borrower's effective
methods (:class:`Methods`) change what they do: who is debited, who must pay by hand, who may
repay early, what a failed pull costs. Every step is vectorised over the borrowers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from repayguard.simulation._crn import Draws, geometric
from repayguard.simulation._dynamics import BENEFIT_RATIO, LOW_BALANCE, draw_down
from repayguard.simulation._eventlog import CODE, EventLog
from repayguard.simulation._money import hundreds
from repayguard.simulation._population import Population
from repayguard.simulation._state import F64, I32, I64, INQUIRY_BUCKET, Bools, ChunkState
from repayguard.simulation._timeline import DAY_US, HOUR_US
from repayguard.simulation.assumptions import Assumptions
from repayguard.simulation.spec import PortfolioSpec

AUTO, MANUAL = 0, 1
SUCCEEDED, FAILED = 0, 1
BUREAU_PERIOD: Final = 91
# Method states as small codes (0 is always the open state).
AD_OPTIONAL, AD_MANDATORY, AD_DISABLED = 0, 1, 2
ER_ALLOWED, ER_RESTRICTED = 0, 1
MN_ALLOWED, MN_FORCED = 0, 1


@dataclass(slots=True)
class Methods:
    """Each borrower's effective methods and what the arm counts about them."""

    auto_debit: NDArray[np.int8]
    early: NDArray[np.int8]
    manual: NDArray[np.int8]
    mandate_ok: Bools
    """Would link a debitable account if auto-debit were made mandatory."""
    enrolled: Bools
    """Auto-debit is attempted for the borrower (own choice or mandate, not disabled)."""
    switch_pending: Bools
    """Moved off auto-debit and has not yet met a manual due date."""
    missed: I32
    """Instalments that went past their due date unpaid (days past due reached 1)."""
    fees: F64
    """Failed-debit fees the borrower's bank charged."""

    @classmethod
    def open(cls, pop: Population, link_u: F64, a: Assumptions) -> Methods:
        n = pop.risk.size
        return cls(
            auto_debit=np.zeros(n, np.int8),
            early=np.zeros(n, np.int8),
            manual=np.zeros(n, np.int8),
            mandate_ok=pop.enrolled | (link_u < a.mandatory_link_rate),
            enrolled=pop.enrolled.copy(),
            switch_pending=np.zeros(n, np.bool_),
            missed=np.zeros(n, np.int32),
            fees=np.zeros(n),
        )

    def refresh(self, pop: Population) -> None:
        """Recompute who is debited after a state change; note who just lost auto-debit."""
        enrolled = np.where(
            self.auto_debit == AD_MANDATORY,
            self.mandate_ok,
            pop.enrolled & (self.auto_debit != AD_DISABLED),
        ) & (self.manual != MN_FORCED)
        self.switch_pending |= self.enrolled & ~enrolled
        self.switch_pending &= ~enrolled
        self.enrolled = enrolled


@dataclass(frozen=True, slots=True)
class Arm:
    """What a day reads: the spec, the assumptions, the borrowers, the draws, the log."""

    spec: PortfolioSpec
    a: Assumptions
    pop: Population
    draws: Draws
    log: EventLog


def _times(u: NDArray[np.float32], t: int, start_h: float, end_h: float) -> I64:
    low, high = int(start_h * HOUR_US), int(end_h * HOUR_US)
    return t * DAY_US + low + (u.astype(np.float64) * (high - low)).astype(np.int64)


def step_day(w: Arm, s: ChunkState, m: Methods, t: int, dom: int, d: int, hazard: float) -> None:
    """Day ``t`` (calendar day ``dom``, day ``d`` of the loaded month), in causal order."""
    _bureau(w, s, t)
    _income(w, s, t, dom)
    _bill(w, s, m, t, dom)
    _auto_debit(w, s, m, t, d)
    _manual(w, s, m, t, d)
    _early(w, s, m, t, d)
    _shocks(w, s, t, d, hazard)
    _spending(w, s, t, d)
    _drawdowns(w, s, t, d)
    _outside_credit(w, s, t, d)
    _delinquency(w, s, m, t)
    _behaviour(w, s, t, d)


def _clock(w: Arm, idx: I64, t: int, d: int, start_h: float, end_h: float) -> I64:
    return _times(w.draws.day("clock", d)[idx], t, start_h, end_h)


def _bureau(w: Arm, s: ChunkState, t: int) -> None:
    idx = np.flatnonzero(w.pop.report_phase == t % BUREAU_PERIOD)
    if not idx.size:
        return
    bucket = t // INQUIRY_BUCKET
    inquiries = s.applications[idx, max(bucket - 2, 0) : bucket + 1].sum(axis=1)
    debt_ratio = np.minimum(s.ext_debt[idx] / w.pop.income[idx], 5.0)
    score = (
        845.0
        - 520.0 * w.pop.risk[idx] ** 0.75
        - 1.5 * np.minimum(np.where(s.arrears[idx] > 0, t - s.oldest_due[idx], 0), 120)
        - 12.0 * inquiries
        - 20.0 * debt_ratio
        + w.pop.bureau_bias[idx]
        + 20.0 * w.draws.normal("bureau_a", "bureau_b")[idx]
    )
    score = np.round(np.clip(score, 300.0, 900.0))
    s.last_score[idx] = score
    w.log.add(
        CODE["credit_report/report"],
        idx,
        _times(w.draws.monthly("bureau_a")[idx].astype(np.float32), t, 1.0, 6.0),
        floats={"score": score, "external_debt": np.round(s.ext_debt[idx], 2)},
        ints={"inquiries": inquiries.astype(np.int32)},
    )


def _income(w: Arm, s: ChunkState, t: int, dom: int) -> None:
    idx = np.flatnonzero(w.pop.payday_dom == dom)
    if not idx.size:
        return
    working = s.job_until[idx] <= t
    pay = w.pop.income[idx] * np.where(working, 1.0, BENEFIT_RATIO)
    sigma = 0.04 + 0.6 * w.pop.risk[idx]
    pay = np.round(
        pay * np.exp(sigma * w.draws.normal("income_a", "income_b")[idx] - sigma**2 / 2), 2
    )
    s.balance[idx] += pay
    seen = w.pop.linked[idx]
    w.log.add(
        CODE["transaction/inflow"],
        idx[seen],
        _times(w.draws.monthly("income_b")[idx[seen]].astype(np.float32), t, 1.0, 6.0),
        floats={"amount": pay[seen], "balance": np.round(s.balance[idx[seen]], 2)},
    )


def _bill(w: Arm, s: ChunkState, m: Methods, t: int, dom: int) -> None:
    """Statements as in the generator; a manual payer's plan reflects reminders and, for one
    just moved off auto-debit, the chance of missing the first manual due date."""
    idx = np.flatnonzero(w.pop.due_dom == dom)
    idx, amount, current = s.bill(t, idx, w.spec)
    if not idx.size:
        return
    a = w.a
    p = w.pop.ontime_prob[idx]
    if a.reminders:
        p = p + a.reminder_uplift * (1.0 - p)
    on_time = w.draws.monthly("ontime")[idx] < p
    first_manual = m.switch_pending[idx]
    on_time &= ~(first_manual & (w.draws.monthly("switch")[idx] < a.switch_miss_prob))
    m.switch_pending[idx] = False
    delay = geometric(w.draws.monthly("delay")[idx], 1.0 / w.pop.late_mean_days[idx])
    s.plan_day[idx] = np.where(current, t + np.where(on_time, 0, delay), s.plan_day[idx])
    w.log.add(
        CODE["repayment/due"], idx, np.full(idx.size, t * DAY_US, np.int64),
        floats={"amount": amount / 100.0},
    )  # fmt: skip


def _auto_debit(w: Arm, s: ChunkState, m: Methods, t: int, d: int) -> None:
    """Debits for whoever is enrolled now; a failed pull costs the borrower their bank's fee
    (which also drains the balance the next instalment needs)."""
    every, retries = w.spec.auto_debit_retry_days, w.spec.auto_debit_retries
    since = t - s.last_bill
    due_now = (since <= every * retries) & (since % every == 0)
    idx = np.flatnonzero(m.enrolled & s.in_arrears() & due_now)
    if not idx.size:
        return
    owed = s.arrears[idx]
    ok = (s.balance[idx] * 100.0 >= owed) & (w.draws.day("tech", d)[idx] >= w.a.technical_failure)
    ok &= ~s.gave_up[idx]
    when = _clock(w, idx, t, d, 6.0, 8.0)
    w.log.add(
        CODE["repayment/auto_debit_attempt"], idx, when,
        floats={"amount": owed / 100.0},
        ints={"status": np.where(ok, SUCCEEDED, FAILED).astype(np.int8)},
    )  # fmt: skip
    failed = idx[~ok]
    s.failed_debits[failed] += 1
    s.balance[failed] -= w.a.failed_debit_fee
    m.fees[failed] += w.a.failed_debit_fee
    paid = idx[ok]
    amount = s.settle(paid, s.n_bills[paid])
    w.log.add(
        CODE["repayment/paid"], paid, when[ok] + 30_000_000,
        floats={"amount": amount / 100.0}, ints={"method": AUTO, "early": 0},
    )  # fmt: skip


def _manual(w: Arm, s: ChunkState, m: Methods, t: int, d: int) -> None:
    every, retries = w.spec.auto_debit_retry_days, w.spec.auto_debit_retries
    manual_turn = ~m.enrolled | (t - s.last_bill > every * retries)
    idx = np.flatnonzero(s.in_arrears() & manual_turn & (t >= s.plan_day))
    if not idx.size:
        return
    willing = np.where(s.gave_up[idx], w.a.give_up_willingness, w.pop.willingness[idx])
    idx = idx[(s.plan_day[idx] == t) | (w.draws.day("willing", d)[idx] < willing)]
    done = s.paid_upto[idx]
    budget = s.cum_amount[idx, done] + np.floor(np.maximum(s.balance[idx], 0) * 100.0).astype(
        np.int64
    )
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
        CODE["repayment/paid"], idx, _clock(w, idx, t, d, 8.0, 14.0),
        floats={"amount": amount / 100.0},
        ints={"method": MANUAL, "channel": w.pop.channel[idx], "early": 0},
    )  # fmt: skip


def _early(w: Arm, s: ChunkState, m: Methods, t: int, d: int) -> None:
    """Early repayment as in the generator, except where it is restricted: a cycler who may
    not repay early neither bridges with outside money nor redraws."""
    pop, dr = w.pop, w.draws
    unbilled = s.principal - s.billed
    can = ~s.in_arrears() & (unbilled >= 20_000) & (m.early == ER_ALLOWED)
    u = dr.day("early", d)
    cycle = can & pop.cycler & (s.redraw_day < 0) & (u < w.a.cycle_rate / 30.0)
    surplus = can & ~pop.cycler & (s.balance > 1.2 * pop.income) & (u < pop.prepay_rate / 30.0)
    idx = np.flatnonzero(cycle | surplus)
    if not idx.size:
        return
    cycling = cycle[idx]
    bridge = unbilled[idx] / 100.0 * (0.3 + 0.7 * dr.monthly("early_size")[idx])
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
        CODE["repayment/paid"], idx, _clock(w, idx, t, d, 8.0, 14.0),
        floats={"amount": cents / 100.0},
        ints={"method": MANUAL, "channel": pop.channel[idx], "early": 1},
    )  # fmt: skip
    cyclers = idx[cycling]
    back = cents[cycling] * (0.9 + 0.25 * dr.monthly("redraw_size")[cyclers])
    s.redraw_day[cyclers] = t + 1 + (dr.monthly("redraw_day")[cyclers] * 10).astype(np.int64)
    s.redraw_cents[cyclers] = (np.floor(back / 10_000) * 10_000).astype(np.int64)


def _shocks(w: Arm, s: ChunkState, t: int, d: int, hazard: float) -> None:
    pop, dr = w.pop, w.draws
    job = w.spec.job_loss_hazard * (1.0 + 15.0 * pop.risk) / 30.0 * hazard
    medical = w.spec.medical_hazard * (1.0 + 3.0 * pop.risk) / 30.0
    u = dr.day("shock", d)
    idx = np.flatnonzero((s.job_until <= t) & (u < job))
    s.job_until[idx] = t + 30 * geometric(dr.monthly("job_len")[idx], 0.25)
    s.job_days += s.job_until > t
    idx = np.flatnonzero((u >= job) & (u < job + medical))
    if not idx.size:
        return
    z = dr.normal("medical_a", "medical_b")[idx]
    bill = pop.income[idx] * np.exp(np.log(0.8) + 0.7 * z)
    paid: F64 = np.minimum(bill, np.maximum(s.balance[idx], 0.0)).round(2)
    s.ext_debt[idx] += bill - paid
    s.balance[idx] -= paid
    s.medical_until[idx] = t + 30 * (1 + (dr.monthly("medical_len")[idx] * 3).astype(np.int64))
    s.medical_count[idx] += 1
    seen = (paid >= 1.0) & pop.linked[idx]
    shown = idx[seen]
    w.log.add(
        CODE["transaction/outflow"], shown, _clock(w, shown, t, d, 14.0, 16.0),
        floats={"amount": paid[seen], "balance": np.round(s.balance[shown], 2)},
    )  # fmt: skip


def _spending(w: Arm, s: ChunkState, t: int, d: int) -> None:
    s.spend(w.pop, w.spec, t, 0.4 + 1.2 * w.draws.day("spend", d))


def _drawdowns(w: Arm, s: ChunkState, t: int, d: int) -> None:
    idx, cents = draw_down(w.pop, s, t, u=w.draws.day("draw", d), size=w.draws.day("draw_size", d))
    if not idx.size:
        return
    w.log.add(
        CODE["loan/drawdown"], idx, _clock(w, idx, t, d, 16.0, 23.0),
        floats={"amount": cents / 100.0},
    )  # fmt: skip


def _outside_credit(w: Arm, s: ChunkState, t: int, d: int) -> None:
    pop, dr = w.pop, w.draws
    no_room = s.frozen | s.in_arrears() | (s.limit - s.principal < 10_000)
    stressed = (s.balance < LOW_BALANCE * pop.income) & no_room
    p_apply = np.where(stressed, 0.03 + 0.1 * pop.risk, (0.02 + 0.1 * pop.risk) / 30.0)
    idx = np.flatnonzero(dr.day("apply", d) < p_apply)
    if not idx.size:
        return
    s.applications[idx, t // INQUIRY_BUCKET] += 1
    approved = idx[dr.day("approve", d)[idx] < np.clip(0.4 - pop.risk[idx], 0.05, 1.0)]
    loan = np.round(pop.income[approved] * (0.3 + 0.7 * dr.monthly("loan_size")[approved]), 2)
    s.ext_debt[approved] += loan
    s.balance[approved] += loan


def _delinquency(w: Arm, s: ChunkState, m: Methods, t: int) -> None:
    dpd = s.days_past_due(t).astype(np.int32)
    m.missed += dpd == 1
    np.maximum(s.max_dpd, dpd, out=s.max_dpd)
    newly = (dpd >= 30) & (s.first30 < 0)
    if not newly.any():
        return
    s.first30[newly] = t
    p = np.clip(w.a.give_up_base + w.a.give_up_slope * w.pop.risk, 0.0, 0.9)
    s.gave_up |= newly & (w.draws.monthly("give_up") < p)
    freeze = np.flatnonzero(newly & ~s.frozen)
    s.frozen[freeze] = True
    s.limit[freeze] = 0
    w.log.add(
        CODE["loan/limit_change"], freeze, np.full(freeze.size, t * DAY_US + 23 * HOUR_US),
        floats={"amount": 0.0},
    )  # fmt: skip


def _behaviour(w: Arm, s: ChunkState, t: int, d: int) -> None:
    pop = w.pop
    distress = s.in_arrears() | (s.job_until > t) | (s.balance < 0.05 * pop.income)
    p_login = pop.login_rate / 30.0 * np.where(distress, 2.0, 1.0)
    p_device = np.where(distress, 0.08, 0.012) / 30.0
    p_contact = np.where(distress, 0.04, 0.006) / 30.0
    u = w.draws.day("behaviour", d)
    idx = np.flatnonzero(u < p_login + p_device + p_contact)
    u, p_login, p_device = u[idx], p_login[idx], p_device[idx]
    kind = np.where(u < p_login, 0, np.where(u < p_login + p_device, 1, 2))
    for k, name in enumerate(("login", "device_change", "contact_change")):
        who = idx[kind == k]
        w.log.add(CODE[f"behaviour/{name}"], who, _clock(w, who, t, d, 7.0, 23.0))
