"""The ZEN language as repayguard implements it: grammar, errors, nulls, decimals, closures.

Expected values are zen-engine's (each was checked against the ``zen-engine`` package).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from repayguard.rules.zen import (
    ZenEvaluationError,
    ZenSyntaxError,
    ZenUnsupported,
    compile_expression,
    compile_unary,
    numbers,
    parse_expression,
    parse_unary,
    referenced_paths,
    to_host,
    to_value,
)
from repayguard.rules.zen import ast as z


def ev(source: str, **context: Any) -> Any:
    return compile_expression(source).evaluate(context)


def cell(source: str, value: Any, **context: Any) -> bool:
    return compile_unary(source).test(value, context)


# -- grammar and precedence -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3 ^ 2", 19.0),
        ("2 ^ 3 ^ 2", 512.0),  # right-associative
        ("-2 ^ 2", 4.0),  # prefix minus binds tighter than ^
        ("!true == false", True),  # (!true) == false
        ("not true == false", True),
        ("1 + null ?? 2", 3.0),  # ?? binds tighter than +
        ("2 * 3 ?? 4", 6.0),
        ("true ? 1 : 2 + 10", 1.0),  # the ternary binds loosest
        ("(true ? 1 : 2) + 10", 11.0),
        ("false ? 1 : false ? 2 : 3", 3.0),
        ("true or false and false", True),
        ("7 % 3 * 2", 2.0),
        ("10 - 2 - 3", 5.0),
        ("1_000 + 1e3 + 1.5e-3", 2000.0015),
    ],
)
def test_operators_bind_as_in_zen_engine(source: str, expected: Any) -> None:
    assert ev(source) == expected


def test_expressions_parse_to_a_typed_frozen_tree() -> None:
    tree = parse_expression("a.b + c[0] * 2")
    assert tree == z.Binary(
        "+",
        z.Member(z.Identifier("a"), z.String("b")),
        z.Binary("*", z.Member(z.Identifier("c"), z.Number(Decimal(0))), z.Number(Decimal(2))),
    )
    with pytest.raises(AttributeError):
        tree.operator = "-"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cell_text", "tree"),
    [
        (">= 30", z.Binary(">=", z.Identifier("$"), z.Number(Decimal(30)))),
        ('"T4"', z.Binary("==", z.Identifier("$"), z.String("T4"))),
        (
            "'a', 'b'",
            z.Binary(
                "or",
                z.Binary("==", z.Identifier("$"), z.String("a")),
                z.Binary("==", z.Identifier("$"), z.String("b")),
            ),
        ),
        (
            "[1..5)",
            z.Binary(
                "in",
                z.Identifier("$"),
                z.Interval("[", z.Number(Decimal(1)), z.Number(Decimal(5)), ")"),
            ),
        ),
        (
            "contains($, 'x')",
            z.Call("bool", (z.Call("contains", (z.Identifier("$"), z.String("x"))),)),
        ),
        ("['a']", z.Binary("in", z.Identifier("$"), z.Array((z.String("a"),)))),
    ],
)
def test_unary_cells_are_rewritten_as_zen_engine_rewrites_them(
    cell_text: str, tree: z.Node
) -> None:
    assert parse_unary(cell_text) == tree


@pytest.mark.parametrize(
    ("cell_text", "value", "expected"),
    [
        (">= 30", 30, True),
        (">= 30", 29.99, False),
        ("'T4', 'T5'", "T5", True),
        ("[1..5]", 5, True),
        ("(1..5)", 5, False),
        ("]1..5[", 7, True),  # reversed brackets: outside the range
        ("]1..5[", 3, False),
        ("not in [1..5]", 3, False),
        ("> 1 and < 6", 3, True),
        ("> 1, < 0 and > 3", 2, False),  # joins fold left to right: (> 1 or < 0) and > 3
        ("null", None, True),
        ("!= 'a'", None, True),
        ("$", 1, True),  # a bare name is compared with $
        ("contains($, 'Premium') or contains($, 'Unlimited')", "Unlimited 5G", True),
        ("some($, # in ['U07.1'])", ["A00", "U07.1"], True),
        ("len($) > 2", "abc", True),
        ("$ == 1 ? true : false", 1, False),  # $ == (1 ? ...) once the ternary is bare
    ],
)
def test_unary_cells_test_the_value(cell_text: str, value: Any, expected: bool) -> None:
    assert cell(cell_text, value) is expected


def test_unary_cells_read_other_names_from_the_context() -> None:
    assert cell("!= userProfile.homeCountry", "FR", userProfile={"homeCountry": "DE"})
    assert cell("== 3 and customer.healthScore < 70", 3, customer={"healthScore": 60})


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("1 +", 3, "unexpected end"),
        ("(1 + 2", 6, "')'"),
        ("'abc", 0, "unterminated string"),
        ("foo(1)", 0, "unknown function 'foo'"),
        ("len(1, 2)", 0, "number of arguments"),
        ("a.0", 2, "invalid property"),
        ("1 ~ 2", 2, "unexpected character"),
        ("{a: 1,}", 6, "object key"),
        ("[1, 2] 3", 7, "the end of the expression"),
        ("'hello'[1]", 7, "the end of the expression"),  # string literals take no index
    ],
)
def test_syntax_errors_name_the_position_and_what_was_expected(
    source: str, position: int, fragment: str
) -> None:
    with pytest.raises(ZenSyntaxError) as caught:
        compile_expression(source)
    assert caught.value.position == position
    assert fragment in str(caught.value)
    assert source in str(caught.value)


def test_unary_joins_inside_parentheses_are_a_syntax_error_as_in_zen_engine() -> None:
    with pytest.raises(ZenSyntaxError):
        compile_unary("(true and true)")
    assert cell("some($, # > 1 and # < 5)", [3])  # a closure body keeps its joins


@pytest.mark.parametrize(
    ("source", "construct"),
    [
        ("d('2024-01-01')", "the function d()"),
        ("rand(10)", "the function rand()"),
        ("fuzzyMatch('a', 'b')", "the function fuzzyMatch()"),
        ("2 ^ 0.5", "a fractional exponent"),
        ("x = 1", "assignment (=) and statement lists (;)"),
        ("a.b(1)", "method call .b()"),
    ],
)
def test_refused_constructs_are_named(source: str, construct: str) -> None:
    with pytest.raises(ZenUnsupported) as caught:
        compile_expression(source)
    assert caught.value.construct == construct
    assert "not supported" in str(caught.value)


def test_refusal_can_depend_on_values() -> None:
    power = compile_expression("a ^ b")
    assert power.evaluate({"a": 1.5, "b": 2}) == 2.25
    with pytest.raises(ZenUnsupported):
        power.evaluate({"a": 2, "b": 0.5})


@pytest.mark.parametrize(
    "source",
    [
        "null > 1",  # ordering compares numbers only
        "'a' < 'b'",
        "!null",
        "null and true",  # and/or/?: need booleans
        "1 or true",
        "'a' ? 1 : 2",
        "'a' + 1",
        "len(null)",
        "upper(1)",
        "[1, 2][-1]",  # negative index
        "[1, 2][0:5]",
        "map(null, #)",
        "filter([1, 2], #)",  # a closure test must be boolean
        "max([])",
        "number('abc')",
        "`${[1]}`",
        "79228162514264337593543950335 + 1",  # beyond 96 bits
    ],
)
def test_runtime_errors_match_zen_engine(source: str) -> None:
    with pytest.raises(ZenEvaluationError):
        ev(source)


def test_an_erroring_cell_raises_and_names_its_source() -> None:
    with pytest.raises(ZenEvaluationError) as caught:
        cell("< 5", "text")
    assert "'< 5'" in str(caught.value)


# -- nulls, equality, access ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("null == null", True),
        ("1 == null", False),
        ("'1' == 1", False),  # different types are never equal
        ("1 == 1.0", True),
        ("[1] == [1]", False),  # arrays and objects are never equal
        ("a.b.c", None),  # missing paths are null
        ("a ?? 2", 2.0),
        ("false ?? 2", False),  # ?? replaces null only
        ("false and null", False),
        ("true and null", None),
        ("false or 1", 1.0),
        ("1 / 0", None),  # division and remainder by zero are null
        ("5 % 0", None),
        ("[1, 2][5]", None),
        ("[7, 8, 9][1.5]", 8.0),  # indices are truncated
    ],
)
def test_null_and_equality_semantics(source: str, expected: Any) -> None:
    assert ev(source) == expected
    assert type(ev(source)) is type(expected)


def test_member_access_and_slices() -> None:
    ctx = {"a": {"b": [1, 2, 3]}, "s": "héllo", "k": "b"}
    assert ev("a[k][0]", **ctx) == 1.0
    assert ev("a.b[1:]", **ctx) == [2.0, 3.0]
    assert ev("a.b[:1]", **ctx) == [1.0, 2.0]  # both ends included
    assert ev("a.b[2:1]", **ctx) == []
    assert ev("s[0]", **ctx) == "h"
    assert ev("s[1]", **ctx) is None  # byte 1 starts a two-byte character
    assert ev("$root.k", **ctx) == "b"


def test_object_literals_keep_the_first_of_repeated_keys_and_build_from_the_end() -> None:
    assert ev("{a: 1, a: 2}") == {"a": 1.0}
    assert ev("keys({a: 1, b: 2, c: 3})") == ["c", "b", "a"]
    assert ev("values({a: 1, b: 2, a: 3})") == [1.0, 2.0]
    assert ev("keys(o)", o={"z": 1, "y": 2}) == ["z", "y"]  # context objects keep their order


# -- decimals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("0.1 + 0.2 == 0.3", True),
        ("string(1.10 + 2.20)", "3.30"),  # the scale is part of the value
        ("string(1.10 * 2)", "2.20"),
        ("string(1.0 / 4)", "0.250"),  # the engine's division unscales in 8/4/2/1 steps
        ("string(avg([1, 2]))", "1.50"),
        ("string(100 / 4)", "25"),
        ("string(2 / 3)", "0.6666666666666666666666666667"),
        ("string(10 / 3)", "3.3333333333333333333333333333"),
        ("string(100 / 3 * 3)", "100.00000000000000000000000000"),
        ("string(0.0000000000000000000000000003 * 0.5)", "0.0000000000000000000000000002"),
        ("string(0.0 * 5)", "0"),
        ("string(-(0.0))", "-0.0"),
        ("string(trunc(1.2, 3))", "1.200"),
        ("string(round(1.2345, 2))", "1.23"),
        # A negative product too small for 28 places is -0, and rounding keeps a zero's sign;
        # a non-zero value rounded to zero is positive.
        (
            "string(round(-0.00000000000000000000024244 * 0.0000000000032768677851950310, 5))",
            "-0.00000",
        ),
        ("string(round(-0.0, 2))", "-0.0"),
        ("string(round(-0.004, 2))", "0.00"),
        ("string(2 ^ -1)", "0.50"),
        ("string(1.5 ^ 2)", "2.25"),
        ("1 / 3", 0.33333333333333337),  # the binding's own decimal-to-float steps
        ("1 / 7", 0.14285714285714288),
        ("round(2.5)", 3.0),  # half away from zero
        ("round(-2.5)", -3.0),
        ("-0.0", -0.0),
    ],
)
def test_numbers_are_the_engines_decimals(source: str, expected: Any) -> None:
    result = ev(source)
    assert result == expected
    assert str(result) == str(expected)


def test_host_floats_are_read_as_the_engine_reads_them() -> None:
    assert numbers.to_text(to_value(0.30000000000000004)) == "0.3"
    assert numbers.to_text(to_value(123456.789)) == "123456.789"
    assert numbers.to_text(to_value(7.9e28)) == "78999999999999996926548246528"
    assert ev("a == 0.3", a=0.30000000000000004) is True
    assert to_host(to_value(1)) == 1.0
    assert isinstance(to_host(to_value(1)), float)


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, float("inf"), float("nan"), 1e29, object()])
def test_values_the_engine_rejects_are_rejected(value: Any) -> None:
    with pytest.raises(ZenEvaluationError):
        ev("a", a=value)


# -- closures, templates, functions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("map([1, 2], # * 2)", [2.0, 4.0]),
        ("map([[1, 2], [3]], map(#, # + 1))", [[2.0, 3.0], [4.0]]),  # # is the innermost
        ("filter([1, 2, 3], # > 1 and # < 3)", [2.0]),
        ("some([1, 'a'], # == 1)", True),
        ("all([], # > 0)", True),
        ("none([1], # > 1)", True),
        ("one([1, 2, 3], # > 1)", False),
        ("count([1, 2], # > 1)", 1.0),
        ("flatMap([[1], [2, [3]]], #)", [1.0, 2.0, [3.0]]),
        ("map([1..3], #)", [1.0, 2.0, 3.0]),  # ranges iterate their whole numbers
        ("map((1..3), #)", [2.0]),
        ("sum(map(items, #.p * #.q))", 9.0),
        ("map(items, #.missing)", [None, None]),
    ],
)
def test_closures(source: str, expected: Any) -> None:
    assert ev(source, items=[{"p": 1.5, "q": 2}, {"p": 2, "q": 3}]) == expected


def test_closures_stop_at_the_first_deciding_element() -> None:
    assert ev("some([2, 'a'], # > 1)") is True  # 'a' is never compared
    with pytest.raises(ZenEvaluationError):
        ev("all([1, 'a'], # > 0)")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("`a${1}b${'x'}c`", "a1bxc"),
        ("`${null} ${true} ${1.50}`", "null true 1.50"),
        ("`$a`", "$a"),
        ("`left open", "left open"),  # the engine closes a template at the end of the text
    ],
)
def test_templates(source: str, expected: str) -> None:
    assert ev(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len('héllo')", 6.0),  # bytes, as the engine counts
        ("upper('straße')", "STRASSE"),
        ("trim('  a  ')", "a"),
        ("split('a,,b', ',')", ["a", "", "b"]),
        ("split('abc', '')", ["", "a", "b", "c", ""]),
        ("contains([1, '1', null], null)", True),
        ("contains('abc', 'b')", True),
        ("startsWith('abc', 'ab') and endsWith('abc', 'bc')", True),
        ("matches('abc', '^a')", True),
        ("extract('2023-01-02', '(\\d+)-(\\d+)')", ["2023-01", "2023", "01"]),
        ("number(' 12 ')", 12.0),
        ("number('1e3')", 1000.0),
        ("bool('')", True),  # the engine's own rule: empty is true, other text false
        ("bool('x')", False),
        ("bool(' true ')", True),
        ("string(null)", "null"),
        ("type(1 == 1)", "bool"),
        ("isNumeric(' 5 ')", True),
        ("max([1, 2.5, -1])", 2.5),
        ("median([1, 2, 3, 4])", 2.5),
        ("mode([1, 2, 2, 3])", 2.0),
        ("flatten([[1], [2, [3]]])", [1.0, 2.0, [3.0]]),
        ("abs(-1) + floor(-1.5) + ceil(1.01)", 1.0),
    ],
)
def test_functions(source: str, expected: Any) -> None:
    assert ev(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("date('2023-01-01')", 1672531200.0),
        ("date('2023-01-01 10:20:30')", 1672568430.0),
        ("date('2023-01-01T10:20:30+02:00')", 1672561230.0),
        ("date(1700000000.7)", 1700000000.0),
        ("time('22:00')", 79200.0),
        ("duration('1h 30m')", 5400.0),
        ("dayOfWeek(0)", 4.0),  # 1 January 1970 was a Thursday
        ("monthString(1700000000)", "Nov"),
        ("dateString(1700000000)", "2023-11-14 22:13:20"),
        ("startOf(1700000000, 'day')", 1699920000.0),
        ("endOf(1700000000, 'month')", 1701388799.0),
        ("endOf(date('2023-02-10'), 'year')", 1703807999.0),  # 28 December: the engine's quirk
    ],
)
def test_date_functions(source: str, expected: Any) -> None:
    assert ev(source) == expected


def test_now_is_the_callers_clock() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    expression = compile_expression("date('now') - date(last)")
    assert expression.evaluate({"last": "2026-02-28"}, now=now) == 129600.0
    assert compile_expression("dayOfYear('now')").evaluate({}, now=now) == 60.0


def test_referenced_paths_are_the_context_paths_read() -> None:
    node = parse_expression("a.b['c'] + sum(map(items, #.p)) + x[i] + $.y + $root.z")
    assert referenced_paths(node) == {
        ("a", "b", "c"),
        ("items",),
        ("x",),
        ("i",),
        ("$", "y"),
        ("z",),
    }
    assert referenced_paths(parse_expression("keys($root)")) == {()}  # the whole context
