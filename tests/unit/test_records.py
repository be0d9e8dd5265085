"""record_of: one way to copy a record, for dataclasses and pydantic models alike."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from repayguard.platform.dto import Schema
from repayguard.platform.records import record_of


@dataclass(frozen=True)
class Case:
    case_id: str
    state: str
    notes: tuple[str, ...] = ()


class CaseRead(Schema):
    case_id: str
    state: str


ROW = SimpleNamespace(case_id="C-1", state="open", notes=["a"], secret="kept out")


def test_fields_are_copied_by_name_and_computed_ones_win() -> None:
    assert record_of(Case, ROW, notes=tuple(ROW.notes)) == Case("C-1", "open", ("a",))


def test_a_field_the_source_lacks_takes_its_default() -> None:
    assert record_of(Case, SimpleNamespace(case_id="C-2", state="closed")).notes == ()


def test_pydantic_models_take_only_their_own_fields() -> None:
    # The row's other attributes never reach a model that forbids unknown fields.
    assert record_of(CaseRead, ROW) == CaseRead(case_id="C-1", state="open")


def test_a_record_copies_into_another() -> None:
    assert record_of(CaseRead, Case("C-3", "open")).case_id == "C-3"


def test_a_computed_field_the_target_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="Case has no field stat"):
        record_of(Case, ROW, stat="open")


def test_a_required_field_nothing_provides_is_refused_by_the_target() -> None:
    with pytest.raises(TypeError, match="state"):
        record_of(Case, SimpleNamespace(case_id="C-4"))
    with pytest.raises(ValidationError, match="state"):
        record_of(CaseRead, SimpleNamespace(case_id="C-4"))


def test_only_records_can_be_built() -> None:
    with pytest.raises(TypeError, match="neither a dataclass nor a pydantic model"):
        record_of(dict, ROW)
