"""Pseudonyms remembered by the audit trail: the keyed ones exactly, each id computed once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from repayguard.audit.service import RememberedPseudonyms, redact_payload
from repayguard.platform.crypto import Pseudonymizer

KEY = b"k" * 32


class CountingPseudonymizer(Pseudonymizer):
    """The keyed pseudonymizer, counting the HMACs it computes."""

    __slots__ = ("computed",)

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self.computed = 0

    def pseudonym(self, value: str, *, kind: str = "borrower") -> str:
        self.computed += 1
        return super().pseudonym(value, kind=kind)


@given(st.lists(st.tuples(st.text(max_size=12), st.sampled_from(["borrower", "user"]))))
def test_a_remembered_pseudonym_is_the_keyed_one(pairs: list[tuple[str, str]]) -> None:
    plain = Pseudonymizer(KEY)
    remembered = RememberedPseudonyms(plain, size=4)
    for value, kind in [*pairs, *reversed(pairs)]:
        assert remembered.pseudonym(value, kind=kind) == plain.pseudonym(value, kind=kind)


def test_each_id_is_computed_once_while_it_is_remembered() -> None:
    counting = CountingPseudonymizer(KEY)
    remembered = RememberedPseudonyms(counting, size=100)
    batch = {"batch_id": "b1", "borrower_ids": [f"B{i}" for i in range(50)]}

    first = redact_payload(batch, remembered)
    second = redact_payload(batch, remembered)

    assert first == second == redact_payload(batch, Pseudonymizer(KEY))
    assert counting.computed == 50
    # The same id of another kind is another pseudonym, computed on its own.
    assert remembered.pseudonym("B1", kind="user") != remembered.pseudonym("B1")
    assert counting.computed == 51


def test_the_least_recently_used_ids_are_forgotten_past_the_size() -> None:
    counting = CountingPseudonymizer(KEY)
    remembered = RememberedPseudonyms(counting, size=2)
    for value in ("B1", "B2", "B1", "B3"):  # B2 is the least recently used when B3 arrives
        remembered.pseudonym(value)
    assert counting.computed == 3

    remembered.pseudonym("B1")
    assert counting.computed == 3
    remembered.pseudonym("B2")
    assert counting.computed == 4
