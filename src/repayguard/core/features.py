"""The declared feature set and its point-in-time computation over event history.

Every feature is computed for one as-of instant from the events that occurred at or before it;
events after ``as_of`` are ignored, so appending future events never changes a result. A rolling
window of N days covers the half-open interval ``(as_of - N days, as_of]``. Batch and online
decisions run this same code (online on the affected borrowers' history), which is what makes
online/offline parity hold by construction. The feature set is declared once, here: name,
meaning, window, type, and the reason a model gives when the feature raises a borrower's risk
(its code and its plain-language text in en and zh-CN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

import polars as pl

from repayguard.core.events import EVENT_SCHEMA
from repayguard.core.feature_parts import COUNT_FEATURES, ZERO_FEATURES, feature_parts, instant

RiskDirection = Literal[1, -1, 0]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One declared feature: what it means, over which window, its type and its reason.

    ``window_days`` is None for features read at the as-of instant (latest value, balance now).
    ``reason_code`` is the catalog code a model gives when this feature raises a borrower's risk;
    ``reason_en`` and ``reason_zh`` are its texts for borrowers and agents. ``risk_direction``
    is the expected sign of the relation with risk: 1 when higher values are riskier, -1 when
    lower values are, 0 when either may be (models may use it as a monotone constraint).
    ``reason_side`` is the direction the reason text states (1: "high", -1: "low"); it is the
    risk direction unless the text says more than the data does. ``missing_code`` is the
    catalog code a model gives when the value is null and that raises risk (an empty string:
    no reason is given for a missing value).
    """

    name: str
    description: str
    window_days: int | None
    dtype: pl.DataType
    reason_code: str
    reason_en: str
    reason_zh: str
    risk_direction: RiskDirection = 0
    stated_side: RiskDirection = 0
    missing_code: str = ""

    @property
    def reason_side(self) -> RiskDirection:
        """The side of the feature's reference the reason code claims the value is on."""
        return self.stated_side or self.risk_direction


_I: Final = pl.Int32()
_F: Final = pl.Float64()

FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        name="dpd_now",
        description=(
            "Days past due today: days since the oldest instalment that cumulative payments "
            "have not covered (payments are allocated to the oldest dues first, per loan; "
            "early repayments prepay unbilled principal and cover no instalment); 0 if none."
        ),
        window_days=None,
        dtype=_I,
        reason_code="DPD_NOW",
        reason_en="An instalment is overdue right now.",
        reason_zh="您目前有一期还款已逾期。",
        risk_direction=1,
    ),
    FeatureSpec(
        name="max_dpd_90d",
        description=(
            "Highest days-past-due reached at any moment of the last 90 days (per loan, worst"
            " loan)."
        ),
        window_days=90,
        dtype=_I,
        reason_code="MAX_DPD_90D",
        reason_en="A payment was overdue in the last 90 days.",
        reason_zh="近90天内曾有还款逾期。",
        risk_direction=1,
    ),
    FeatureSpec(
        name="failed_debits_30d",
        description="Auto-debit attempts that failed in the last 30 days.",
        window_days=30,
        dtype=_I,
        reason_code="FAILED_DEBITS_30D",
        reason_en="Automatic debits from your account failed in the last 30 days.",
        reason_zh="近30天内自动扣款失败。",
        risk_direction=1,
    ),
    FeatureSpec(
        name="on_time_ratio_180d",
        description=(
            "Share of instalments falling due in the last 180 days that were covered within "
            "24 hours of falling due; null when no instalment has been assessed yet."
        ),
        window_days=180,
        dtype=_F,
        reason_code="LOW_ON_TIME_RATIO",
        reason_en="Fewer of your recent instalments were paid on time.",
        reason_zh="近期按时还款的期数偏少。",
        risk_direction=-1,
        missing_code="NO_REPAYMENT_HISTORY",
    ),
    FeatureSpec(
        name="early_repayments_30d",
        description="Payments made ahead of their due date in the last 30 days.",
        window_days=30,
        dtype=_I,
        reason_code="EARLY_REPAYMENTS_30D",
        reason_en="Many early repayments in the last 30 days.",
        reason_zh="近30天内提前还款次数较多。",
        risk_direction=0,
        stated_side=1,
    ),
    FeatureSpec(
        name="redraws_after_early_30d",
        description=(
            "Drawdowns in the last 30 days made within 30 days after an early repayment "
            "(repay early, redraw, repeat)."
        ),
        window_days=30,
        dtype=_I,
        reason_code="REDRAW_AFTER_EARLY_30D",
        reason_en="Money was borrowed again soon after an early repayment.",
        reason_zh="提前还款后不久再次借款。",
        risk_direction=1,
    ),
    FeatureSpec(
        name="utilization",
        description=(
            "Outstanding drawn balance (drawdowns minus payments, at least 0) over the latest"
            " credit limit; null without a positive limit."
        ),
        window_days=None,
        dtype=_F,
        reason_code="HIGH_UTILIZATION",
        reason_en="A large share of your credit limit is in use.",
        reason_zh="已使用的额度占比较高。",
        risk_direction=1,
    ),
    FeatureSpec(
        name="inflow_30d",
        description="Money received on the linked account in the last 30 days.",
        window_days=30,
        dtype=_F,
        reason_code="LOW_INFLOW_30D",
        reason_en="Little money came into your linked account in the last 30 days.",
        reason_zh="近30天内绑定账户的入账较少。",
        risk_direction=-1,
    ),
    FeatureSpec(
        name="balance_now",
        description="Latest known balance of the linked account; null if never observed.",
        window_days=None,
        dtype=_F,
        reason_code="LOW_BALANCE",
        reason_en="The balance of your linked account is low.",
        reason_zh="绑定账户余额偏低。",
        risk_direction=-1,
        missing_code="NO_ACCOUNT_DATA",
    ),
    FeatureSpec(
        name="device_changes_30d",
        description="Device changes in the last 30 days.",
        window_days=30,
        dtype=_I,
        reason_code="DEVICE_CHANGES_30D",
        reason_en="The device used for your account changed recently.",
        reason_zh="近期更换了登录设备。",
        risk_direction=1,
    ),
    FeatureSpec(
        name="bureau_score",
        description="Score of the latest credit report (300-900); null without a report.",
        window_days=None,
        dtype=_F,
        reason_code="LOW_BUREAU_SCORE",
        reason_en="Your credit bureau score is low.",
        reason_zh="征信评分偏低。",
        risk_direction=-1,
        missing_code="NO_BUREAU_REPORT",
    ),
    FeatureSpec(
        name="inquiries_90d",
        description=(
            "Hard inquiries in the 90 days before the latest credit report; null without a report."
        ),
        window_days=90,
        dtype=_I,
        reason_code="BUREAU_INQUIRIES_90D",
        reason_en="Several credit applications elsewhere in the last 90 days.",
        reason_zh="近90天内在其他机构有多次信贷申请查询。",
        risk_direction=1,
        missing_code="NO_BUREAU_REPORT",
    ),
    FeatureSpec(
        name="inflow_trend_90d",
        description=(
            "Money received in the last 30 days over the monthly average of the last 90 days "
            "(1 = steady, below 1 = falling); null when nothing was received in 90 days."
        ),
        window_days=90,
        dtype=_F,
        reason_code="FALLING_INFLOW",
        reason_en="Less money has been coming into your linked account than before.",
        reason_zh="绑定账户近期入账较以往减少。",
        risk_direction=-1,
    ),
    FeatureSpec(
        name="balance_volatility_90d",
        description=(
            "Standard deviation of the linked account's balance readings in the last 90 days "
            "over their mean absolute value (plus 1); null with fewer than two readings."
        ),
        window_days=90,
        dtype=_F,
        reason_code="VOLATILE_BALANCE",
        reason_en="The balance of your linked account has been swinging widely.",
        reason_zh="绑定账户余额近期波动较大。",
        risk_direction=1,
    ),
    FeatureSpec(
        name="bureau_score_change",
        description=(
            "Latest credit-report score minus the one before it; null with fewer than two reports."
        ),
        window_days=None,
        dtype=_F,
        reason_code="FALLING_BUREAU_SCORE",
        reason_en="Your credit bureau score has fallen since the previous report.",
        reason_zh="您的征信评分较上次有所下降。",
        risk_direction=-1,
    ),
    FeatureSpec(
        name="external_debt",
        description=(
            "Debt held with other lenders, from the latest credit report; null without a report."
        ),
        window_days=None,
        dtype=_F,
        reason_code="HIGH_EXTERNAL_DEBT",
        reason_en="You owe a large amount to other lenders.",
        reason_zh="您在其他机构的负债较高。",
        risk_direction=1,
        missing_code="NO_BUREAU_REPORT",
    ),
    FeatureSpec(
        name="contact_changes_30d",
        description="Changes of contact details (phone, e-mail, address) in the last 30 days.",
        window_days=30,
        dtype=_I,
        reason_code="CONTACT_CHANGES_30D",
        reason_en="Your contact details changed recently.",
        reason_zh="近期更改了联系方式。",
        risk_direction=1,
    ),
)
"""The feature set, in output column order (after ``borrower_id``)."""

FEATURE_NAMES: Final = tuple(spec.name for spec in FEATURES)
FEATURE_SCHEMA: Final = pl.Schema(
    {"borrower_id": pl.String(), **{spec.name: spec.dtype for spec in FEATURES}}
)
"""Column layout of :func:`compute_features` output."""

FEATURE_BY_NAME: Final = {spec.name: spec for spec in FEATURES}
_SPINE: Final = pl.Schema({"borrower_id": pl.String()})


def as_utc(as_of: datetime) -> datetime:
    """The as-of instant in UTC; a naive datetime is refused because its meaning is ambiguous."""
    if as_of.tzinfo is None:
        raise ValueError("as_of needs a time zone (for example datetime(..., tzinfo=UTC))")
    return as_of.astimezone(UTC)


def compute_features(
    events: pl.DataFrame, as_of: datetime, borrowers: Sequence[str] | None = None
) -> pl.DataFrame:
    """Compute the feature set for each borrower at ``as_of``, point-in-time correct.

    ``events`` has the :data:`~repayguard.core.events.EVENT_SCHEMA` layout (extra columns are
    ignored). Rows: one per borrower with any event at or before ``as_of`` (sorted by id), or
    exactly ``borrowers`` in the given order; borrowers without history get zero counts and null
    for values that cannot be known (bureau score, balance, utilization, on-time ratio).
    """
    at = as_utc(as_of)
    base = history_until(events, at, borrowers)
    spine = (
        pl.DataFrame({"borrower_id": list(dict.fromkeys(borrowers))}, schema=_SPINE)
        if borrowers is not None
        else base.select("borrower_id").unique().sort("borrower_id")
    )
    parts = pl.collect_all(feature_parts(base.lazy(), at))
    out = spine
    for part in parts:
        out = out.join(part, on="borrower_id", how="left", maintain_order="left")
    out = out.with_columns(
        *(pl.col(name).fill_null(0) for name in COUNT_FEATURES),
        *(pl.col(name).fill_null(0.0) for name in ZERO_FEATURES),
    )
    return out.select(pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items())


_WANTED: Final = ("event_id", "borrower_id", "loan_id", "occurred_at", "type", "kind", "amount",
                  "balance", "status", "early", "score", "inquiries", "external_debt")  # fmt: skip


def history_until(
    events: pl.DataFrame, at: datetime, borrowers: Sequence[str] | None = None
) -> pl.DataFrame:
    """The borrower events at or before ``at`` with the columns features and labels read.

    Adds ``loan_key`` (the loan id, empty for borrower-level events).
    """
    missing = [c for c in ("borrower_id", "occurred_at", "type", "kind") if c not in events.columns]
    if missing:
        raise ValueError(f"events lack the column(s) {missing}; expected the EVENT_SCHEMA layout")
    frame = events.select(
        pl.col(c).cast(EVENT_SCHEMA[c])
        if c in events.columns
        else pl.lit(None, EVENT_SCHEMA[c]).alias(c)
        for c in _WANTED
    )
    keep = (pl.col("occurred_at") <= instant(at)) & pl.col("borrower_id").is_not_null()
    if borrowers is not None:
        wanted = pl.Series(list(borrowers), dtype=pl.String).implode()
        keep = keep & pl.col("borrower_id").is_in(wanted)
    # One canonical row order, whatever order the store returned the events in: sums of
    # amounts are floating point, and a different order changes their last bits (a replay,
    # or the whole-book and the online read of one history, must decide identically).
    return (
        frame.filter(keep)
        .sort("borrower_id", "occurred_at", "event_id", nulls_last=True)
        .with_columns(pl.col("loan_id").fill_null("").alias("loan_key"))
    )
