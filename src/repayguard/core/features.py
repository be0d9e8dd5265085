"""The declared feature set and its point-in-time computation over event history.

Every feature is computed for one as-of instant from the events that occurred at or before it;
events after ``as_of`` are ignored, so appending future events never changes a result. A rolling
window of N days covers the half-open interval ``(as_of - N days, as_of]``. Batch and online
decisions run this same code (online on the affected borrowers' history), which is what makes
online/offline parity hold by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import polars as pl

from repayguard.core.events import EVENT_SCHEMA


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One declared feature: what it means, over which window, its type and its reason code.

    ``window_days`` is None for features read at the as-of instant (latest value, balance now).
    ``reason_code`` is the catalog code a model uses when this feature raises a borrower's risk.
    """

    name: str
    description: str
    window_days: int | None
    dtype: pl.DataType
    reason_code: str


FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "dpd_now",
        "Days past due today: days since the oldest instalment that cumulative payments have not "
        "covered (payments are allocated to the oldest dues first, per loan); 0 if none.",
        None,
        pl.Int32(),
        "DPD_NOW",
    ),
    FeatureSpec(
        "max_dpd_90d",
        "Highest days-past-due reached at any moment of the last 90 days (per loan, worst loan).",
        90,
        pl.Int32(),
        "MAX_DPD_90D",
    ),
    FeatureSpec(
        "failed_debits_30d",
        "Auto-debit attempts that failed in the last 30 days.",
        30,
        pl.Int32(),
        "FAILED_DEBITS_30D",
    ),
    FeatureSpec(
        "on_time_ratio_180d",
        "Share of instalments falling due in the last 180 days that were covered within 24 hours "
        "of falling due; null when no instalment has been assessed yet.",
        180,
        pl.Float64(),
        "LOW_ON_TIME_RATIO",
    ),
    FeatureSpec(
        "early_repayments_30d",
        "Payments made ahead of their due date in the last 30 days.",
        30,
        pl.Int32(),
        "EARLY_REPAYMENTS_30D",
    ),
    FeatureSpec(
        "redraws_after_early_30d",
        "Drawdowns in the last 30 days made within 30 days after an early repayment "
        "(repay early, redraw, repeat).",
        30,
        pl.Int32(),
        "REDRAW_AFTER_EARLY_30D",
    ),
    FeatureSpec(
        "utilization",
        "Outstanding drawn balance (drawdowns minus payments, at least 0) over the latest credit "
        "limit; null without a positive limit.",
        None,
        pl.Float64(),
        "HIGH_UTILIZATION",
    ),
    FeatureSpec(
        "inflow_30d",
        "Money received on the linked account in the last 30 days.",
        30,
        pl.Float64(),
        "LOW_INFLOW_30D",
    ),
    FeatureSpec(
        "balance_now",
        "Latest known balance of the linked account; null if never observed.",
        None,
        pl.Float64(),
        "LOW_BALANCE",
    ),
    FeatureSpec(
        "device_changes_30d",
        "Device changes in the last 30 days.",
        30,
        pl.Int32(),
        "DEVICE_CHANGES_30D",
    ),
    FeatureSpec(
        "bureau_score",
        "Score of the latest credit report (300-900); null without a report.",
        None,
        pl.Float64(),
        "LOW_BUREAU_SCORE",
    ),
    FeatureSpec(
        "inquiries_90d",
        "Hard inquiries in the 90 days before the latest credit report; null without a report.",
        90,
        pl.Int32(),
        "BUREAU_INQUIRIES_90D",
    ),
)
"""The feature set, in output column order (after ``borrower_id``)."""

FEATURE_NAMES: Final = tuple(spec.name for spec in FEATURES)
FEATURE_SCHEMA: Final = pl.Schema(
    {"borrower_id": pl.String(), **{spec.name: spec.dtype for spec in FEATURES}}
)
"""Column layout of :func:`compute_features` output."""

_SPINE: Final = pl.Schema({"borrower_id": pl.String()})
_EPS: Final = 0.005  # half a cent: float sums below this do not leave an instalment uncovered
_DAY: Final = timedelta(days=1)
_KEY: Final = ["borrower_id", "loan_key"]
_COUNT_FEATURES: Final = (
    "dpd_now",
    "max_dpd_90d",
    "failed_debits_30d",
    "early_repayments_30d",
    "redraws_after_early_30d",
    "device_changes_30d",
)


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
    base = _history(events, at, borrowers)
    spine = (
        pl.DataFrame({"borrower_id": list(dict.fromkeys(borrowers))}, schema=_SPINE)
        if borrowers is not None
        else base.select("borrower_id").unique().sort("borrower_id")
    )
    parts = pl.collect_all(_feature_parts(base.lazy(), at))
    out = spine
    for part in parts:
        out = out.join(part, on="borrower_id", how="left", maintain_order="left")
    out = out.with_columns(
        *(pl.col(name).fill_null(0) for name in _COUNT_FEATURES),
        pl.col("inflow_30d").fill_null(0.0),
    )
    return out.select(pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items())


def _history(events: pl.DataFrame, at: datetime, borrowers: Sequence[str] | None) -> pl.DataFrame:
    """The borrower events at or before ``at``, with only the columns features read."""
    missing = [c for c in ("borrower_id", "occurred_at", "type", "kind") if c not in events.columns]
    if missing:
        raise ValueError(f"events lack the column(s) {missing}; expected the EVENT_SCHEMA layout")
    wanted = ("event_id", "borrower_id", "loan_id", "occurred_at", "type", "kind", "amount",
              "balance", "status", "early", "score", "inquiries")  # fmt: skip
    frame = events.select(
        pl.col(c).cast(EVENT_SCHEMA[c])
        if c in events.columns
        else pl.lit(None, EVENT_SCHEMA[c]).alias(c)
        for c in wanted
    )
    keep = (pl.col("occurred_at") <= at) & pl.col("borrower_id").is_not_null()
    if borrowers is not None:
        keep = keep & pl.col("borrower_id").is_in(pl.Series(list(borrowers), dtype=pl.String))
    return frame.filter(keep).with_columns(pl.col("loan_id").fill_null("").alias("loan_key"))


def _feature_parts(ev: pl.LazyFrame, at: datetime) -> list[pl.LazyFrame]:
    """One lazy frame per feature group, each keyed by borrower_id; collected in parallel."""
    repay = ev.filter(pl.col("type") == "repayment")
    dues = (
        repay.filter(pl.col("kind") == "due")
        .select(*_KEY, "occurred_at", "amount", "event_id")
        .sort(*_KEY, "occurred_at", "event_id")
        .with_columns(pl.col("amount").fill_null(0.0).cum_sum().over(_KEY).alias("cum_due"))
    )
    paid = (
        repay.filter(pl.col("kind") == "paid")
        .select(*_KEY, "occurred_at", "amount", "early", "event_id")
        .with_columns(pl.col("amount").fill_null(0.0))
        .sort(*_KEY, "occurred_at", "event_id")
        .with_columns(pl.col("amount").cum_sum().over(_KEY).alias("cum_paid"))
    )
    return [
        _delinquency(dues, paid, at),
        _on_time_ratio(dues, paid, at),
        _repayment_counts(repay, at),
        _loan_features(ev.filter(pl.col("type") == "loan"), paid, at),
        _transaction_features(ev.filter(pl.col("type") == "transaction"), at),
        _window_count(ev, "behaviour", "device_change", 30, "device_changes_30d", at),
        _bureau(ev.filter(pl.col("type") == "credit_report")),
    ]


def _since(at: datetime, days: int) -> pl.Expr:
    """True for events inside the ``days``-day window ending at ``at``."""
    return pl.col("occurred_at") > at - timedelta(days=days)


def _days(later: pl.Expr | datetime, earlier: pl.Expr) -> pl.Expr:
    later_expr = pl.lit(later) if isinstance(later, datetime) else later
    return (later_expr - earlier).dt.total_days()


def _delinquency(dues: pl.LazyFrame, paid: pl.LazyFrame, at: datetime) -> pl.LazyFrame:
    """dpd_now and max_dpd_90d: oldest-first allocation of payments to dues, per loan.

    Between events days-past-due only grows, and only a payment can lower it, so the maximum
    over a window is reached either now or just before one of the window's payments.
    """
    total_paid = paid.group_by(_KEY).agg(pl.col("amount").sum().alias("paid_total"))
    now = (
        dues.join(total_paid, on=_KEY, how="left")
        .filter(pl.col("cum_due") > pl.col("paid_total").fill_null(0.0) + _EPS)
        .group_by(_KEY)
        .agg(_days(at, pl.col("occurred_at").min()).alias("dpd"))
    )
    before = (
        paid.filter(_since(at, 90))
        .select(
            *_KEY,
            pl.col("occurred_at").alias("paid_at"),
            (pl.col("cum_paid") - pl.col("amount") + _EPS).alias("covered"),
        )
        .sort("covered")
        .join_asof(
            dues.select(*_KEY, "occurred_at", "cum_due").sort("cum_due"),
            left_on="covered",
            right_on="cum_due",
            by=_KEY,
            strategy="forward",
            check_sortedness=False,
        )
        .filter(pl.col("occurred_at") <= pl.col("paid_at"))
        .select(*_KEY, _days(pl.col("paid_at"), pl.col("occurred_at")).alias("dpd"))
    )
    return (
        pl.concat([now.select(*_KEY, "dpd"), before])
        .group_by("borrower_id")
        .agg(pl.col("dpd").max().alias("max_dpd_90d"))
        .join(
            now.group_by("borrower_id").agg(pl.col("dpd").max().alias("dpd_now")),
            on="borrower_id",
            how="left",
        )
    )


def _on_time_ratio(dues: pl.LazyFrame, paid: pl.LazyFrame, at: datetime) -> pl.LazyFrame:
    """Share of assessed dues of the last 180 days covered within 24 hours of falling due."""
    assessed = (
        dues.filter(_since(at, 180))
        .with_columns((pl.col("occurred_at") + _DAY).alias("deadline"))
        .filter(pl.col("deadline") <= at)
        .sort("deadline")
    )
    return (
        assessed.join_asof(
            paid.select(*_KEY, "occurred_at", "cum_paid").sort("occurred_at"),
            left_on="deadline",
            right_on="occurred_at",
            by=_KEY,
            strategy="backward",
            check_sortedness=False,
        )
        .group_by("borrower_id")
        .agg(
            (pl.col("cum_paid").fill_null(0.0) >= pl.col("cum_due") - _EPS)
            .mean()
            .alias("on_time_ratio_180d")
        )
    )


def _repayment_counts(repay: pl.LazyFrame, at: datetime) -> pl.LazyFrame:
    recent = repay.filter(_since(at, 30))
    failed = (pl.col("kind") == "auto_debit_attempt") & (pl.col("status") == "failed")
    early = (pl.col("kind") == "paid") & pl.col("early").fill_null(False)
    return recent.group_by("borrower_id").agg(
        failed.sum().alias("failed_debits_30d"), early.sum().alias("early_repayments_30d")
    )


def _loan_features(loans: pl.LazyFrame, paid: pl.LazyFrame, at: datetime) -> pl.LazyFrame:
    """Utilization and redraws after early repayment (borrower level, across loans)."""
    draws = loans.filter(pl.col("kind") == "drawdown")
    drawn = draws.group_by("borrower_id").agg(pl.col("amount").fill_null(0.0).sum().alias("drawn"))
    repaid = paid.group_by("borrower_id").agg(pl.col("amount").sum().alias("repaid"))
    limit = (
        loans.filter(pl.col("kind") == "limit_change")
        .group_by("borrower_id")
        .agg(pl.col("amount").sort_by("occurred_at", "event_id").last().alias("limit"))
    )
    outstanding = (pl.col("drawn").fill_null(0.0) - pl.col("repaid").fill_null(0.0)).clip(0.0)
    utilization = (
        limit.join(drawn, on="borrower_id", how="left")
        .join(repaid, on="borrower_id", how="left")
        .select(
            "borrower_id",
            pl.when(pl.col("limit") > 0)
            .then(outstanding / pl.col("limit"))
            .otherwise(None)
            .alias("utilization"),
        )
    )
    early_at = (
        paid.filter(pl.col("early").fill_null(False))
        .select("borrower_id", pl.col("occurred_at").alias("early_at"))
        .sort("early_at")
    )
    redraws = (
        draws.filter(_since(at, 30))
        .select("borrower_id", "occurred_at")
        .sort("occurred_at")
        .join_asof(
            early_at,
            left_on="occurred_at",
            right_on="early_at",
            by="borrower_id",
            strategy="backward",
            check_sortedness=False,
        )
        .group_by("borrower_id")
        .agg(
            (pl.col("occurred_at") - pl.col("early_at") <= timedelta(days=30))
            .fill_null(False)
            .sum()
            .alias("redraws_after_early_30d")
        )
    )
    return utilization.join(redraws, on="borrower_id", how="full", coalesce=True)


def _transaction_features(tx: pl.LazyFrame, at: datetime) -> pl.LazyFrame:
    inflow = (pl.col("kind") == "inflow") & _since(at, 30)
    return tx.group_by("borrower_id").agg(
        pl.col("amount").filter(inflow).sum().alias("inflow_30d"),
        pl.col("balance")
        .filter(pl.col("balance").is_not_null())
        .sort_by("occurred_at", "event_id")
        .last()
        .alias("balance_now"),
    )


def _window_count(
    ev: pl.LazyFrame, type_: str, kind: str, days: int, name: str, at: datetime
) -> pl.LazyFrame:
    return (
        ev.filter((pl.col("type") == type_) & (pl.col("kind") == kind) & _since(at, days))
        .group_by("borrower_id")
        .agg(pl.len().alias(name))
    )


def _bureau(reports: pl.LazyFrame) -> pl.LazyFrame:
    latest = reports.sort("occurred_at", "event_id").group_by("borrower_id").last()
    return latest.select(
        "borrower_id",
        pl.col("score").alias("bureau_score"),
        pl.col("inquiries").alias("inquiries_90d"),
    )
