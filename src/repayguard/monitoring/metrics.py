"""The portfolio metrics, pure: one DAILY series frame for any date range, from frames of the
stored events, decisions, notices, complaints and approval requests (no DB, clock or settings).

Every row is (metric, segment, day, value, numerator, denominator) with value = numerator /
denominator: shares count borrowers (or attempts) — so a window's value is Σ numerators /
Σ denominators, borrower-days weighted — and counts, indices and market values carry
denominator 1, so a window's value is their daily mean. Segments: ``all``; ``tier=T1`` …
``tier=T5`` (the tier of the borrower's latest decision at day end); ``payer=auto_debit`` /
``payer=manual`` (how the borrower's latest payment was made — a lender's collection
channel, derived from events, no personal data); ``T2->T3`` for tier migration. A segment
with no borrowers that day has no row: 0 of 0 is not a rate. docs/monitoring.md defines
each metric.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import polars as pl

from repayguard.monitoring.book import (
    day_end,
    days_of,
    decided_by_day,
    delinquency_by_day,
    payer_by_day,
)
from repayguard.monitoring.catalogue import MARKET_SIGNAL_PREFIX, METRICS
from repayguard.monitoring.psi import ScoreReference, score_psi

SERIES_SCHEMA: Final = pl.Schema(
    {
        "metric": pl.String(),
        "segment": pl.String(),
        "day": pl.Date(),
        "value": pl.Float64(),
        "numerator": pl.Float64(),
        "denominator": pl.Float64(),
    }
)
"""The layout of every daily series frame."""
ROLL_DAYS: Final = 30
"""A roll rate compares a borrower's bucket at day end with theirs this many days earlier."""
BUCKET_NAMES: Final = ("current", "1-29", "30-59", "60+")
ROLLS: Final = (
    ("roll_rate_current_1_29", 0),
    ("roll_rate_1_29_30_59", 1),
    ("roll_rate_30_59_60p", 2),
)
RESTRICTIONS: Final = (
    ("restricted_auto_debit_disabled", "auto_debit", "disabled"),
    ("restricted_auto_debit_mandatory", "auto_debit", "mandatory"),
    ("restricted_early_repayment", "early_repayment", "restricted"),
    ("restricted_manual_forced", "manual", "forced"),
)
_SEGMENTED: Final = ("tier", "payer")


@dataclass(frozen=True, slots=True)
class MetricInputs:
    """What the metrics are computed from. ``events`` (EVENT_SCHEMA) holds borrower events
    from far enough back for days past due to be known (the decision history window) and
    the market signals; ``decisions`` the decision log (borrower_id, as_of, tier, pd,
    model_version, auto_debit, early_repayment, manual) from as far back; ``notices`` and
    ``complaints`` when each was written or filed; ``approvals`` (created, ended or None)."""

    events: pl.DataFrame
    decisions: pl.DataFrame
    notices: Sequence[datetime] = ()
    complaints: Sequence[datetime] = ()
    approvals: Sequence[tuple[datetime, datetime | None]] = ()
    score_reference: ScoreReference | None = None


def wanted_metrics(metrics: Sequence[str] | None) -> Callable[[str], bool]:
    """A predicate over metric names for a request; an unknown name is refused (ValueError)
    naming the known ones."""
    if metrics is None:
        return lambda _: True
    names = set(metrics)
    unknown = sorted(
        n for n in names if n not in METRICS and not n.startswith(MARKET_SIGNAL_PREFIX)
    )
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {sorted(METRICS)}")
    every_signal = f"{MARKET_SIGNAL_PREFIX}*" in names
    return lambda name: name in names or (every_signal and name.startswith(MARKET_SIGNAL_PREFIX))


def compute_series(
    inputs: MetricInputs, *, start: date, end: date, metrics: Sequence[str] | None = None
) -> pl.DataFrame:
    """The daily series of ``metrics`` (all when None) for every day of [start, end],
    sorted by metric, segment and day (SERIES_SCHEMA)."""
    wanted = wanted_metrics(metrics)
    days = days_of(start, end)
    parts: list[pl.DataFrame] = []
    decided = decided_by_day(inputs.decisions, days_of(start - timedelta(days=1), end))
    payer = payer_by_day(inputs.events, days)
    attributes = decided.select("borrower_id", "day", "tier").join(
        payer, on=["borrower_id", "day"], how="full", coalesce=True
    )
    in_range = pl.col("day") >= start
    if any(wanted(n) for n in ("overdue_rate_1p", "overdue_rate_30p", "autodebit_adoption")) or any(
        wanted(n) for n, _ in ROLLS
    ):
        book = delinquency_by_day(inputs.events, days_of(start - timedelta(days=ROLL_DAYS), end))
        parts.extend(_delinquency_metrics(book, attributes, start, wanted))
    if wanted("failed_autodebit_rate"):
        parts.append(_failed_debits(inputs.events, attributes, start, end))
    restricted = decided.filter(in_range).join(payer, on=["borrower_id", "day"], how="left")
    for name, method, state in RESTRICTIONS:
        if wanted(name):
            parts.append(_shares(restricted, name, pl.col(method) == state))
    if wanted("tier_migration"):
        parts.append(_tier_migration(decided, start))
    if wanted("score_psi"):
        psi = score_psi(decided.filter(in_range), inputs.score_reference)
        parts.append(_valued(psi, "score_psi", "all", "psi"))
    counts = (
        ("notices_per_day", inputs.notices),
        ("complaints_per_day", inputs.complaints),
    )
    for name, moments in counts:
        if wanted(name):
            parts.append(_per_day(name, days, moments))
    if wanted("approvals_waiting"):
        parts.append(_waiting(days, inputs.approvals))
    parts.append(_market_signals(inputs.events, start, end, wanted))
    out = pl.concat([p.select(SERIES_SCHEMA.names()).cast(SERIES_SCHEMA) for p in parts])
    return out.sort("metric", "segment", "day")


def _shares(
    frame: pl.DataFrame,
    metric: str,
    hit: pl.Expr,
    *,
    counted: pl.Expr | None = None,
    segments: Sequence[str] = _SEGMENTED,
) -> pl.DataFrame:
    """Σ hit / Σ counted per day, for all and for each segment attribute present."""
    among = pl.lit(True) if counted is None else counted.fill_null(False)
    base = frame.with_columns(
        (hit.fill_null(False) & among).cast(pl.Float64).alias("numerator"),
        among.cast(pl.Float64).alias("denominator"),
    )
    sums = (pl.col("numerator").sum(), pl.col("denominator").sum())
    grouped = [base.group_by("day").agg(*sums).with_columns(segment=pl.lit("all"))]
    for attribute in segments:
        if attribute not in base.columns:
            continue
        label = pl.col(attribute).cast(pl.String)
        if attribute == "tier":
            label = pl.lit("T") + label
        grouped.append(
            base.filter(pl.col(attribute).is_not_null())
            .group_by("day", attribute)
            .agg(*sums)
            .with_columns(segment=pl.lit(f"{attribute}=") + label)
            .drop(attribute)
        )
    return (
        pl.concat([g.select("day", "segment", "numerator", "denominator") for g in grouped])
        .filter(pl.col("denominator") > 0)
        .with_columns(metric=pl.lit(metric), value=pl.col("numerator") / pl.col("denominator"))
    )


def _bucket(dpd: pl.Expr) -> pl.Expr:
    """0 current, 1 for 1-29, 2 for 30-59, 3 for 60+ days past due."""
    return pl.when(dpd <= 0).then(0).when(dpd < 30).then(1).when(dpd < 60).then(2).otherwise(3)


def _delinquency_metrics(
    book: pl.DataFrame, attributes: pl.DataFrame, start: date, wanted: Callable[[str], bool]
) -> list[pl.DataFrame]:
    now = book.filter(pl.col("day") >= start).join(
        attributes, on=["borrower_id", "day"], how="left"
    )
    parts = []
    for name, threshold in (("overdue_rate_1p", 1), ("overdue_rate_30p", 30)):
        if wanted(name):
            parts.append(_shares(now, name, pl.col("dpd") >= threshold))
    if wanted("autodebit_adoption"):
        parts.append(
            _shares(
                now,
                "autodebit_adoption",
                pl.col("payer") == "auto_debit",
                counted=pl.col("payer").is_not_null(),
                segments=("tier",),
            )
        )
    earlier = book.select(
        "borrower_id",
        (pl.col("day") + timedelta(days=ROLL_DAYS)).alias("day"),
        _bucket(pl.col("dpd")).alias("was"),
    )
    rolled = now.join(earlier, on=["borrower_id", "day"], how="inner").with_columns(
        _bucket(pl.col("dpd")).alias("is")
    )
    for name, bucket in ROLLS:
        if wanted(name):
            parts.append(
                _shares(
                    rolled,
                    name,
                    pl.col("is") > bucket,
                    counted=pl.col("was") == bucket,
                )
            )
    return parts


def _failed_debits(
    events: pl.DataFrame, attributes: pl.DataFrame, start: date, end: date
) -> pl.DataFrame:
    attempts = (
        events.filter(
            (pl.col("type") == "repayment")
            & (pl.col("kind") == "auto_debit_attempt")
            & pl.col("borrower_id").is_not_null()
        )
        .with_columns(pl.col("occurred_at").dt.date().alias("day"))
        .filter(pl.col("day").is_between(start, end))
        .join(attributes, on=["borrower_id", "day"], how="left")
    )
    return _shares(attempts, "failed_autodebit_rate", pl.col("status") == "failed")


def _tier_migration(decided: pl.DataFrame, start: date) -> pl.DataFrame:
    """Per day and (from, to) tier: the share of borrowers in ``from`` the day before who
    are in ``to`` at day end (the diagonal is those who stayed)."""
    before = decided.select(
        "borrower_id", (pl.col("day") + timedelta(days=1)).alias("day"), pl.col("tier").alias("was")
    )
    moved = decided.filter(pl.col("day") >= start).join(before, on=["borrower_id", "day"])
    pairs = moved.group_by("day", "was", "tier").agg(pl.len().cast(pl.Float64).alias("numerator"))
    return pairs.join(
        moved.group_by("day", "was").agg(pl.len().cast(pl.Float64).alias("denominator")),
        on=["day", "was"],
    ).with_columns(
        metric=pl.lit("tier_migration"),
        segment=pl.format("T{}->T{}", pl.col("was"), pl.col("tier")),
        value=pl.col("numerator") / pl.col("denominator"),
    )


def _valued(frame: pl.DataFrame, metric: str, segment: str, column: str) -> pl.DataFrame:
    """A series of plain values (denominator 1)."""
    return frame.select(
        pl.lit(metric).alias("metric"),
        pl.lit(segment).alias("segment"),
        "day",
        pl.col(column).alias("value"),
        pl.col(column).alias("numerator"),
        pl.lit(1.0).alias("denominator"),
    )


def _per_day(metric: str, days: Sequence[date], moments: Sequence[datetime]) -> pl.DataFrame:
    """How many of ``moments`` fall on each day (0 on a day with none)."""
    tally: dict[date, int] = dict.fromkeys(days, 0)
    for moment in moments:
        day = moment.astimezone(UTC).date()
        if day in tally:
            tally[day] += 1
    frame = pl.DataFrame({"day": list(tally), "n": [float(v) for v in tally.values()]})
    return _valued(frame, metric, "all", "n")


def _waiting(
    days: Sequence[date], spans: Sequence[tuple[datetime, datetime | None]]
) -> pl.DataFrame:
    """Requests created by a day's end and not yet ended at it."""
    counts = []
    for day in days:
        at = day_end(day)
        waiting = (created <= at and (ended is None or ended > at) for created, ended in spans)
        counts.append(float(sum(waiting)))
    return _valued(pl.DataFrame({"day": list(days), "n": counts}), "approvals_waiting", "all", "n")


def _market_signals(
    events: pl.DataFrame, start: date, end: date, wanted: Callable[[str], bool]
) -> pl.DataFrame:
    """Each series' last value of the day (days without a value have no row)."""
    values = (
        events.filter((pl.col("type") == "market_signal") & pl.col("series").is_not_null())
        .with_columns(pl.col("occurred_at").dt.date().alias("day"))
        .filter(pl.col("day").is_between(start, end))
        .sort("occurred_at", "event_id")
        .group_by("series", "day")
        .agg(pl.col("value").last())
        .with_columns((pl.lit(MARKET_SIGNAL_PREFIX) + pl.col("series")).alias("metric"))
    )
    keep = [m for m in values.get_column("metric").unique().to_list() if wanted(m)]
    values = values.filter(pl.col("metric").is_in(keep))
    return values.select(
        "metric",
        pl.lit("all").alias("segment"),
        "day",
        "value",
        pl.col("value").alias("numerator"),
        pl.lit(1.0).alias("denominator"),
    )
