"""The NATS bus's names and wire format: durable consumer names JetStream accepts, stable
and distinct; a message survives the wire whole."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from repayguard.platform.messages import JSONValue, Message
from repayguard.platform.nats_io import backoff, decode, durable_name, encode

from support.facts import Carried

consumers = st.text(min_size=1, max_size=120)
names = st.text(min_size=1, max_size=120).map(lambda tail: f"repayguard.{tail}")


@given(consumers, names)
def test_durable_names_are_valid_for_jetstream(consumer: str, name: str) -> None:
    durable = durable_name(consumer, name)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", durable)
    assert len(durable) <= 120
    assert durable == durable_name(consumer, name), "stable across processes"


def test_durable_names_keep_pairs_that_read_alike_apart() -> None:
    assert durable_name("a.b", "repayguard.x") != durable_name("a_b", "repayguard.x")
    assert durable_name("a", "repayguard.b.c") != durable_name("a", "repayguard.b_c")
    assert durable_name("notices.changed", "repayguard.entitlements.changed").startswith(
        "notices_changed--entitlements_changed-"
    )


@given(
    st.dictionaries(
        st.text(max_size=10),
        st.recursive(
            st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=5,
    ),
)
def test_a_message_crosses_the_wire_whole(payload: dict[str, JSONValue]) -> None:
    message = Message(Carried(body=payload))
    assert decode(encode(message)) == message


def test_retries_back_off_doubling_up_to_a_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff(50) == 60.0
