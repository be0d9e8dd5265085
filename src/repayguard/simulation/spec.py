"""What synthetic portfolio to generate: size, horizon, seed and the behavioural knobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class PortfolioSpec:
    """A synthetic consumer-credit-line portfolio: who, how long, which random draws.

    The same spec (seed included) always yields byte-identical files. ``chunk_size`` is part
    of the spec because it decides which random stream each borrower draws from; the worker
    count is not. Knobs are documented with their defaults in ``docs/synthetic-data.md``.
    """

    borrowers: int
    """How many borrowers (credit lines) the portfolio holds."""
    months: int = 12
    """Length of the observation window in calendar months from ``start``."""
    seed: int = 0
    """Root of every random draw (``numpy.random.SeedSequence(seed)``)."""
    start: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    """First instant of the window (time-zone aware); all lines open at this instant."""
    chunk_size: int = 50_000
    """Borrowers per output file (and per independent random stream)."""
    auto_debit_share: float = 0.55
    """Approximate share of borrowers enrolled in auto-debit (fewer among riskier ones)."""
    linked_account_share: float = 0.15
    """Share of manual payers whose linked account the lender also sees (enrolled: all)."""
    auto_debit_retry_days: int = 3
    """Days between auto-debit retries while an instalment stays unpaid."""
    auto_debit_retries: int = 4
    """Retries after the attempt on the due date (so at most 1 + retries per instalment)."""
    risk_multiplier: float = 1.0
    """Scales every borrower's latent risk (portfolio quality); capped so risk stays < 0.95."""
    job_loss_hazard: float = 0.004
    """Monthly job-loss probability of a zero-risk borrower at base unemployment."""
    medical_hazard: float = 0.006
    """Monthly probability of a zero-risk borrower meeting a large medical expense."""
    cycling_propensity: float = 1.0
    """Scales the share of "repay early, redraw, repeat" cyclers (riskier ones cycle more)."""
    unemployment_rate: float = 5.0
    """Unemployment rate (%) at ``start``; the series mean-reverts to it."""
    unemployment_drift: float = 0.0
    """Macro stress: percentage points per year the unemployment rate is pushed up."""
    instalment_term_months: int = 6
    """Each statement bills 1/term of the unbilled principal (at least 200, or all of it)."""
    monthly_interest_rate: float = 0.012
    """Interest billed each statement on the outstanding principal."""

    def __post_init__(self) -> None:
        if self.borrowers < 1:
            raise ValueError("a portfolio needs at least one borrower")
        if not 1 <= self.months <= 120:
            raise ValueError("months must be between 1 and 120")
        if self.start.tzinfo is None:
            raise ValueError("start needs a time zone (for example datetime(..., tzinfo=UTC))")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        if not 0.0 <= self.auto_debit_share <= 1.0:
            raise ValueError("auto_debit_share must be within [0, 1]")
        if not 0.0 <= self.linked_account_share <= 1.0:
            raise ValueError("linked_account_share must be within [0, 1]")
        if self.auto_debit_retry_days < 1 or self.auto_debit_retries < 0:
            raise ValueError("auto-debit retries need a positive spacing and a count >= 0")
        if self.risk_multiplier <= 0 or self.cycling_propensity < 0:
            raise ValueError("risk_multiplier must be positive, cycling_propensity >= 0")
        if min(self.job_loss_hazard, self.medical_hazard) < 0:
            raise ValueError("hazards cannot be negative")
        if self.unemployment_rate <= 0:
            raise ValueError("unemployment_rate must be positive")
        if self.instalment_term_months < 1 or self.monthly_interest_rate < 0:
            raise ValueError("instalment term must be >= 1 month and interest >= 0")

    @property
    def chunks(self) -> int:
        """Number of output files (borrower chunks)."""
        return -(-self.borrowers // self.chunk_size)
