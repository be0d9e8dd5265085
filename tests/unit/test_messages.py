"""Typed facts: the payload derived from the fields, and the fact back from its payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from repayguard.errors import UnknownMessage
from repayguard.platform.messages import (
    Fact,
    Message,
    fact_named,
    omitted_when_none,
    wire_key,
)


@dataclass(frozen=True, slots=True)
class Part:
    code: str
    weight: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Sampled(Fact):
    NAME = "repayguard.test.sampled"

    run_id: str
    at: datetime
    day: date
    borrower_ids: tuple[str, ...]
    parts: tuple[Part, ...]
    counts: dict[str, int]
    review_at: datetime | None
    note: str | None = omitted_when_none()
    set_: bool = wire_key("set", default=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalLike(Fact):
    request_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovedLike(ApprovalLike):
    NAME = "repayguard.test.approved_like"


AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def sample(**changes: object) -> Sampled:
    values: dict[str, object] = {
        "run_id": "r1",
        "at": AT,
        "day": date(2026, 12, 7),
        "borrower_ids": ("B1", "B2"),
        "parts": (Part("a", 0.5),),
        "counts": {"T1": 3},
        "review_at": None,
    }
    values.update(changes)
    return Sampled(**values)  # type: ignore[arg-type]


def test_the_payload_is_the_json_written_before_facts_were_typed() -> None:
    assert sample().payload() == {
        "run_id": "r1",
        "at": "2026-12-07T09:30:00+00:00",
        "day": "2026-12-07",
        "borrower_ids": ["B1", "B2"],
        "parts": [{"code": "a", "weight": 0.5}],
        "counts": {"T1": 3},
        "review_at": None,
        "set": False,
    }


def test_an_omitted_field_appears_only_when_it_has_a_value() -> None:
    assert "note" not in sample().payload()
    assert sample(note="n").payload()["note"] == "n"


@pytest.mark.parametrize("fact", [sample(), sample(note="x", set_=True, review_at=AT)])
def test_a_fact_comes_back_from_its_payload(fact: Sampled) -> None:
    assert Sampled.from_payload(fact.payload()) == fact


def test_a_stored_message_decodes_to_its_fact_with_its_id() -> None:
    message = Message(sample())
    back = Message.decode(message.name, message.payload, message_id=message.message_id)
    assert back == message
    assert isinstance(back.fact, Sampled)
    assert back.fact.borrower_ids == ("B1", "B2")


def test_a_shape_shared_by_several_names_registers_each_subclass_only() -> None:
    assert fact_named("repayguard.test.approved_like") is ApprovedLike
    assert Message(ApprovedLike(request_id="q")).name == "repayguard.test.approved_like"


def test_another_version_or_a_missing_field_is_refused_with_what_to_do() -> None:
    with pytest.raises(UnknownMessage, match="version 2"):
        fact_named(Sampled.NAME, 2)
    with pytest.raises(UnknownMessage, match="does not fit"):
        Sampled.from_payload({"run_id": "r1"})


def test_keys_a_newer_producer_added_are_ignored() -> None:
    assert Sampled.from_payload({**sample().payload(), "added_later": 1}) == sample()


def test_two_facts_cannot_claim_one_name() -> None:
    with pytest.raises(TypeError, match="both declare"):

        @dataclass(frozen=True, slots=True, kw_only=True)
        class Impostor(Fact):
            NAME = "repayguard.test.sampled"
