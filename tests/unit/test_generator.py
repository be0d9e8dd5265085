"""The synthetic portfolio generator: determinism, the event contract, plausible behaviour."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from repayguard.core.events import EVENT_SCHEMA, EVENT_TYPES, validate_event
from repayguard.simulation import (
    TRUTH_SCHEMA,
    GenerationSummary,
    PortfolioSpec,
    event_file_name,
    generate_portfolio,
    portfolio_statistics,
)

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]+$")
SMALL = PortfolioSpec(borrowers=1_200, months=6, seed=11, chunk_size=500)
PORTFOLIO = PortfolioSpec(borrowers=5_000, months=12, seed=7, chunk_size=2_000)


@dataclass(frozen=True)
class Generated:
    spec: PortfolioSpec
    out_dir: Path
    summary: GenerationSummary
    progress: list[int]
    events: pl.DataFrame
    truth: pl.DataFrame


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    out_dir = tmp_path_factory.mktemp("portfolio")
    calls: list[int] = []
    summary = generate_portfolio(PORTFOLIO, out_dir, progress=calls.append)
    events = pl.concat([pl.read_parquet(path) for path in summary.files])
    return Generated(
        PORTFOLIO, out_dir, summary, calls, events, pl.read_parquet(summary.truth_file)
    )


def _file_bytes(out_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out_dir)): p.read_bytes() for p in sorted(out_dir.rglob("*.parquet"))}


def test_same_spec_writes_byte_identical_files(tmp_path: Path) -> None:
    generate_portfolio(SMALL, tmp_path / "a")
    generate_portfolio(SMALL, tmp_path / "b")
    first, second = _file_bytes(tmp_path / "a"), _file_bytes(tmp_path / "b")
    assert len(first) == SMALL.chunks + 1
    assert first == second


def test_worker_count_does_not_change_the_files(tmp_path: Path) -> None:
    generate_portfolio(SMALL, tmp_path / "one", workers=1)
    generate_portfolio(SMALL, tmp_path / "two", workers=2)
    assert _file_bytes(tmp_path / "one") == _file_bytes(tmp_path / "two")


def test_a_smaller_rerun_into_the_same_folder_leaves_only_its_own_files(tmp_path: Path) -> None:
    generate_portfolio(SMALL, tmp_path)
    (tmp_path / "notes.txt").write_text("kept")
    summary = generate_portfolio(PortfolioSpec(borrowers=200, months=2, seed=1), tmp_path)
    assert sorted(p.name for p in tmp_path.glob("events-*")) == [event_file_name(0)]
    assert pl.read_parquet(summary.truth_file).height == 200
    assert (tmp_path / "notes.txt").read_text() == "kept"


def test_another_seed_gives_another_portfolio(tmp_path: Path) -> None:
    spec = PortfolioSpec(borrowers=300, months=3, seed=12)
    generate_portfolio(spec, tmp_path / "a")
    generate_portfolio(PortfolioSpec(borrowers=300, months=3, seed=13), tmp_path / "b")
    assert _file_bytes(tmp_path / "a") != _file_bytes(tmp_path / "b")


def test_one_event_file_per_chunk_with_the_exact_event_schema(portfolio: Generated) -> None:
    names = sorted(p.name for p in portfolio.out_dir.glob("events-*.parquet"))
    assert names == [event_file_name(i) for i in range(PORTFOLIO.chunks)]
    assert [p.name for p in portfolio.summary.files] == names
    for path in portfolio.summary.files:
        schema = pl.read_parquet_schema(path)
        assert list(schema.items()) == list(EVENT_SCHEMA.items())


def test_sampled_rows_satisfy_the_event_contract(portfolio: Generated) -> None:
    events = portfolio.events
    sample = pl.concat(
        [
            events.sample(3_000, seed=1),
            # Make sure every kind is validated, rare ones included.
            events.filter(pl.int_range(pl.len()).over("type", "kind") < 20),
        ]
    )
    for row in sample.to_dicts():
        validate_event(row)
    assert set(events["type"].unique()) == set(EVENT_TYPES)


def test_event_ids_are_unique_well_formed_and_deterministic(portfolio: Generated) -> None:
    ids = portfolio.events["event_id"]
    assert ids.n_unique() == ids.len()
    assert ids.str.len_chars().max() <= 64  # type: ignore[operator]
    assert all(ID_PATTERN.match(i) for i in ids.sample(2_000, seed=2))
    borrower_events = portfolio.events.filter(pl.col("borrower_id").is_not_null())
    own_prefix = pl.col("event_id").str.starts_with(pl.col("borrower_id") + "-")
    assert borrower_events.select(own_prefix.all()).item()
    loans = borrower_events.filter(pl.col("loan_id").is_not_null())
    assert (loans["loan_id"] == loans["borrower_id"] + "-L1").all()


def test_each_file_is_sorted_by_time_then_event_id(portfolio: Generated) -> None:
    for path in portfolio.summary.files:
        frame = pl.read_parquet(path, columns=["occurred_at", "event_id"])
        ordered = frame.sort("occurred_at", "event_id")
        assert frame.equals(ordered)


def test_events_stay_inside_the_window(portfolio: Generated) -> None:
    start = PORTFOLIO.start
    times = portfolio.events["occurred_at"]
    assert times.min() >= start  # type: ignore[operator]
    assert times.max() < datetime(2026, 1, 1, tzinfo=UTC)  # type: ignore[operator]


def test_market_signals_are_borrowerless_and_only_in_the_first_file(
    portfolio: Generated,
) -> None:
    first = pl.read_parquet(portfolio.summary.files[0])
    market = first.filter(pl.col("type") == "market_signal")
    assert market.height == 2 * PORTFOLIO.months
    assert market["borrower_id"].null_count() == market.height
    assert set(market["series"]) == {"unemployment_rate", "funding_spread"}
    for path in portfolio.summary.files[1:]:
        assert pl.read_parquet(path).filter(pl.col("type") == "market_signal").is_empty()


def test_truth_is_one_row_per_borrower_and_not_an_event_file(portfolio: Generated) -> None:
    truth_file = portfolio.summary.truth_file
    assert truth_file == portfolio.out_dir / "truth" / "borrowers.parquet"
    assert not truth_file.name.startswith("events-")
    assert truth_file not in portfolio.out_dir.glob("events-*.parquet")
    truth = portfolio.truth
    assert truth.schema == TRUTH_SCHEMA
    assert truth["borrower_id"].to_list() == [f"B{i:07d}" for i in range(1, 5_001)]
    seen = set(portfolio.events["borrower_id"].drop_nulls())
    assert seen == set(truth["borrower_id"])


def test_progress_reports_borrowers_finished_after_each_chunk(portfolio: Generated) -> None:
    assert portfolio.progress == [2_000, 4_000, 5_000]


def test_summary_counts_match_the_files(portfolio: Generated) -> None:
    summary, events = portfolio.summary, portfolio.events
    assert summary.total_events == events.height
    by_type = dict(events.group_by("type").len().iter_rows())
    assert {t: c for t, c in summary.events_by_type.items() if c} == by_type
    assert sum(summary.events_by_kind.values()) == events.height
    assert summary.borrowers == 5_000
    assert summary.seconds > 0


def test_portfolio_statistics_are_plausible(portfolio: Generated) -> None:
    truth, events = portfolio.truth, portfolio.events
    per_borrower_year = events.height / PORTFOLIO.borrowers
    assert 25 <= per_borrower_year <= 45
    assert 0.02 <= truth["ever_dpd30"].mean() <= 0.20  # type: ignore[operator]
    attempts = events.filter(pl.col("kind") == "auto_debit_attempt")
    failed_share = (attempts["status"] == "failed").mean()
    assert 0.02 <= failed_share <= 0.30  # type: ignore[operator]
    paid = events.filter(pl.col("kind") == "paid")
    assert 0.01 <= paid["early"].mean() <= 0.20  # type: ignore[operator]
    assert set(paid.filter(pl.col("method") == "manual")["channel"]) == {
        "app_balance",
        "bank_card",
        "bank_transfer",
        "counter",
    }


def test_statistics_agree_with_the_truth_file(portfolio: Generated) -> None:
    stats = portfolio_statistics(portfolio.out_dir, months=PORTFOLIO.months)
    assert stats["borrowers"] == 5_000
    assert stats["events"] == portfolio.events.height
    assert stats["dpd30_rate"] == pytest.approx(portfolio.truth["ever_dpd30"].mean(), abs=1e-4)
    # Hard inquiries and device changes rise before and with distress.
    assert stats["inquiries_90d_before_first_dpd30"] > 2 * stats["inquiries_never_dpd30"]
    assert stats["device_changes_per_year_dpd30"] > stats["device_changes_per_year_never_dpd30"]


def test_riskier_borrowers_go_late_more_often(portfolio: Generated) -> None:
    quintile = pl.col("latent_risk").rank("ordinal") * 5 // (pl.len() + 1)
    rates = portfolio.truth.group_by(quintile.alias("q")).agg(pl.col("ever_dpd30").mean()).sort("q")
    lowest, highest = rates["ever_dpd30"][0], rates["ever_dpd30"][-1]
    assert highest > 5 * lowest


def test_distressed_borrowers_fail_three_debits_within_thirty_days(
    portfolio: Generated,
) -> None:
    failed = (
        portfolio.events.filter(
            pl.col("kind") == "auto_debit_attempt", pl.col("status") == "failed"
        )
        .sort("borrower_id", "occurred_at")
        .with_columns(third=pl.col("occurred_at").shift(-2).over("borrower_id"))
    )
    bursts = failed.filter(pl.col("third") - pl.col("occurred_at") <= timedelta(days=30))
    assert bursts["borrower_id"].n_unique() >= 20


def test_some_early_repayments_are_followed_by_a_redraw_within_thirty_days(
    portfolio: Generated,
) -> None:
    events = portfolio.events
    early = events.filter(pl.col("kind") == "paid", pl.col("early")).select(
        "borrower_id", "occurred_at"
    )
    draws = events.filter(pl.col("kind") == "drawdown").select(
        "borrower_id", drawn_at="occurred_at"
    )
    matched = early.sort("occurred_at").join_asof(
        draws.sort("drawn_at"),
        left_on="occurred_at",
        right_on="drawn_at",
        by="borrower_id",
        strategy="forward",
        check_sortedness=False,
    )
    cycled = matched.filter(pl.col("drawn_at") - pl.col("occurred_at") <= timedelta(days=30))
    assert cycled.height >= 50
    cyclers = set(cycled["borrower_id"])
    risk = portfolio.truth.select("latent_risk", cycling=pl.col("borrower_id").is_in(list(cyclers)))
    mean_risk = dict(risk.group_by("cycling").agg(pl.col("latent_risk").mean()).iter_rows())
    assert mean_risk[True] > mean_risk[False]


def test_every_auto_debit_payment_follows_its_succeeded_attempt(portfolio: Generated) -> None:
    events = portfolio.events
    paid = events.filter(pl.col("kind") == "paid", pl.col("method") == "auto_debit").select(
        "borrower_id", "occurred_at", "amount"
    )
    attempts = events.filter(
        pl.col("kind") == "auto_debit_attempt", pl.col("status") == "succeeded"
    ).select("borrower_id", tried_at="occurred_at", tried_amount="amount")
    matched = paid.sort("occurred_at").join_asof(
        attempts.sort("tried_at"),
        left_on="occurred_at",
        right_on="tried_at",
        by="borrower_id",
        strategy="backward",
        check_sortedness=False,
    )
    assert paid.height > 1_000
    assert matched["tried_at"].null_count() == 0
    gap = matched["occurred_at"] - matched["tried_at"]
    assert (gap <= timedelta(minutes=2)).all()
    assert (matched["amount"] == matched["tried_amount"]).all()


def test_spec_refuses_a_start_without_time_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        PortfolioSpec(borrowers=10, start=datetime(2025, 1, 1))


def test_spec_refuses_an_empty_portfolio() -> None:
    with pytest.raises(ValueError, match="at least one borrower"):
        PortfolioSpec(borrowers=0)
