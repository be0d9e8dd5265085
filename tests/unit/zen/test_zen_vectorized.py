"""``to_polars`` gives exactly the row-wise results, on every row, for every column type.

Hypothesis draws typed columns (integers, floats near the literals -- 0.30000000000000004,
NaN, infinities, huge values --, strings, booleans, nulls) and expressions or cells; each row
of the Polars result must equal the row-wise evaluation, a row-wise error being a null.
"""

from __future__ import annotations

import random
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zen_fuzz import VECTOR_CELLS, vector_expression

from repayguard.rules.zen import (
    ZenError,
    compile_expression,
    compile_unary,
    parse_expression,
    parse_unary,
    to_polars,
)

ROWS = 16
DTYPES: dict[str, pl.DataType] = {
    "i": pl.Int64(),
    "f": pl.Float64(),
    "s": pl.String(),
    "b": pl.Boolean(),
    "n": pl.Null(),
}
ints = st.one_of(
    st.none(),
    st.sampled_from([0, 1, -1, 5, 29, 30, 31, 100, -7]),
    st.integers(-(2**63), 2**63 - 1),
)
floats = st.one_of(
    st.none(),
    st.sampled_from(
        [
            0.0,
            -0.0,
            0.3,
            0.30000000000000004,
            0.29999999999999993,
            29.5,
            29.499999999999996,
            30.0,
            30.000000000000004,
            29.999999999999996,
            1e-7,
            9.999999999999999e-8,
            2.5,
            7.9e28,
            1e30,
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
)
strings = st.one_of(st.none(), st.sampled_from(["", "a", "T4", "T5", "x y", "0.3"]))
bools = st.one_of(st.none(), st.booleans())


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "i": pl.Series(draw(st.lists(ints, min_size=ROWS, max_size=ROWS)), dtype=pl.Int64),
            "f": pl.Series(draw(st.lists(floats, min_size=ROWS, max_size=ROWS)), dtype=pl.Float64),
            "s": pl.Series(draw(st.lists(strings, min_size=ROWS, max_size=ROWS)), dtype=pl.String),
            "b": pl.Series(draw(st.lists(bools, min_size=ROWS, max_size=ROWS)), dtype=pl.Boolean),
            "n": pl.Series([None] * ROWS, dtype=pl.Null),
        }
    )


def column_of(path: tuple[str, ...]) -> tuple[pl.Expr, pl.DataType] | None:
    if len(path) == 1 and path[0] in DTYPES:
        return pl.col(path[0]), DTYPES[path[0]]
    return None


def row_wise(source: str, row: dict[str, Any], dollar: str | None) -> Any:
    try:
        if dollar is not None:
            return compile_unary(source).test(row[dollar], row)
        return compile_expression(source).evaluate(row)
    except ZenError:
        return None


def assert_rows_agree(df: pl.DataFrame, source: str, expr: pl.Expr, dollar: str | None) -> None:
    got = df.with_columns(expr.alias("\x00r"))["\x00r"].to_list()  # literals broadcast
    for row, value in zip(df.to_dicts(), got, strict=True):
        want = row_wise(source, row, dollar)
        assert type(value) is type(want), (source, row, value, want)
        assert value == want, (source, row, value, want)


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(df=frames(), seed=st.integers(0, 2**32))
def test_vectorized_expressions_equal_row_wise_evaluation(df: pl.DataFrame, seed: int) -> None:
    source = vector_expression(random.Random(seed))
    try:
        node = parse_expression(source)
    except ZenError:
        return
    expr = to_polars(node, column_of)
    if expr is not None:
        assert_rows_agree(df, source, expr, None)


@SETTINGS
@given(df=frames(), cell=st.sampled_from(VECTOR_CELLS), column=st.sampled_from(sorted(DTYPES)))
def test_vectorized_cells_equal_row_wise_tests(df: pl.DataFrame, cell: str, column: str) -> None:
    expr = to_polars(parse_unary(cell), column_of, dollar=(pl.col(column), DTYPES[column]))
    assert expr is not None, f"{cell} on a {DTYPES[column]} column is not vectorized"
    assert_rows_agree(df, cell, expr, column)


def test_the_core_subset_is_vectorized() -> None:
    rng = random.Random(11)
    translated = sum(
        to_polars(parse_expression(vector_expression(rng)), column_of) is not None
        for _ in range(400)
    )
    assert translated > 200  # the rest use float arithmetic, float results and the like


@pytest.mark.parametrize(
    "source",
    [
        "i * 2 + 1 > 10",
        "f >= 0.3 and s == 'T4'",
        "(i ?? 0) > 3 ? 'high' : 'low'",
        "s in ['a', 'T4'] or not b",
        "f in (0.3..30]",
        "i != null and i < 5",
        "n ?? i",
    ],
)
def test_common_decision_expressions_are_vectorized(source: str) -> None:
    assert to_polars(parse_expression(source), column_of) is not None


@pytest.mark.parametrize(
    "source",
    [
        "f * 2",  # float arithmetic needs the engine's decimals
        "f == f",  # two floats may read as the same decimal
        "len(s)",
        "upper(s) == 'A'",
        "i / 2",
        "missing > 1",  # unknown column
        "date('now') > i",  # the clock
    ],
)
def test_what_cannot_be_exact_is_declined(source: str) -> None:
    assert to_polars(parse_expression(source), column_of) is None


def test_a_column_without_a_dtype_is_declined() -> None:
    assert to_polars(parse_expression("i > 1"), lambda path: pl.col("i")) is None
