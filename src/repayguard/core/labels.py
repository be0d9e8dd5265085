"""The training target (30+ days past due within 90 days) and leakage-free training sets.

A borrower's label at ``as_of`` is positive when, at some moment of the performance window
``(as_of, as_of + horizon]``, an instalment has been uncovered for ``dpd_threshold`` days or
more (payments allocated to the oldest dues first, per loan, exactly as ``dpd_now`` counts).
Features read only events at or before ``as_of``; labels need the window to be fully observed,
so a date whose window runs past the data is refused rather than silently labelled negative.
For out-of-time validation every training window must end before the first validation date,
so no training label has seen the validation period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import polars as pl

from repayguard.core.feature_parts import EPS, KEY, dues_and_payments
from repayguard.core.features import as_utc, compute_features, history_until

LABEL: Final = "label"
AS_OF: Final = "as_of"
LABEL_SCHEMA: Final = pl.Schema(
    {"borrower_id": pl.String(), "delinquent_at_as_of": pl.Boolean(), LABEL: pl.Boolean()}
)


class LabelWindowInvalid(ValueError):
    """As-of dates whose label windows are not observed, or that would leak across a split."""


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """The target definition: ``dpd_threshold``+ days past due within ``horizon_days``."""

    horizon_days: int = 90
    dpd_threshold: int = 30

    def __post_init__(self) -> None:
        if self.horizon_days < 1 or self.dpd_threshold < 1:
            raise ValueError("horizon_days and dpd_threshold must be at least 1")

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.horizon_days)

    def describe(self) -> str:
        """The target in words, for model cards and reports."""
        return (
            f"{self.dpd_threshold}+ days past due at some time within {self.horizon_days} days "
            "after the as-of date"
        )


def compute_labels(
    events: pl.DataFrame,
    as_of: datetime,
    borrowers: Sequence[str] | None = None,
    *,
    spec: LabelSpec = LabelSpec(),
) -> pl.DataFrame:
    """Label each borrower at ``as_of``; rows as :func:`compute_features` gives them.

    Columns: ``borrower_id``, ``delinquent_at_as_of`` (already ``dpd_threshold``+ days past due
    at ``as_of``, i.e. ``dpd_now >= dpd_threshold``) and ``label``. Events after the window's end
    are ignored; the caller ensures the window is observed (see :func:`build_training_set`).
    """
    at = as_utc(as_of)
    end = at + spec.horizon
    threshold = timedelta(days=spec.dpd_threshold)
    spine = (
        pl.DataFrame(
            {"borrower_id": list(dict.fromkeys(borrowers))}, schema={"borrower_id": pl.String}
        )
        if borrowers is not None
        else history_until(events, at).select("borrower_id").unique().sort("borrower_id")
    )
    history = history_until(events, end, borrowers).lazy()
    dues, paid = dues_and_payments(history.filter(pl.col("type") == "repayment"))
    # The moment each due would reach the threshold, if still uncovered: within the window, or
    # at as_of itself for a due that was already that old then.
    checks = (
        dues.with_columns((pl.col("occurred_at") + threshold).alias("reach"))
        .filter(pl.col("reach") <= end)
        .with_columns(
            pl.max_horizontal(pl.col("reach"), pl.lit(at)).alias("check_at"),
            (pl.col("reach") <= at).alias("already"),
        )
        .sort("check_at")
        .join_asof(
            paid.select(*KEY, pl.col("occurred_at").alias("paid_at"), "cum_paid").sort("paid_at"),
            left_on="check_at",
            right_on="paid_at",
            by=KEY,
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(
            (pl.col("cum_paid").fill_null(0.0) < pl.col("cum_due") - EPS).alias("uncovered")
        )
        .group_by("borrower_id")
        .agg(
            (pl.col("uncovered") & pl.col("already")).any().alias("delinquent_at_as_of"),
            pl.col("uncovered").any().alias(LABEL),
        )
    )
    out = spine.join(checks.collect(), on="borrower_id", how="left", maintain_order="left")
    return out.select(
        "borrower_id",
        pl.col("delinquent_at_as_of").fill_null(False),
        pl.col(LABEL).fill_null(False),
    )


def build_training_set(
    events: pl.DataFrame,
    as_of_dates: Sequence[datetime],
    *,
    observed_until: datetime,
    spec: LabelSpec = LabelSpec(),
    borrowers: Sequence[str] | None = None,
    exclude_delinquent: bool = True,
) -> pl.DataFrame:
    """Features at each as-of date joined with the label that followed it, one row per
    borrower and date.

    Columns: ``as_of``, ``borrower_id``, the feature set, ``label`` (Int8 0/1). Borrowers already
    ``dpd_threshold``+ days past due at a date are left out of that date (``exclude_delinquent``):
    they are in default already, not a prediction. Every window must end by ``observed_until``
    (the last instant the events cover), otherwise LabelWindowInvalid names the date.
    """
    limit = as_utc(observed_until)
    parts = []
    for raw in sorted({as_utc(d) for d in as_of_dates}):
        if raw + spec.horizon > limit:
            raise LabelWindowInvalid(
                f"the label window of {raw:%Y-%m-%d} ends {raw + spec.horizon:%Y-%m-%d}, after the "
                f"data ends ({limit:%Y-%m-%d}); choose an as-of date up to "
                f"{limit - spec.horizon:%Y-%m-%d}"
            )
        features = compute_features(events, raw, borrowers)
        labels = compute_labels(events, raw, features["borrower_id"].to_list(), spec=spec)
        frame = features.with_columns(
            labels["delinquent_at_as_of"], labels[LABEL].cast(pl.Int8)
        ).with_columns(pl.lit(raw, pl.Datetime("us", "UTC")).alias(AS_OF))
        if exclude_delinquent:
            frame = frame.filter(~pl.col("delinquent_at_as_of"))
        parts.append(frame.drop("delinquent_at_as_of"))
    if not parts:
        raise LabelWindowInvalid("no as-of date given; a training set needs at least one")
    out = pl.concat(parts)
    return out.select(AS_OF, *(c for c in out.columns if c != AS_OF))


@dataclass(frozen=True, slots=True)
class OutOfTimePlan:
    """Training dates and later validation dates whose label windows do not overlap."""

    train: tuple[datetime, ...]
    validation: tuple[datetime, ...]


def plan_out_of_time(
    train: Sequence[datetime], validation: Sequence[datetime], *, spec: LabelSpec = LabelSpec()
) -> OutOfTimePlan:
    """Check an out-of-time split: every training window ends by the first validation date.

    Raises LabelWindowInvalid naming the first training date that would see the validation
    period through its label.
    """
    tr = sorted({as_utc(d) for d in train})
    va = sorted({as_utc(d) for d in validation})
    if not tr:
        raise LabelWindowInvalid("out-of-time training needs at least one training date")
    if va:
        for d in tr:
            if d + spec.horizon > va[0]:
                raise LabelWindowInvalid(
                    f"the label window of training date {d:%Y-%m-%d} ends "
                    f"{d + spec.horizon:%Y-%m-%d}, after the first validation date "
                    f"{va[0]:%Y-%m-%d}: training labels would see the validation period",
                )
    return OutOfTimePlan(tuple(tr), tuple(va))


def default_plan(
    first_event: datetime,
    last_event: datetime,
    *,
    spec: LabelSpec = LabelSpec(),
    train_dates: int = 4,
    step_days: int = 30,
    min_history_days: int = 90,
) -> OutOfTimePlan:
    """As-of dates for data spanning ``[first_event, last_event]``: the validation date as late
    as its window allows, training dates monthly before it with windows that end by then, each
    with at least ``min_history_days`` of history behind it. Dates fall on midnight UTC.

    Raises LabelWindowInvalid when the span is too short for one training and one validation
    window.
    """
    first, last = as_utc(first_event), as_utc(last_event)
    midnight = last.replace(hour=0, minute=0, second=0, microsecond=0)
    validation = midnight - spec.horizon
    newest = validation - spec.horizon
    earliest = first + timedelta(days=min_history_days)
    dates = [newest - timedelta(days=step_days * k) for k in range(train_dates)]
    dates = [d for d in dates if d >= earliest]
    if not dates:
        need = min_history_days + 2 * spec.horizon_days
        raise LabelWindowInvalid(
            f"the events span {(last - first).days} days; out-of-time training needs at least "
            f"{need} ({min_history_days} of history, then a training and a validation window of "
            f"{spec.horizon_days} days each)"
        )
    return OutOfTimePlan(tuple(sorted(dates)), (validation,))
