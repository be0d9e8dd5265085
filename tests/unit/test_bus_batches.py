"""The in-process bus's batch delivery: slices of a subscriber's size, order kept, one subject
a batch, and a batch size below one refused at wiring time."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from repayguard.errors import BusMisconfigured
from repayguard.platform.bus import InProcessBus
from repayguard.platform.messages import Message

from support.facts import Many, Probe, StepA, StepB


def _messages(fact: type[Probe], count: int) -> list[Message]:
    return [Message(fact(n=n)) for n in range(count)]


def test_a_batch_subscriber_gets_the_batch_in_slices_and_a_single_one_each_message() -> None:
    bus = InProcessBus()
    batches: list[list[int]] = []
    singles: list[int] = []

    def record(messages: Sequence[Message]) -> None:
        batches.append([m.payload["n"] for m in messages])

    bus.subscribe_batch(Many, record, consumer="test", max_batch=2)
    bus.subscribe(Many, lambda message: singles.append(message.payload["n"]))

    bus.publish_batch(_messages(Many, 5))

    assert batches == [[0, 1], [2, 3], [4]]
    assert singles == [0, 1, 2, 3, 4]


def test_a_batch_of_two_subjects_is_refused() -> None:
    with pytest.raises(ValueError, match="one subject"):
        InProcessBus().publish_batch(_messages(StepA, 1) + _messages(StepB, 1))


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(BusMisconfigured, match="at least 1"):
        InProcessBus().subscribe_batch(Many, lambda _: None, consumer="t", max_batch=0)


def test_a_message_followed_ahead_is_not_followed_again_and_its_effects_still_run() -> None:
    bus = InProcessBus()
    followed: list[int] = []
    effects: list[int] = []
    bus.follow(Many, lambda message: followed.append(message.payload["n"]))
    bus.subscribe(Many, lambda message: effects.append(message.payload["n"]))
    messages = _messages(Many, 3)

    bus.follow_ahead(messages[:2])
    assert (followed, effects) == ([0, 1], [])
    bus.publish_batch(messages)

    assert followed == [0, 1, 2], "each message followed once, in order"
    assert effects == [0, 1, 2]


def test_following_ahead_stops_at_a_failing_follower_so_order_is_kept() -> None:
    bus = InProcessBus()
    followed: list[int] = []

    def follower(message: Message) -> None:
        if message.payload["n"] == 1 and -1 not in followed:
            followed.append(-1)  # the failed attempt
            raise ConnectionError("state store unavailable")
        followed.append(message.payload["n"])

    bus.follow(Many, follower)
    messages = _messages(Many, 3)

    bus.follow_ahead(messages)
    assert followed == [0, -1], "nothing after the failure is followed ahead"
    bus.publish_batch(messages)

    assert followed == [0, -1, 1, 2]
