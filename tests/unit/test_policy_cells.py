"""Unary-test cells: every supported form against its truth table, in both compiled forms."""

from __future__ import annotations

import math

import polars as pl
import pytest

from repayguard.core.policy.cells import (
    Cell,
    CellSyntaxError,
    Compare,
    Interval,
    NoneOf,
    cell_text,
    parse_cell,
)
from repayguard.core.policy.compiler import DTYPES, cell_expr, cell_predicate

Value = float | int | str | bool | None

NUMBERS: list[Value] = [None, -1, 0, 0.5, 1, 2.5, 3, 5, 5.5, 30, 31]
STRINGS: list[Value] = [None, "T1", "T2", "T4", "T5", "x"]
BOOLEANS: list[Value] = [None, True, False]


def both_forms(text: str, input_type: str, values: list[Value]) -> list[bool]:
    """Evaluate a cell on each value in row form and vectorized; they must agree."""
    cell = parse_cell(text)
    rows = [cell_predicate(cell)(v) for v in values]
    col = pl.Series("v", values, dtype=DTYPES[input_type], strict=False)
    vectorized = pl.DataFrame([col]).with_columns(
        cell_expr(cell, pl.col("v"), input_type).alias("r")
    )
    assert vectorized["r"].to_list() == rows, f"forms disagree on {text!r}"
    return rows


def matching(text: str, input_type: str, values: list[Value]) -> list[Value]:
    return [v for v, ok in zip(values, both_forms(text, input_type, values), strict=True) if ok]


@pytest.mark.parametrize("text", ["", "-", "  -  ", " "])
def test_empty_and_dash_match_anything_including_null(text: str) -> None:
    assert matching(text, "number", NUMBERS) == NUMBERS
    assert parse_cell(text).is_any


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (">= 30", [30, 31]),
        ("> 30", [31]),
        ("< 0.5", [-1, 0]),
        ("<= 0.5", [-1, 0, 0.5]),
        ("== 3", [3]),
        ("3", [3]),
        ("3.0", [3]),
        ("!= 3", [None, -1, 0, 0.5, 1, 2.5, 5, 5.5, 30, 31]),
        ("> -1", [0, 0.5, 1, 2.5, 3, 5, 5.5, 30, 31]),
        ("1, 3", [1, 3]),
        ("< 0, > 30", [-1, 31]),
        ("> 2, <= 5", NUMBERS[1:]),  # ZEN joins with "or": every number
        ("null", [None]),
        ("== null", [None]),
        ("!= null", NUMBERS[1:]),
        ("1_000, 5", [5]),
    ],
)
def test_number_comparisons_and_literals(text: str, expected: list[Value]) -> None:
    assert matching(text, "number", NUMBERS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1..5]", [1, 2.5, 3, 5]),
        ("(1..5]", [2.5, 3, 5]),
        ("[1..5)", [1, 2.5, 3]),
        ("(1..5)", [2.5, 3]),
        ("[0..0]", [0]),
        ("[-1..0.5], [30..31)", [-1, 0, 0.5, 30]),
    ],
)
def test_intervals_include_square_bracket_bounds_only(text: str, expected: list[Value]) -> None:
    assert matching(text, "number", NUMBERS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"T4"', ["T4"]),
        ("'T4'", ["T4"]),
        ('"T4", "T5"', ["T4", "T5"]),
        ('== "T1"', ["T1"]),
        ('!= "T1"', [None, "T2", "T4", "T5", "x"]),
        ('not("T1")', [None, "T2", "T4", "T5", "x"]),
        ('not("T1", "T2")', [None, "T4", "T5", "x"]),
        ('not("T1", null)', ["T2", "T4", "T5", "x"]),
        ("null", [None]),
        ('"T9"', []),
    ],
)
def test_string_literals_lists_and_negation(text: str, expected: list[Value]) -> None:
    assert matching(text, "string", STRINGS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", [True]),
        ("false", [False]),
        ("!= true", [None, False]),
        ("true, null", [None, True]),
        ("null", [None]),
    ],
)
def test_boolean_cells(text: str, expected: list[Value]) -> None:
    assert matching(text, "boolean", BOOLEANS) == expected


def test_values_of_another_type_never_match_a_literal() -> None:
    cell = parse_cell("1")
    assert cell_predicate(cell)(True) is False
    assert cell_predicate(parse_cell('"1"'))(1) is False
    assert cell_predicate(parse_cell(">= 0"))("5") is False
    assert cell_predicate(parse_cell("true"))(1) is False


def test_nan_counts_as_null_in_row_form() -> None:
    nan = math.nan
    assert cell_predicate(parse_cell("null"))(nan) is True
    assert cell_predicate(parse_cell(">= 0, < 0"))(nan) is False


def test_cells_parse_to_a_typed_form() -> None:
    assert parse_cell('>= 30, "a", [1..2), not(1, null)') == Cell(
        '>= 30, "a", [1..2), not(1, null)',
        (
            Compare(">=", 30.0),
            Compare("==", "a"),
            Interval(1.0, 2.0, low_closed=True, high_closed=False),
            NoneOf((1.0, None)),
        ),
    )
    assert parse_cell(r'"say \"hi\""').alternatives == (Compare("==", 'say "hi"'),)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        (">= ", 3, "expected a number"),
        ("]1..5[", 0, "reversed interval"),
        ("[1..5[", 5, "reversed interval"),
        ("[5..1]", 0, "empty"),
        ("(1..1]", 0, "empty"),
        ('< "a"', 0, "needs a number"),
        ("[1..'x']", 4, "must be a number"),
        ("x", 0, "unsupported 'x'"),
        ("> 1 and < 3", 4, "'and' is not supported"),
        ("1 2", 2, "separate alternatives"),
        ("contains($, 'a')", 0, "unsupported 'contains'"),
        ('"open', 0, "unexpected character"),
        ("not(1", 5, "expected ')'"),
        ("1e999", 0, "too large"),
    ],
)
def test_syntax_errors_name_the_cell_and_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(CellSyntaxError) as caught:
        parse_cell(text)
    assert caught.value.position == position
    assert caught.value.text == text
    assert fragment in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    ("value", "text"), [(True, "true"), (False, "false"), (3, "3"), (2.5, "2.5"), ("x", "x")]
)
def test_yaml_scalars_become_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text
