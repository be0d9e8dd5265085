"""Decision ids are distinct, of one fixed form, and sort in the order they were made."""

from __future__ import annotations

import re

from repayguard.decisions.writer import decision_ids


def test_decision_ids_are_distinct_32_hex_digits() -> None:
    ids = decision_ids(50_000)
    assert len(ids) == 50_000
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", one) for one in ids)


def test_later_decision_ids_sort_after_earlier_ones() -> None:
    earlier = decision_ids(1_000)
    later = decision_ids(1_000)
    assert max(earlier) < min(later)


def test_no_ids_for_no_decisions() -> None:
    assert decision_ids(0) == []
