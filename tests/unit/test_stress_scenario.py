"""The stress test's shock (pure): a daily market series that jumps on the shock day, and from
then on the riskiest borrowers' debits fail and their payments stop; everyone else untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from repayguard.cli.monitor.stress import SIGNAL, StressScenario, shock_events
from repayguard.core.events import EVENT_SCHEMA

SCENARIO = StressScenario(borrowers=20, history_days=60, watch_days=4, shock_after=2)
SHOCK = datetime.combine(SCENARIO.shock_day, datetime.min.time(), UTC)


def _event(
    n: int, borrower: str | None, at: datetime, kind: str, **fields: object
) -> dict[str, object]:
    row = dict.fromkeys(EVENT_SCHEMA.names())
    kinds = {"paid": "repayment", "auto_debit_attempt": "repayment", "value": "market_signal"}
    row |= {"event_id": f"E{n}", "type": kinds[kind], "schema_version": 1, "kind": kind}
    return row | {"borrower_id": borrower, "occurred_at": at, **fields}


def _book() -> tuple[pl.DataFrame, pl.DataFrame]:
    before, after = SHOCK - timedelta(days=1), SHOCK + timedelta(hours=7)
    rows = [
        _event(1, "RISKY", before, "auto_debit_attempt", status="succeeded"),
        _event(2, "RISKY", after, "auto_debit_attempt", status="succeeded"),
        _event(3, "RISKY", after, "paid", method="auto_debit", amount=100.0),
        _event(4, "SAFE", after, "auto_debit_attempt", status="succeeded"),
        _event(5, "SAFE", after, "paid", method="auto_debit", amount=100.0),
        _event(6, None, before, "value", series=SIGNAL, value=5.0),
    ]
    truth = pl.DataFrame({"borrower_id": ["RISKY", "SAFE"], "latent_risk": [0.4, 0.01]})
    return pl.DataFrame(rows, schema=EVENT_SCHEMA), truth


def test_the_riskiest_borrowers_fail_and_stop_paying_from_the_shock_on() -> None:
    events, truth = _book()
    shocked, stressed = shock_events(events, truth, SCENARIO)
    assert stressed == 1  # 30 % of two borrowers, at least one
    people = shocked.filter(pl.col("borrower_id").is_not_null())
    assert people.select("event_id", "status").rows() == [
        ("E1", "succeeded"),  # before the shock: untouched
        ("E2", "failed"),
        ("E4", "succeeded"),
        ("E5", None),
    ]
    assert shocked.schema == events.schema


def test_the_market_series_is_daily_and_jumps_on_the_shock_day() -> None:
    shocked, _ = shock_events(*_book(), SCENARIO)
    market = shocked.filter(pl.col("type") == "market_signal")
    assert "E6" not in market["event_id"].to_list(), "the monthly signal is replaced"
    days = market["occurred_at"].dt.date().to_list()
    assert len(days) == len(set(days)) == SCENARIO.history_days + SCENARIO.watch_days
    before: list[float] = market.filter(pl.col("occurred_at") < SHOCK)["value"].to_list()
    after: list[float] = market.filter(pl.col("occurred_at") >= SHOCK)["value"].to_list()
    assert max(before) < SCENARIO.unemployment_base + 0.5 < min(after)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shock_after": 0}, "shock must start within the watch"),
        ({"history_days": 30}, "history_days must cover lookback_days"),
        ({"stressed_share": 0.0}, "stressed_share"),
        ({"unemployment_jump": -1.0}, "unemployment_jump must be positive"),
    ],
)
def test_a_scenario_that_cannot_show_a_shock_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        StressScenario(**changes)  # type: ignore[arg-type]
