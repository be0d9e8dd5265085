"""Unary-test cells: every supported form against its truth table, in both compiled forms."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.core.policy.cells import (
    Cell,
    CellSyntaxError,
    Compare,
    Interval,
    Member,
    cell_text,
    parse_cell,
)
from repayguard.core.policy.compiler import DTYPES, cell_expr, cell_predicate
from repayguard.core.policy.semantics import zen_eval, zen_match

Value = float | int | str | bool | date | None

NUMBERS: list[Value] = [None, -1, 0, 0.5, 1, 2.5, 3, 5, 5.5, 30, 31]
STRINGS: list[Value] = [None, "T1", "T2", "T4", "T5", "x"]
BOOLEANS: list[Value] = [None, True, False]
DATES: list[Value] = [None, date(2024, 12, 31), date(2025, 1, 1), date(2025, 1, 15)]


def all_forms(text: str, input_type: str, values: list[Value]) -> list[bool]:
    """Evaluate a cell on each value: reference, row form and vectorized must all agree."""
    cell = parse_cell(text)
    reference = [zen_match(cell, v) for v in values]
    rows = [cell_predicate(cell)(v) for v in values]
    assert rows == reference, f"row form disagrees with the reference on {text!r}"
    col = pl.Series("v", values, dtype=DTYPES[input_type], strict=False)
    if input_type in ("integer", "number"):  # as CompiledPolicy.typed_inputs prepares them
        col = col.cast(pl.Float64).fill_nan(None)
    vectorized = pl.DataFrame([col]).with_columns(
        cell_expr(cell, pl.col("v"), input_type).alias("r")
    )
    assert vectorized["r"].to_list() == reference, f"vectorized form disagrees on {text!r}"
    return reference


def matching(text: str, input_type: str, values: list[Value]) -> list[Value]:
    return [v for v, ok in zip(values, all_forms(text, input_type, values), strict=True) if ok]


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
        ("-1", [-1]),
        ("!= 3", [None, -1, 0, 0.5, 1, 2.5, 5, 5.5, 30, 31]),
        ("> -1", [0, 0.5, 1, 2.5, 3, 5, 5.5, 30, 31]),
        ("1, 3", [1, 3]),
        ("< 0, > 30", [-1, 31]),
        ("> 2, <= 5", NUMBERS[1:]),  # "," is "or": every number
        ("> 2 and <= 5", [2.5, 3, 5]),
        ("> 2 or < 0", [-1, 2.5, 3, 5, 5.5, 30, 31]),
        ("> 1, < 0 and > 3", [5, 5.5, 30, 31]),  # left to right: (> 1 or < 0) and > 3
        ("null", [None]),
        ("== null", [None]),
        ("!= null", NUMBERS[1:]),
        ("1_000, 5", [5]),
        ("[1, 3]", [1, 3]),
        ("in [1, 3]", [1, 3]),
        ("not in [1, 3]", [None, -1, 0, 0.5, 2.5, 5, 5.5, 30, 31]),
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
        ("in [1..5]", [1, 2.5, 3, 5]),
        ("not in [1..5]", [-1, 0, 0.5, 5.5, 30, 31]),  # null is an error there, not "outside"
    ],
)
def test_intervals_include_square_bracket_bounds_only(text: str, expected: list[Value]) -> None:
    assert matching(text, "number", NUMBERS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("null, > 3", [None, 5, 5.5, 30, 31]),
        ("> 3, null", [5, 5.5, 30, 31]),  # "> 3" errors on null first: the cell fails
        ("!= null and > 1", [2.5, 3, 5, 5.5, 30, 31]),  # "and" stops at false: no error
        ("> 3, != 3", [-1, 0, 0.5, 1, 2.5, 5, 5.5, 30, 31]),
        ("!= 3, > 3", [None, -1, 0, 0.5, 1, 2.5, 5, 5.5, 30, 31]),
    ],
)
def test_an_error_anywhere_fails_the_cell_as_in_zen(text: str, expected: list[Value]) -> None:
    assert matching(text, "number", NUMBERS) == expected


FLOATS: list[Value] = [None, 0.29, 0.29999999999999993, 0.3, 0.1 + 0.2, 0.30000000000000010, 1.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("== 0.3", [0.3, 0.1 + 0.2]),  # 0.1 + 0.2 reads as 0.3000000000000000 in ZEN
        ("> 0.3", [0.30000000000000010, 1.0]),
        (">= 0.3", [0.3, 0.1 + 0.2, 0.30000000000000010, 1.0]),
        ("< 0.3", [0.29, 0.29999999999999993]),
        ("<= 0.3", [0.29, 0.29999999999999993, 0.3, 0.1 + 0.2]),
        ("(0.3..1)", [0.30000000000000010]),
        ("not in [0.3, 1]", [None, 0.29, 0.29999999999999993, 0.30000000000000010]),
    ],
)
def test_floats_compare_as_zen_reads_them(text: str, expected: list[Value]) -> None:
    assert matching(text, "number", FLOATS) == expected


def test_zen_eval_reports_errors_as_none() -> None:
    assert zen_eval(parse_cell("> 3"), None) is None
    assert zen_eval(parse_cell("> 3"), "T1") is None
    assert zen_eval(parse_cell('"T1", > 3'), "T1") is True
    assert zen_eval(parse_cell("null, > 3"), None) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"T4"', ["T4"]),
        ("'T4'", ["T4"]),
        ('"T4", "T5"', ["T4", "T5"]),
        ('["T4", "T5"]', ["T4", "T5"]),
        ('== "T1"', ["T1"]),
        ('!= "T1"', [None, "T2", "T4", "T5", "x"]),
        ('not in ["T1"]', [None, "T2", "T4", "T5", "x"]),
        ('not in ["T1", "T2"]', [None, "T4", "T5", "x"]),
        ('not in ["T1", null]', ["T2", "T4", "T5", "x"]),
        ('!= "T1" and != "T2"', [None, "T4", "T5", "x"]),
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('d("2025-01-01")', [date(2025, 1, 1)]),
        ('>= d("2025-01-01")', [date(2025, 1, 1), date(2025, 1, 15)]),
        ('< d("2025-01-01")', [date(2024, 12, 31)]),
        ('>= d("2025-01-01") and < d("2025-01-10")', [date(2025, 1, 1)]),
        ('!= d("2025-01-01")', [None, date(2024, 12, 31), date(2025, 1, 15)]),
        ('[d("2025-01-01"), null]', [None, date(2025, 1, 1)]),
        ('not in [d("2025-01-01"), d("2025-01-15")]', [None, date(2024, 12, 31)]),
        ('> d("2025-01-01"), null', [date(2025, 1, 15)]),  # the order test errors on null first
    ],
)
def test_date_cells_compare_calendar_days(text: str, expected: list[Value]) -> None:
    assert matching(text, "date", DATES) == expected


def test_integer_inputs_use_number_cells() -> None:
    assert matching("[1..29]", "integer", [None, 0, 1, 29, 30]) == [1, 29]


def test_values_of_another_type_never_match_a_literal() -> None:
    assert cell_predicate(parse_cell("1"))(True) is False
    assert cell_predicate(parse_cell('"1"'))(1) is False
    assert cell_predicate(parse_cell(">= 0"))("5") is False
    assert cell_predicate(parse_cell("true"))(1) is False
    assert cell_predicate(parse_cell('d("2025-01-01")'))("2025-01-01") is False


def test_nan_counts_as_null_in_row_form() -> None:
    nan = math.nan
    assert cell_predicate(parse_cell("null"))(nan) is True
    assert cell_predicate(parse_cell(">= 0, < 0"))(nan) is False
    assert cell_predicate(parse_cell("not in [1..2]"))(nan) is False


def test_cells_parse_to_a_typed_form() -> None:
    text = '>= 30, "a", [1..2) and not in [1, null], d("2025-02-28")'
    assert parse_cell(text) == Cell(
        text,
        (
            Compare(">=", 30.0),
            Compare("==", "a"),
            Interval(1.0, 2.0, low_closed=True, high_closed=False),
            Member((1.0, None), negated=True),
            Compare("==", date(2025, 2, 28)),
        ),
        ("or", "or", "and", "or"),
    )
    assert parse_cell("'say \"hi\"'").tests == (Compare("==", 'say "hi"'),)
    assert parse_cell("not in [1..5]").tests == (Interval(1.0, 5.0, True, True, outside=True),)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        (">= ", 3, "expected a number"),
        ("]1..5[", 0, "reversed interval"),
        ("[1..5[", 5, "reversed interval"),
        ("[5..1]", 0, "empty"),
        ("(1..1]", 0, "empty"),
        ('< "a"', 0, "needs a number or a date"),
        ("[1..'x']", 4, "must be a number"),
        ("x", 0, "unsupported 'x'"),
        ("1 2", 2, "join tests"),
        ("contains($, 'a')", 0, "unsupported 'contains'"),
        ('"open', 0, "unexpected character"),
        ('not("T1")', 0, "not(...) is refused"),
        ('not in "T1"', 7, "expected a list"),
        ("1e999", 0, "too large"),
        ('date("2025-01-01")', 0, "Unix timestamp"),
        ('d("2025-02-30")', 0, "not a calendar date"),
        ("d(1)", 2, "quoted date"),
        ("$ > 3", 0, "unsupported '$'"),
        # zen-engine refuses these too, so a table holding them could not be exported to it
        (r'"say \"hi\""', 9, "strings have no escapes"),
        ("1E3", 1, "unexpected 'E3'"),
        ("1.00000000000000000000000000001", 0, "too precise"),
        ("foo(1)", 0, "unsupported 'foo'"),
        ("> 1 + 2", 2, "plain literals"),
        ("[1, 2,]", 6, "found ']'"),
        ("a = 1", 0, "assignment"),
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
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (2.5, "2.5"),
        ("x", "x"),
        (date(2025, 1, 31), 'd("2025-01-31")'),
    ],
)
def test_yaml_scalars_become_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


# -- property: the three forms agree for every cell and value ---------------------------------

_k = st.sampled_from([-2, -1, -0.5, 0, 0.5, 1, 2, 3])
_number_test = st.one_of(
    st.builds(lambda op, k: f"{op} {k}", st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _k),
    st.builds(str, _k),
    st.builds(
        lambda neg, lo, hi, left, right: f"{neg}{left}{min(lo, hi)}..{max(lo, hi) + 1}{right}",
        st.sampled_from(["", "not in ", "in "]),
        _k,
        _k,
        st.sampled_from("[("),
        st.sampled_from("])"),
    ),
    st.builds(lambda a, b, neg: f"{neg}[{a}, {b}]", _k, _k, st.sampled_from(["", "not in "])),
    st.sampled_from(["null", "== null", "!= null", "not in [1, null]"]),
)
_number_cell = st.builds(
    lambda tests, joins: "".join(
        f"{t}{j}" for t, j in zip(tests, [*joins[: len(tests) - 1], ""], strict=True)
    ),
    st.lists(_number_test, min_size=1, max_size=4),
    st.lists(st.sampled_from([", ", " or ", " and "]), min_size=3, max_size=3),
)
_values = st.lists(
    st.one_of(st.none(), _k, st.sampled_from([1.5, 2.5, math.nan, 10, -7]), st.integers(-3, 4)),
    min_size=1,
    max_size=20,
)


@settings(max_examples=400, deadline=None)
@given(text=_number_cell, values=_values)
def test_row_form_vectorized_form_and_reference_agree_on_any_number_cell(
    text: str, values: list[Value]
) -> None:
    all_forms(text, "number", values)
