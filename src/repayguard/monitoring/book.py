"""The portfolio day by day, pure: each borrower's days past due, decided tier and states,
and paying method at the end of every day of a range (Polars over frames, no DB or clock).

A day ends at its last microsecond UTC (``day_end``), the instant the decision core would use
as ``as_of`` for that day: the days past due here are exactly the feature ``dpd_now`` computed
as of that instant (a unit test holds them together).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import polars as pl

from repayguard.core.feature_parts import EPS, KEY, dues_and_payments

DAY_GRID: Final = pl.Schema({"day": pl.Date(), "at": pl.Datetime("us", "UTC")})


def day_end(day: date) -> datetime:
    """The last instant of ``day`` in UTC: what 'at the end of the day' means throughout."""
    return datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta(microseconds=1)


def days_of(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive; a reversed range is refused."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def day_grid(days: Sequence[date]) -> pl.DataFrame:
    """``day`` and its end instant ``at``, one row per day."""
    return pl.DataFrame({"day": list(days), "at": [day_end(d) for d in days]}, schema=DAY_GRID)


def _repayments(events: pl.DataFrame) -> pl.LazyFrame:
    return (
        events.lazy()
        .filter((pl.col("type") == "repayment") & pl.col("borrower_id").is_not_null())
        .with_columns(pl.col("loan_id").fill_null("").alias("loan_key"))
    )


def delinquency_by_day(events: pl.DataFrame, days: Sequence[date]) -> pl.DataFrame:
    """Per borrower and day: ``dpd`` at the day's end (worst loan; payments allocated to the
    oldest dues first, as the feature ``dpd_now``) for every borrower *in the repaying book*
    that day — with at least one instalment fallen due by then. Columns borrower_id, day, dpd.
    """
    dues, covering = dues_and_payments(_repayments(events))
    grid = day_grid(days).lazy()
    first_due = dues.group_by(KEY).agg(pl.col("occurred_at").min().alias("first_due_at"))
    paid = covering.group_by(*KEY, "occurred_at").agg(pl.col("cum_paid").max()).sort("occurred_at")
    loan_days = (
        first_due.join(grid, how="cross")
        .filter(pl.col("first_due_at") <= pl.col("at"))
        .sort("at")
        .join_asof(
            paid,
            left_on="at",
            right_on="occurred_at",
            by=KEY,
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns((pl.col("cum_paid").fill_null(0.0) + EPS).alias("covered"))
        .sort("covered")
        .join_asof(
            dues.select(*KEY, pl.col("occurred_at").alias("due_at"), "cum_due").sort("cum_due"),
            left_on="covered",
            right_on="cum_due",
            by=KEY,
            strategy="forward",
            check_sortedness=False,
        )
        .with_columns(
            pl.when(pl.col("due_at") <= pl.col("at"))
            .then((pl.col("at") - pl.col("due_at")).dt.total_days())
            .otherwise(0)
            .cast(pl.Int32)
            .alias("dpd")
        )
    )
    return (
        loan_days.group_by("borrower_id", "day")
        .agg(pl.col("dpd").max())
        .sort("borrower_id", "day")
        .collect()
    )


DECIDED: Final = ("tier", "pd", "model_version", "auto_debit", "early_repayment", "manual")


def decided_by_day(decisions: pl.DataFrame, days: Sequence[date]) -> pl.DataFrame:
    """Per borrower and day: the latest decision as of the day's end (tier, PD, model and the
    decided method states). Borrowers not yet decided that day have no row."""
    if decisions.is_empty():
        return pl.DataFrame(
            schema={
                "borrower_id": pl.String(),
                "day": pl.Date(),
                **decisions.select(DECIDED).schema,
            }
        )
    # Two decisions as of the same instant: the later-made one (the log is in decision order).
    log = (
        decisions.select("borrower_id", "as_of", *DECIDED)
        .unique(["borrower_id", "as_of"], keep="last", maintain_order=True)
        .sort("as_of")
    )
    return (
        log.select("borrower_id")
        .unique()
        .join(day_grid(days), how="cross")
        .sort("at")
        .join_asof(
            log,
            left_on="at",
            right_on="as_of",
            by="borrower_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("as_of").is_not_null())
        .select("borrower_id", "day", *DECIDED)
        .sort("borrower_id", "day")
    )


def payer_by_day(events: pl.DataFrame, days: Sequence[date]) -> pl.DataFrame:
    """Per borrower and day: ``payer``, the method of their latest payment by the day's end
    (auto_debit or manual). Borrowers who never paid have no row."""
    paid = (
        _repayments(events)
        .filter((pl.col("kind") == "paid") & pl.col("method").is_not_null())
        .sort("occurred_at", "event_id")
        .select("borrower_id", "occurred_at", pl.col("method").alias("payer"))
        .unique(["borrower_id", "occurred_at"], keep="last", maintain_order=True)
        .collect()
    )
    return (
        paid.select("borrower_id")
        .unique()
        .join(day_grid(days), how="cross")
        .sort("at")
        .join_asof(
            paid, left_on="at", right_on="occurred_at", by="borrower_id", check_sortedness=False
        )
        .filter(pl.col("payer").is_not_null())
        .select("borrower_id", "day", "payer")
        .sort("borrower_id", "day")
    )
