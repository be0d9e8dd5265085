"""Portfolio statistics of a generated portfolio, to check it against its documented shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from repayguard.simulation.generator import TRUTH_DIR, TRUTH_FILE

_MONTH = 365.25 / 12


def _rate(frame: pl.DataFrame, expr: pl.Expr) -> float:
    return round(float(frame.select(expr.mean()).item() or 0.0), 4)


def portfolio_statistics(out_dir: Path, *, months: int) -> dict[str, Any]:
    """Headline figures of the portfolio in ``out_dir`` (events files plus truth).

    Delinquency comes from the truth file (what happened); behaviour shares come from the
    events (what a lender would see). ``months`` is the window length the portfolio was
    generated with.
    """
    events = pl.scan_parquet(sorted(out_dir.glob("events-*.parquet")))
    truth = pl.read_parquet(out_dir / TRUTH_DIR / TRUTH_FILE)
    borrowers = truth.height
    borrower_months = borrowers * months
    kinds = events.group_by("type", "kind").len().collect().sort("type", "kind")
    total = int(kinds["len"].sum())
    repayments = events.filter(pl.col("type") == "repayment").collect()
    attempts = repayments.filter(pl.col("kind") == "auto_debit_attempt")
    paid = repayments.filter(pl.col("kind") == "paid")
    early = paid.filter(pl.col("early")).select("borrower_id", "occurred_at").sort("occurred_at")
    draws = (
        events.filter(pl.col("kind") == "drawdown")
        .select("borrower_id", drawn_at="occurred_at")
        .collect()
        .sort("drawn_at")
    )
    redrawn = early.join_asof(
        draws,
        left_on="occurred_at",
        right_on="drawn_at",
        by="borrower_id",
        strategy="forward",
        check_sortedness=False,
    ).with_columns(redraw=(pl.col("drawn_at") - pl.col("occurred_at")) <= timedelta(days=30))
    cycled = redrawn.filter(pl.col("redraw")).group_by("borrower_id").len()
    cyclers = truth.join(cycled.filter(pl.col("len") >= 2), on="borrower_id", how="semi")
    failed = (
        attempts.filter(pl.col("status") == "failed")
        .sort("borrower_id", "occurred_at")
        .with_columns(third=pl.col("occurred_at").shift(-2).over("borrower_id"))
        .filter(pl.col("third") - pl.col("occurred_at") <= timedelta(days=30))
    )
    enrolled = truth.filter(pl.col("auto_debit_enrolled"))
    reports = events.filter(pl.col("type") == "credit_report").collect()
    late = truth.filter(pl.col("ever_dpd30")).select("borrower_id", "first_dpd30_at")
    before_late = reports.join(late, on="borrower_id").filter(
        pl.col("occurred_at") < pl.col("first_dpd30_at"),
        pl.col("occurred_at") >= pl.col("first_dpd30_at") - timedelta(days=90),
    )
    never_late = reports.join(late, on="borrower_id", how="anti")
    devices = (
        events.filter(pl.col("kind") == "device_change").group_by("borrower_id").len().collect()
    )
    device_rate = (
        truth.join(devices, on="borrower_id", how="left")
        .group_by("ever_dpd30")
        .agg((pl.col("len").fill_null(0).mean() * 12 / months).round(3))
    )
    by_device = dict(device_rate.iter_rows())
    segment_rates = truth.group_by("segment").agg(pl.col("ever_dpd30").mean().round(4))
    method_rates = truth.group_by("auto_debit_enrolled").agg(pl.col("ever_dpd30").mean().round(4))
    by_method = dict(method_rates.iter_rows())
    dpd = truth["max_dpd"]
    return {
        "borrowers": borrowers,
        "months": months,
        "events": total,
        "events_per_borrower_month": round(total / borrower_months, 3),
        "events_per_borrower_month_by_kind": {
            f"{t}/{k}": round(c / borrower_months, 4) for t, k, c in kinds.iter_rows()
        },
        "dpd30_rate": _rate(truth, pl.col("ever_dpd30")),
        "dpd60_rate": _rate(truth, pl.col("max_dpd") >= 60),
        "dpd90_rate": _rate(truth, pl.col("ever_dpd90")),
        "roll_30_to_60": round(int((dpd >= 60).sum()) / max(int((dpd >= 30).sum()), 1), 3),
        "roll_60_to_90": round(int((dpd >= 90).sum()) / max(int((dpd >= 60).sum()), 1), 3),
        "dpd30_rate_by_segment": dict(sorted(segment_rates.iter_rows())),
        "dpd30_rate_auto_debit": by_method.get(True),
        "dpd30_rate_manual": by_method.get(False),
        "failed_debit_rate": _rate(attempts, pl.col("status") == "failed"),
        "enrolled_with_3_failed_debits_in_30d": round(
            failed["borrower_id"].n_unique() / max(enrolled.height, 1), 4
        ),
        "early_repayment_share_of_payments": _rate(paid, pl.col("early")),
        "borrowers_with_early_repayment": round(early["borrower_id"].n_unique() / borrowers, 4),
        "early_repayments_redrawn_within_30d": _rate(redrawn, pl.col("redraw")),
        "cyclers_share": round(cyclers.height / borrowers, 4),
        "cyclers_mean_latent_risk": round(float(cyclers["latent_risk"].mean() or 0.0), 4),  # type: ignore[arg-type]
        "portfolio_mean_latent_risk": round(float(truth["latent_risk"].mean() or 0.0), 4),  # type: ignore[arg-type]
        "inquiries_90d_before_first_dpd30": _rate(before_late, pl.col("inquiries")),
        "inquiries_never_dpd30": _rate(never_late, pl.col("inquiries")),
        "device_changes_per_year_dpd30": by_device.get(True),
        "device_changes_per_year_never_dpd30": by_device.get(False),
        "mean_score_by_segment": dict(
            sorted(
                reports.join(truth.select("borrower_id", "segment"), on="borrower_id")
                .group_by("segment")
                .agg(pl.col("score").mean().round(1))
                .iter_rows()
            )
        ),
        "monthly_unemployment_rate": events.filter(pl.col("series") == "unemployment_rate")
        .sort("occurred_at")
        .select("value")
        .collect()["value"]
        .to_list(),
    }
