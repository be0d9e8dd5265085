"""Builders of wire events for tests: ``repayment(...)``, ``failed_debit(...)``, with overrides;
and of test policies: ``policy_text(name, rows)``."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

_ids = itertools.count(1)


def event_id() -> str:
    return f"t-{next(_ids):08d}"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_event(type_: str, borrower: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id(),
        "type": type_,
        "borrower_id": borrower,
        "occurred_at": iso(at),
        **fields,
    }


def credit_report(borrower: str, at: datetime, **overrides: Any) -> dict[str, Any]:
    return make_event(
        "credit_report", borrower, at, score=700, inquiries=1, external_debt=1000.0, **overrides
    )


def drawdown(borrower: str, at: datetime, amount: float = 3000.0) -> dict[str, Any]:
    return make_event(
        "loan", borrower, at, loan_id=f"{borrower}-L1", kind="drawdown", amount=amount
    )


def limit(borrower: str, at: datetime, amount: float = 10000.0) -> dict[str, Any]:
    return make_event(
        "loan", borrower, at, loan_id=f"{borrower}-L1", kind="limit_change", amount=amount
    )


def due(borrower: str, at: datetime, amount: float = 500.0) -> dict[str, Any]:
    return make_event(
        "repayment", borrower, at, loan_id=f"{borrower}-L1", kind="due", amount=amount
    )


def paid(borrower: str, at: datetime, amount: float = 500.0, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"method": "manual", "channel": "bank_card", **overrides}
    return make_event(
        "repayment", borrower, at, loan_id=f"{borrower}-L1", kind="paid", amount=amount, **fields
    )


def debit_attempt(
    borrower: str, at: datetime, status: str, amount: float = 500.0
) -> dict[str, Any]:
    return make_event(
        "repayment",
        borrower,
        at,
        loan_id=f"{borrower}-L1",
        kind="auto_debit_attempt",
        amount=amount,
        status=status,
    )


def inflow(
    borrower: str, at: datetime, amount: float = 8000.0, balance: float = 9000.0
) -> dict[str, Any]:
    return make_event("transaction", borrower, at, kind="inflow", amount=amount, balance=balance)


def healthy_history(borrower: str, now: datetime, months: int = 4) -> list[dict[str, Any]]:
    """A borrower who pays every instalment on time, by hand, with a good bureau record."""
    start = now - timedelta(days=30 * months)
    events = [limit(borrower, start), drawdown(borrower, start), credit_report(borrower, start)]
    for month in range(1, months + 1):
        day = start + timedelta(days=30 * month)
        events += [
            inflow(borrower, day - timedelta(days=2)),
            due(borrower, day),
            paid(borrower, day),
        ]
    return events


def failing_debits_history(borrower: str, now: datetime) -> list[dict[str, Any]]:
    """A borrower on auto-debit whose last three attempts, all within 30 days, failed."""
    events = healthy_history(borrower, now - timedelta(days=30), months=3)
    last_due = now - timedelta(days=20)
    events.append(due(borrower, last_due))
    for days in (20, 15, 10):
        events.append(debit_attempt(borrower, now - timedelta(days=days), "failed"))
    return events


def policy_text(name: str, body: str, *, version: int = 1) -> str:
    """A test policy (YAML) owned by tests, in the CN profile with both manual channels free:
    ``body`` holds its inputs, hit policy and own rows, and the default row (every method
    open) ends it."""
    return (
        f"\nname: {name}\nversion: {version}\nowner: tests\n"
        "jurisdiction: CN\n"
        "channels:\n"
        "  app_balance: {free: true}\n"
        "  bank_card: {free: true}\n"
        f"{body}"
        "  - id: default\n"
        "    then:\n"
        "      auto_debit: optional\n"
        "      early_repayment: allowed\n"
        "      manual: allowed\n"
        "      manual_channels: [app_balance, bank_card]\n"
        "    reasons: [DEFAULT_TERMS]\n"
    )
