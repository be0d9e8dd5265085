"""Day-by-day simulation of one borrower chunk: income, shocks, spending, credit, signals.

Every step is vectorised across the chunk's borrowers; only days are looped over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from repayguard.simulation._eventlog import CODE, EventLog
from repayguard.simulation._money import hundreds
from repayguard.simulation._population import Population
from repayguard.simulation._repayment import (
    auto_debit,
    bill_statements,
    early_repayments,
    manual_payments,
)
from repayguard.simulation._state import (
    F64,
    I32,
    I64,
    INQUIRY_BUCKET,
    ChunkState,
    Streams,
    World,
    at,
)
from repayguard.simulation._timeline import Calendar, Market
from repayguard.simulation.spec import PortfolioSpec

BENEFIT_RATIO: Final = 0.2
"""Share of income still coming in (as benefits) while out of work."""
LOW_BALANCE: Final = 0.1
"""Balance below this share of monthly income counts as a liquidity squeeze."""
BUREAU_PERIOD: Final = 91


@dataclass(frozen=True, slots=True)
class Outcome:
    """What actually happened to each borrower in the window (ground truth, not events)."""

    max_dpd: I32
    first_dpd30_day: I32
    """Day index the borrower first reached 30 days past due, -1 if never."""
    failed_debits: I32
    early_repayments: I32
    job_loss_days: I32
    medical_shocks: I32
    arrears_end: F64
    principal_end: F64
    balance_end: F64


def _by_value(values: NDArray[np.int8] | NDArray[np.int16], top: int) -> list[I64]:
    """Borrower indices grouped by a small non-negative value (day of month, phase)."""
    return [np.flatnonzero(values == v).astype(np.int64) for v in range(top)]


def simulate_chunk(
    spec: PortfolioSpec,
    pop: Population,
    calendar: Calendar,
    market: Market,
    seed: np.random.SeedSequence,
    log: EventLog,
) -> Outcome:
    """Run the chunk through the window, appending its events to ``log``.

    Causal order within a day (event times follow it): bureau pull, income, instalment due,
    auto-debit, manual payments, early repayments, shocks and spending, drawdowns and
    outside credit, delinquency and limit actions, app behaviour.
    """
    w = World(spec=spec, pop=pop, rs=Streams(seed), log=log)
    s = ChunkState.open(pop, spec, calendar.days)
    n = pop.risk.size
    payday, due = _by_value(pop.payday_dom, 32), _by_value(pop.due_dom, 32)
    bureau = _by_value(pop.report_phase, BUREAU_PERIOD)
    hazard_mult = market.job_loss_multiplier(spec.unemployment_rate)
    reviewed = set(pop.review_day.tolist())
    log.add(
        CODE["loan/limit_change"],
        np.arange(n, dtype=np.int64),
        at(w.rs.credit, 0, n, 0.0, 0.5),
        floats={"amount": s.limit / 100.0},
    )
    for t in range(calendar.days):
        dom = int(calendar.day_of_month[t])
        _bureau_pull(w, s, t, bureau[t % BUREAU_PERIOD])
        _income(w, s, t, payday[dom])
        bill_statements(w, s, t, due[dom])
        auto_debit(w, s, t)
        manual_payments(w, s, t)
        early_repayments(w, s, t)
        _shocks(w, s, t, float(hazard_mult[calendar.month_of_day[t]]))
        _spending(w, s, t)
        _drawdowns(w, s, t)
        _outside_credit(w, s, t)
        _delinquency(w, s, t)
        if t in reviewed:
            _review_limits(w, s, t)
        _behaviour(w, s, t)

    return Outcome(
        max_dpd=s.max_dpd,
        first_dpd30_day=s.first30,
        failed_debits=s.failed_debits,
        early_repayments=s.early_count,
        job_loss_days=s.job_days,
        medical_shocks=s.medical_count,
        arrears_end=s.arrears / 100.0,
        principal_end=s.principal / 100.0,
        balance_end=np.round(s.balance, 2),
    )


def _bureau_pull(w: World, s: ChunkState, t: int, idx: I64) -> None:
    """Quarterly bureau pull: latent risk, lateness, recent inquiries and outside debt,
    seen through the bureau's own persistent and per-pull noise."""
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
        + w.rs.bureau.normal(0.0, 20.0, idx.size)
    )
    score = np.round(np.clip(score, 300.0, 900.0))
    s.last_score[idx] = score
    w.log.add(
        CODE["credit_report/report"],
        idx,
        at(w.rs.bureau, t, idx.size, 1.0, 6.0),
        floats={"score": score, "external_debt": np.round(s.ext_debt[idx], 2)},
        ints={"inquiries": inquiries.astype(np.int32)},
    )


def _income(w: World, s: ChunkState, t: int, idx: I64) -> None:
    """Pay lands overnight on payday (lumpier for riskier borrowers); out of work it shrinks
    to benefits. The lender sees the inflow only on linked accounts."""
    if not idx.size:
        return
    working = s.job_until[idx] <= t
    pay = w.pop.income[idx] * np.where(working, 1.0, BENEFIT_RATIO)
    # Riskier borrowers have lumpier pay (gig work, commissions): log-normal, mean one.
    sigma = 0.04 + 0.6 * w.pop.risk[idx]
    pay = np.round(pay * np.exp(sigma * w.rs.spend.standard_normal(idx.size) - sigma**2 / 2), 2)
    s.balance[idx] += pay
    seen = w.pop.linked[idx]
    w.log.add(
        CODE["transaction/inflow"],
        idx[seen],
        at(w.rs.spend, t, int(seen.sum()), 1.0, 6.0),
        floats={"amount": pay[seen], "balance": np.round(s.balance[idx[seen]], 2)},
    )


def _shocks(w: World, s: ChunkState, t: int, hazard_mult: float) -> None:
    """Job loss (income stops for months) and medical bills (a one-off expense plus higher
    spending for a while); hazards rise with latent risk, job loss also with unemployment."""
    pop, rng = w.pop, w.rs.shock
    job = w.spec.job_loss_hazard * (1.0 + 15.0 * pop.risk) / 30.0 * hazard_mult
    medical = w.spec.medical_hazard * (1.0 + 3.0 * pop.risk) / 30.0
    u = rng.random(pop.risk.size)
    idx = np.flatnonzero((s.job_until <= t) & (u < job))
    s.job_until[idx] = t + 30 * (1 + rng.geometric(0.25, size=idx.size))
    s.job_days += s.job_until > t
    idx = np.flatnonzero((u >= job) & (u < job + medical))
    if not idx.size:
        return
    bill = pop.income[idx] * rng.lognormal(np.log(0.8), 0.7, idx.size)
    paid: F64 = np.minimum(bill, np.maximum(s.balance[idx], 0.0)).round(2)
    s.ext_debt[idx] += bill - paid  # the rest is financed outside the lender
    s.balance[idx] -= paid
    s.medical_until[idx] = t + 30 * rng.integers(1, 4, size=idx.size)
    s.medical_count[idx] += 1
    shown = (paid >= 1.0) & pop.linked[idx]
    w.log.add(
        CODE["transaction/outflow"],
        idx[shown],
        at(rng, t, int(shown.sum()), 14.0, 16.0),
        floats={"amount": paid[shown], "balance": np.round(s.balance[idx[shown]], 2)},
    )


def _spending(w: World, s: ChunkState, t: int) -> None:
    """Daily outlay around the borrower's usual spending (see ``ChunkState.spend``)."""
    s.spend(w.pop, w.spec, t, 0.4 + 1.2 * w.rs.spend.random(w.pop.risk.size))  # mean 1


def _drawdowns(w: World, s: ChunkState, t: int) -> None:
    """The opening draw, cyclers' redraws, draws to cover a squeezed account and occasional
    purchases paid straight from the line; none on a frozen line or while overdue."""
    pop, rng = w.pop, w.rs.credit
    n = pop.risk.size
    idx, cents = draw_down(pop, s, t, u=rng.random(n), size=rng.random(n))
    if not idx.size:
        return
    w.log.add(
        CODE["loan/drawdown"],
        idx,
        at(rng, t, idx.size, 16.0, 23.0),
        floats={"amount": cents / 100.0},
    )


def draw_down(
    pop: Population,
    s: ChunkState,
    t: int,
    *,
    u: NDArray[np.floating[Any]],
    size: NDArray[np.floating[Any]],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Day ``t``'s drawdowns from the line, given each borrower's uniform draws ``u`` (whether)
    and ``size`` (how much): the state is updated and the borrowers who drew are returned with
    the cents they drew. Shared by the generator and the outcome simulator, which differ only
    in where the draws come from."""
    available = np.where(s.frozen | s.in_arrears(), 0, s.limit - s.principal)
    opening = pop.first_draw_day == t
    redraw = s.redraw_day == t
    squeezed = (s.balance < LOW_BALANCE * pop.income) & (s.draw_cooldown <= t)
    squeezed &= u < 0.2 + 0.6 * pop.risk
    purchase = u >= 1.0 - (0.04 + 0.25 * pop.risk) / 30.0
    want = np.where(opening, pop.first_draw_cents, np.where(redraw, s.redraw_cents, 0))
    cand = np.flatnonzero((squeezed | purchase) & ~opening & ~redraw)
    want[cand] = np.where(
        squeezed[cand],
        hundreds(pop.income[cand] * (0.3 + 0.5 * size[cand])),
        hundreds(s.limit[cand] / 100.0 * (0.05 + 0.25 * size[cand])),
    )
    s.redraw_day[redraw] = -1
    draw = np.minimum(want, available)
    idx = np.flatnonzero(draw >= 10_000)
    cents = draw[idx]
    if idx.size:
        s.principal[idx] += cents
        # A purchase is paid to the merchant; the other draws land in the account.
        to_account = opening[idx] | redraw[idx] | squeezed[idx]
        s.balance[idx] += np.where(to_account, cents / 100.0, 0.0)
        s.draw_cooldown[idx] = t + 10
    return idx, cents


def _outside_credit(w: World, s: ChunkState, t: int) -> None:
    """Squeezed borrowers with no room on the line apply for credit elsewhere, so hard
    inquiries rise before distress shows here; some are approved and borrow."""
    pop, rng = w.pop, w.rs.credit
    no_room = s.frozen | s.in_arrears() | (s.limit - s.principal < 10_000)
    stressed = (s.balance < LOW_BALANCE * pop.income) & no_room
    p_apply = np.where(stressed, 0.03 + 0.1 * pop.risk, (0.02 + 0.1 * pop.risk) / 30.0)
    idx = np.flatnonzero(rng.random(pop.risk.size) < p_apply)
    if not idx.size:
        return
    s.applications[idx, t // INQUIRY_BUCKET] += 1
    approved = idx[rng.random(idx.size) < np.clip(0.4 - pop.risk[idx], 0.05, 1.0)]
    loan = np.round(pop.income[approved] * rng.uniform(0.3, 1.0, approved.size), 2)
    s.ext_debt[approved] += loan
    s.balance[approved] += loan


def _delinquency(w: World, s: ChunkState, t: int) -> None:
    """Track days past due; at the first 30+ DPD the line is frozen (limit 0) and some
    borrowers, more so the riskier, give up paying altogether."""
    dpd = s.days_past_due(t).astype(np.int32)
    np.maximum(s.max_dpd, dpd, out=s.max_dpd)
    newly = (dpd >= 30) & (s.first30 < 0)
    if not newly.any():
        return
    s.first30[newly] = t
    give_up = w.rs.payment.random(newly.size) < np.clip(0.25 + 1.5 * w.pop.risk, 0.0, 0.9)
    s.gave_up |= newly & give_up
    freeze = np.flatnonzero(newly & ~s.frozen)
    s.frozen[freeze] = True
    s.limit[freeze] = 0
    w.log.add(
        CODE["loan/limit_change"],
        freeze,
        at(w.rs.credit, t, freeze.size, 23.0, 24.0),
        floats={"amount": 0.0},
    )


def _review_limits(w: World, s: ChunkState, t: int) -> None:
    """Mid-window review: raise well-used clean lines with good scores, cut poor-score ones
    (never below what is drawn)."""
    idx = np.flatnonzero((w.pop.review_day == t) & ~s.frozen)
    if not idx.size:
        return
    used = s.principal[idx] / np.maximum(s.limit[idx], 1)
    grow = (s.max_dpd[idx] == 0) & (used > 0.3) & (s.last_score[idx] >= 700)
    grow &= w.rs.credit.random(idx.size) < 0.5
    cut = s.last_score[idx] < 600
    floor_ = np.maximum(np.ceil(s.principal[idx] / 10_000), np.floor(s.limit[idx] * 0.7 / 10_000))
    new = np.where(
        grow,
        np.floor(s.limit[idx] * 1.2 / 10_000) * 10_000,
        np.where(cut, floor_ * 10_000, s.limit[idx]),
    ).astype(np.int64)
    changed = new != s.limit[idx]
    idx, new = idx[changed], new[changed]
    s.limit[idx] = new
    w.log.add(
        CODE["loan/limit_change"],
        idx,
        at(w.rs.credit, t, idx.size, 23.0, 24.0),
        floats={"amount": new / 100.0},
    )


def _behaviour(w: World, s: ChunkState, t: int) -> None:
    """Sparse app logins; device and contact changes are far likelier in distress."""
    pop = w.pop
    distress = s.in_arrears() | (s.job_until > t) | (s.balance < 0.05 * pop.income)
    p_login = pop.login_rate / 30.0 * np.where(distress, 2.0, 1.0)
    p_device = np.where(distress, 0.08, 0.012) / 30.0
    p_contact = np.where(distress, 0.04, 0.006) / 30.0
    u = w.rs.behaviour.random(pop.risk.size)
    idx = np.flatnonzero(u < p_login + p_device + p_contact)
    u, p_login, p_device = u[idx], p_login[idx], p_device[idx]
    kind = np.where(u < p_login, 0, np.where(u < p_login + p_device, 1, 2))
    for k, name in enumerate(("login", "device_change", "contact_change")):
        who = idx[kind == k]
        w.log.add(CODE[f"behaviour/{name}"], who, at(w.rs.behaviour, t, who.size, 7.0, 23.0))
