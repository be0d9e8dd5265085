"""The remedies a reversed restriction owes, computed from events alone (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from repayguard.core.events import EVENT_SCHEMA
from repayguard.remedies import Rates, harms

from support.builders import debit_attempt, due, paid

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=40)
FORCED = {
    "auto_debit": "mandatory",
    "early_repayment": "allowed",
    "manual": "allowed",
    "manual_channels": ["app_balance", "bank_card"],
}
OFFERED = ("app_balance", "bank_card")


def frame(events: list[dict[str, Any]]) -> pl.DataFrame:
    rows = [
        {name: (datetime.fromisoformat(e[name]) if name == "occurred_at" else e.get(name))
         for name in EVENT_SCHEMA.names()}
        for e in events
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


def owed(events: list[dict[str, Any]], states: dict[str, Any], rates: Rates) -> dict[str, Any]:
    found = harms(
        frame(events),
        borrower_id="B1",
        states=states,
        offered_channels=OFFERED,
        start=START,
        end=END,
        rates=rates,
    )
    return {h.kind: h for h in found}


def test_only_failed_debits_inside_the_restriction_are_refunded() -> None:
    events = [
        debit_attempt("B1", START - timedelta(days=1), "failed", 100.0),  # before: not its doing
        debit_attempt("B1", START + timedelta(days=1), "failed", 100.0),
        debit_attempt("B1", START + timedelta(days=2), "succeeded", 100.0),
        debit_attempt("B1", END + timedelta(days=1), "failed", 100.0),  # after the reversal
    ]
    found = owed(events, FORCED, Rates(failed_debit_fee=12.5, failed_debit_penalty_rate=0.02))
    assert found["fee_refund"].amount_minor == 1450  # 12.50 + 2% of 100
    assert [d["amount"] for d in found["fee_refund"].basis["failed_debits"]] == [100.0]


def test_a_restriction_that_did_not_shape_debits_owes_no_fee_refund() -> None:
    open_debits = {**FORCED, "auto_debit": "disabled"}
    events = [debit_attempt("B1", START + timedelta(days=1), "failed", 100.0)]
    assert "fee_refund" not in owed(events, open_debits, Rates(failed_debit_fee=10.0))
    assert "fee_refund" in owed(events, FORCED, Rates(failed_debit_fee=10.0))


def test_a_late_mark_before_the_restriction_gets_no_correction_one_during_it_does() -> None:
    long_overdue = [due("B1", START - timedelta(days=45))]  # 30 days past due before START
    assert "bureau_correction" not in owed(long_overdue, FORCED, Rates())
    falls_due = [due("B1", START - timedelta(days=5))]  # 30 days past due at START + 25 days
    mark = owed(falls_due, FORCED, Rates())["bureau_correction"]
    assert mark.basis["late_mark_at"] == (START + timedelta(days=25)).isoformat()
    repaid = [*falls_due, paid("B1", START + timedelta(days=10))]
    assert "bureau_correction" not in owed(repaid, FORCED, Rates())


def test_instalments_falling_due_while_early_repayment_was_restricted_refund_interest() -> None:
    restricted = {**FORCED, "early_repayment": "restricted"}
    events = [
        due("B1", START + timedelta(days=10), 365.0),
        paid("B1", START + timedelta(days=10), 365.0),
    ]
    found = owed(events, restricted, Rates(early_repayment_interest_rate=0.1))
    assert found["early_repayment_refund"].amount_minor == 100  # 365 × 10% × 10 / 365 = 1.00
    assert "early_repayment_refund" not in owed(
        events, FORCED, Rates(early_repayment_interest_rate=0.1)
    )
