"""Each feature's facts serialise to the payload its producers wrote before facts were typed:
the audit chain hashes those bytes, the outbox stores them, and other releases read them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from repayguard.borrowers import BorrowerKeysRotated, BorrowerProfileSaved, BorrowerProfileViewed
from repayguard.identity.messages import (
    LoginAttemptFailed,
    OperatorAdded,
    OperatorDisabled,
    PasswordSet,
    SessionStarted,
    TokenCreated,
    TokenRejected,
    TokenRevoked,
    TokenUsed,
)
from repayguard.keys import KeysRotated
from repayguard.platform.messages import Fact, JSONValue

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
LATER = datetime(2026, 12, 7, 9, 45, tzinfo=UTC)

IDENTITY: list[tuple[Fact, dict[str, JSONValue]]] = [
    (
        OperatorAdded(operator_id="o1", username="ada", role="admin"),
        {"operator_id": "o1", "username": "ada", "role": "admin"},
    ),
    (OperatorDisabled(operator_id="o1"), {"operator_id": "o1"}),
    (PasswordSet(operator_id="o1"), {"operator_id": "o1"}),
    (LoginAttemptFailed(operator_id="o1", failures=2), {"operator_id": "o1", "failures": 2}),
    (SessionStarted(operator_id="o1", token_id="t1"), {"operator_id": "o1", "token_id": "t1"}),
    (
        TokenCreated(token_id="t1", kind="service", operator_id=None),
        {"token_id": "t1", "kind": "service", "operator_id": None},
    ),
    (TokenRevoked(token_id="t1"), {"token_id": "t1"}),
    (
        TokenUsed(
            subject="token:t1",
            token_id="t1",
            kind="borrower",
            role=None,
            operator_id=None,
            borrower_id="B1",
            calls=3,
            denied=1,
            first_at=AT,
            last_at=LATER,
            routes={"GET /a": 2, "POST /b": 1},
        ),
        {
            "subject": "token:t1",
            "token_id": "t1",
            "kind": "borrower",
            "role": None,
            "operator_id": None,
            "borrower_id": "B1",
            "calls": 3,
            "denied": 1,
            "first_at": "2026-12-07T09:30:00+00:00",
            "last_at": "2026-12-07T09:45:00+00:00",
            "routes": {"GET /a": 2, "POST /b": 1},
        },
    ),
    (
        TokenRejected(
            subject="token:unresolved",
            calls=1,
            denied=1,
            first_at=AT,
            last_at=AT,
            routes={"GET /a": 1},
        ),
        {
            "subject": "token:unresolved",
            "calls": 1,
            "denied": 1,
            "first_at": "2026-12-07T09:30:00+00:00",
            "last_at": "2026-12-07T09:30:00+00:00",
            "routes": {"GET /a": 1},
        },
    ),
]

KEYS_AND_BORROWERS: list[tuple[Fact, dict[str, JSONValue]]] = [
    (
        KeysRotated(subject="data_key:k2", active="k2", key_ids=("k1", "k2"), added="k2"),
        {"subject": "data_key:k2", "active": "k2", "key_ids": ["k1", "k2"], "added": "k2"},
    ),
    (
        BorrowerProfileSaved(
            borrower_id="B1",
            created=False,
            changed_fields=("phone", "locale"),
            locale="en",
            key_id="k2",
        ),
        {
            "borrower_id": "B1",
            "created": False,
            "changed_fields": ["phone", "locale"],
            "locale": "en",
            "key_id": "k2",
        },
    ),
    (
        BorrowerProfileViewed(borrower_id="B1", revealed=True, purpose="complaint"),
        {"borrower_id": "B1", "revealed": True, "purpose": "complaint"},
    ),
    (
        BorrowerKeysRotated(subject="data_key:k2", key_id="k2", profiles=40, at=AT),
        {
            "subject": "data_key:k2",
            "key_id": "k2",
            "profiles": 40,
            "at": "2026-12-07T09:30:00+00:00",
        },
    ),
]

CASES = IDENTITY + KEYS_AND_BORROWERS


@pytest.mark.parametrize(("fact", "expected"), CASES, ids=lambda v: getattr(v, "NAME", ""))
def test_a_fact_serialises_to_the_payload_written_before_facts_were_typed(
    fact: Fact, expected: dict[str, JSONValue]
) -> None:
    assert fact.payload() == expected


@pytest.mark.parametrize(("fact", "expected"), CASES, ids=lambda v: getattr(v, "NAME", ""))
def test_a_fact_comes_back_from_its_payload(fact: Fact, expected: dict[str, JSONValue]) -> None:
    assert type(fact).from_payload(expected) == fact
