"""Who the borrowers are: segments, latent risk, income and the traits risk drives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from repayguard.simulation._money import hundreds
from repayguard.simulation.spec import PortfolioSpec

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Segment:
    """A borrower segment: its share, latent-risk Beta(a, b) and log-normal monthly income."""

    name: str
    share: float
    risk_a: float
    risk_b: float
    income_median: float
    income_sigma: float


SEGMENTS: Final = (
    Segment("prime", 0.35, 1.5, 40.0, 8_000.0, 0.45),
    Segment("near_prime", 0.30, 2.0, 22.0, 6_000.0, 0.45),
    Segment("subprime", 0.20, 2.2, 8.0, 4_500.0, 0.50),
    Segment("thin_file", 0.15, 1.4, 8.0, 4_000.0, 0.55),
)
SEGMENT_NAMES: Final = tuple(s.name for s in SEGMENTS)
CHANNEL_SHARES: Final = (0.45, 0.30, 0.18, 0.07)
"""Preferred manual channel shares, in the order of ``core.events.MANUAL_CHANNELS``."""


@dataclass(frozen=True, slots=True)
class Population:
    """Static traits of one chunk of borrowers, one array element per borrower."""

    segment: NDArray[np.int8]
    risk: F64
    """Latent risk in (0, 1): scales shock hazards, overspending, lateness and cycling."""
    income: F64
    """Monthly take-home income when employed."""
    spend_ratio: F64
    """Desired monthly spending as a share of income."""
    discipline: F64
    """Share of the next instalment the borrower holds back from spending."""
    ontime_prob: F64
    """Probability a manual payer plans to pay an instalment on its due date."""
    late_mean_days: F64
    """Mean planned delay (days) when a manual payer does not plan to pay on time."""
    willingness: F64
    """Daily probability a late borrower with money actually pays."""
    cycler: Bools
    """Habitually repays early and redraws soon after."""
    prepay_rate: F64
    """Monthly probability a borrower with surplus cash prepays part of the line."""
    enrolled: Bools
    """Enrolled in auto-debit at the start of the window."""
    linked: Bools
    """The lender sees the account's transactions (always so when enrolled)."""
    channel: NDArray[np.int8]
    """Preferred manual channel (index into MANUAL_CHANNELS)."""
    due_dom: NDArray[np.int8]
    payday_dom: NDArray[np.int8]
    report_phase: NDArray[np.int16]
    """Day (0-90) of the first quarterly bureau pull."""
    login_rate: F64
    """App logins per month when not in distress."""
    limit_cents: I64
    balance: F64
    """Linked-account balance at the start."""
    external_debt: F64
    bureau_bias: F64
    """Persistent difference between the bureau's view and the latent risk (score points)."""
    first_draw_day: NDArray[np.int32]
    """Day of the first drawdown, -1 if the line is not drawn at opening."""
    first_draw_cents: I64
    review_day: NDArray[np.int32]
    """Day of the mid-window credit-limit review."""


def draw_population(spec: PortfolioSpec, n: int, rng: np.random.Generator) -> Population:
    """Draw ``n`` borrowers: a segment mixture over Beta latent risk and log-normal income."""
    shares = np.array([s.share for s in SEGMENTS])
    segment = rng.choice(len(SEGMENTS), size=n, p=shares / shares.sum()).astype(np.int8)
    a = np.array([s.risk_a for s in SEGMENTS])[segment]
    b = np.array([s.risk_b for s in SEGMENTS])[segment]
    risk = np.minimum(rng.beta(a, b) * spec.risk_multiplier, 0.95)
    seg_mean = a / (a + b)
    median = np.array([s.income_median for s in SEGMENTS])[segment]
    sigma = np.array([s.income_sigma for s in SEGMENTS])[segment]
    # Within a segment, riskier borrowers earn somewhat less.
    income = median * np.exp(sigma * rng.standard_normal(n) - 1.5 * (risk - seg_mean))
    income = np.round(np.clip(income, 800.0, 150_000.0), 2)

    spend_ratio = np.clip(0.82 + 0.9 * risk + rng.normal(0, 0.05, n), 0.6, 1.4)
    discipline = np.clip(0.95 - 2.5 * risk + rng.normal(0, 0.3, n), 0.0, 1.0)
    ontime_prob = np.clip(0.97 - 1.6 * risk, 0.3, 0.99)
    late_mean_days = 1.0 + 15.0 * risk
    willingness = np.clip(0.6 - risk, 0.1, 0.6)
    cycler = rng.random(n) < np.clip((0.005 + 0.5 * risk) * spec.cycling_propensity, 0, 1)
    prepay_rate = np.clip(0.1 * (1.0 - 2.0 * risk), 0.0, None)

    # Enrolment tilts away from risky borrowers around the requested share (logit shift).
    share = min(max(spec.auto_debit_share, 1e-9), 1 - 1e-9)
    logit = np.log(share / (1 - share)) - 4.0 * (risk - risk.mean())
    enrolled = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    if spec.auto_debit_share in (0.0, 1.0):
        enrolled[:] = spec.auto_debit_share == 1.0
    # Auto-debit needs a linked account; some manual payers link one too.
    linked = enrolled | (rng.random(n) < spec.linked_account_share)

    channel = rng.choice(len(CHANNEL_SHARES), size=n, p=CHANNEL_SHARES).astype(np.int8)
    due_dom = rng.integers(1, 29, size=n).astype(np.int8)
    payday_dom = rng.integers(1, 29, size=n).astype(np.int8)
    report_phase = rng.integers(0, 91, size=n).astype(np.int16)
    login_rate = rng.gamma(1.5, 0.08, size=n)

    limit_cents = np.clip(
        hundreds(income * rng.uniform(1.0, 3.0, n) * np.exp(-3.0 * risk)), 100_000, 10_000_000
    )
    balance = np.round(income * rng.uniform(0.2, 1.2, n) * np.clip(1.2 - risk, 0.3, None), 2)
    external_debt = np.round(income * rng.lognormal(np.log(0.5 + 4.0 * risk), 0.6), 2)
    bureau_bias = rng.normal(0.0, 30.0, n)

    draws = rng.random(n) < 0.25 + 0.6 * risk
    first_draw_day = np.where(draws, rng.integers(0, 25, size=n), -1).astype(np.int32)
    draw_share = np.clip(rng.beta(2.0, 3.0, n) + 0.5 * risk, 0.05, 1.0)
    first_draw_cents = np.maximum(hundreds(limit_cents / 100.0 * draw_share), 10_000)
    review_day = rng.integers(150, 211, size=n).astype(np.int32)
    return Population(
        segment=segment,
        risk=risk,
        income=income,
        spend_ratio=spend_ratio,
        discipline=discipline,
        ontime_prob=ontime_prob,
        late_mean_days=late_mean_days,
        willingness=willingness,
        cycler=cycler,
        prepay_rate=prepay_rate,
        enrolled=enrolled,
        linked=linked,
        channel=channel,
        due_dom=due_dom,
        payday_dom=payday_dom,
        report_phase=report_phase,
        login_rate=login_rate,
        limit_cents=limit_cents,
        balance=balance,
        external_debt=external_debt,
        bureau_bias=bureau_bias,
        first_draw_day=first_draw_day,
        first_draw_cents=first_draw_cents,
        review_day=review_day,
    )
