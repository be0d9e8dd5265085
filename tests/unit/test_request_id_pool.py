"""Fresh request ids cut from a pooled read of the random source look and behave like ids
made one read at a time: 32 hexadecimal characters, none repeated, across pool refills."""

from __future__ import annotations

import re

from repayguard.api.requestid import RequestIds, accepted


def test_pooled_ids_are_32_hex_characters_and_never_repeat_across_refills() -> None:
    ids = RequestIds()
    made = [ids() for _ in range(3 * RequestIds.BATCH + 5)]
    assert all(re.fullmatch(rb"[0-9a-f]{32}", made_id) for made_id in made)
    assert len(set(made)) == len(made)


def test_a_sane_id_from_the_caller_is_kept_and_anything_else_replaced_by_a_fresh_one() -> None:
    ids = RequestIds()
    assert accepted(b"gateway-42.a_b", ids) == b"gateway-42.a_b"
    for bad in (None, b"", b"has space", b"x" * 129):
        fresh = accepted(bad, ids)
        assert fresh != bad
        assert re.fullmatch(rb"[0-9a-f]{32}", fresh)
