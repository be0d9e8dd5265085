"""Vectorized ZEN: the exact subset of expressions that runs as one Polars expression.

Only constructs whose Polars form gives exactly the row-wise result are translated; anything
else returns None and the caller evaluates row by row. Rows on which the row-wise evaluation
raises come out as null, so an expression is only translated when null cannot also be a
legitimate result (a unary test, a comparison, arithmetic on integers...).

Columns must come with their dtype (``column_of`` returns ``(expr, dtype)``); a bare
expression of unknown dtype is not translated. Float columns are compared exactly: the engine
reads a float as a decimal of ~16 digits, and since that reading is monotonic, ``x > 0.3``
becomes ``x > t`` for the largest float ``t`` the engine reads as at most 0.3. Arithmetic is
translated for integer columns (in 128-bit integers, with the engine's 96-bit overflow).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, TypeAlias

import polars as pl

from repayguard.rules.zen import ast, floats, numbers, tree
from repayguard.rules.zen.errors import ZenError
from repayguard.rules.zen.evaluator import Frame, compile_node
from repayguard.rules.zen.functions import CLOCK_FUNCTIONS
from repayguard.rules.zen.values import IntervalValue, Value

Kind = Literal["int", "float", "str", "bool", "null"]
ColumnRef: TypeAlias = pl.Expr | tuple[pl.Expr, pl.DataType]
ColumnOf: TypeAlias = Callable[[tuple[str, ...]], ColumnRef | None]

_INT_DTYPES: Final = (
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
)
_LIMIT: Final = numbers.MAX_MANTISSA
_FALSE: Final = pl.lit(False)


@dataclass(frozen=True, slots=True)
class _Col:
    """A column-valued subexpression: ``value`` (null where null or where the row errors),
    ``error`` (True where the row-wise evaluation raises), and its static ``kind``."""

    value: pl.Expr
    error: pl.Expr
    kind: Kind
    nullable: bool
    may_error: bool


@dataclass(frozen=True, slots=True)
class _Const:
    """A subexpression without context references, evaluated once."""

    value: Value


_V: TypeAlias = _Col | _Const


class _Refuse(Exception):
    """The subexpression has no exact vectorized form."""


def to_polars(
    node: ast.Node, column_of: ColumnOf, *, dollar: ColumnRef | None = None
) -> pl.Expr | None:
    """A Polars expression computing ``node`` per row exactly as row-wise evaluation does,
    or None when that cannot be guaranteed. ``column_of(path)`` gives the column of a context
    path as ``(expr, dtype)``; ``dollar`` the tested value of a unary test."""
    try:
        result = _Translator(column_of, dollar).visit(node)
    except _Refuse:
        return None
    if isinstance(result, _Const):
        if isinstance(result.value, list | dict | IntervalValue):
            return None
        return pl.lit(_host_scalar(result.value))
    if result.kind == "float" or (result.nullable and result.may_error):
        return None
    value = result.value.cast(pl.Float64) if result.kind == "int" else result.value
    if not result.may_error:
        return value
    return pl.when(result.error).then(None).otherwise(value)


def _host_scalar(value: Value) -> object:
    if isinstance(value, Decimal):
        return floats.to_float(value)
    return value


def _kind_of(dtype: pl.DataType) -> Kind:
    if isinstance(dtype, _INT_DTYPES):
        return "int"
    if isinstance(dtype, pl.Float32 | pl.Float64):
        return "float"
    if isinstance(dtype, pl.String):
        return "str"
    if isinstance(dtype, pl.Boolean):
        return "bool"
    if isinstance(dtype, pl.Null):
        return "null"
    raise _Refuse


class _Translator:
    def __init__(self, column_of: ColumnOf, dollar: ColumnRef | None) -> None:
        self.column_of = column_of
        self.dollar = dollar

    def column(self, ref: ColumnRef | None) -> _Col:
        if ref is None or not isinstance(ref, tuple):
            raise _Refuse
        expr, dtype = ref
        kind = _kind_of(dtype)
        if kind == "int":
            expr = expr.cast(pl.Int128)
            error = _FALSE
            may_error = False
        elif kind == "float":
            expr = expr.cast(pl.Float64)
            error = expr.is_nan() | (expr.abs() > floats.max_float())
            may_error = True
        else:
            error = _FALSE
            may_error = False
        return _Col(expr, error.fill_null(False), kind, nullable=True, may_error=may_error)

    def visit(self, node: ast.Node) -> _V:
        if not _reads_context(node):
            return self.constant(node)
        match node:
            case ast.Identifier("$") if self.dollar is not None:
                return self.column(self.dollar)
            case ast.Identifier() | ast.Member():
                path = tree.static_path(node)
                if path is None or path[0] == "$":
                    raise _Refuse
                return self.column(self.column_of(path))
            case ast.Parenthesized(inner):
                return self.visit(inner)
            case ast.Unary(operator, operand):
                return self.unary(operator, self.visit(operand))
            case ast.Binary(operator, left, right):
                return self.binary(operator, left, right)
            case ast.Conditional(cond, on_true, on_false):
                return self.conditional(self.visit(cond), self.visit(on_true), self.visit(on_false))
            case ast.Call("bool", (argument,)):
                return self.to_bool(self.visit(argument))
        raise _Refuse

    def constant(self, node: ast.Node) -> _Const:
        if _uses_clock(node):
            raise _Refuse
        try:
            return _Const(compile_node(node)(Frame({}, None)))
        except ZenError:
            raise _Refuse from None

    # -- helpers ------------------------------------------------------------------------

    def as_col(self, v: _V) -> _Col:
        if isinstance(v, _Col):
            return v
        value = v.value
        if value is None:
            return _Col(pl.lit(None), _FALSE, "null", nullable=True, may_error=False)
        if isinstance(value, bool):
            return _Col(pl.lit(value), _FALSE, "bool", nullable=False, may_error=False)
        if isinstance(value, str):
            return _Col(pl.lit(value), _FALSE, "str", nullable=False, may_error=False)
        if isinstance(value, Decimal) and value == int(value) and abs(value) <= _LIMIT:
            return _Col(pl.lit(int(value), dtype=pl.Int128), _FALSE, "int", False, False)
        raise _Refuse

    def unary(self, operator: str, v: _V) -> _V:
        col = self.as_col(v)
        if operator == "+":
            return col
        if operator == "-" and col.kind == "int":
            negated = pl.lit(0, dtype=pl.Int128) - col.value  # Int128 has no neg kernel
            return _Col(negated, col.error | col.value.is_null(), "int", False, True)
        if operator == "!" and col.kind == "bool":
            return _Col(~col.value, col.error | col.value.is_null(), "bool", False, True)
        if operator in "-!" and col.kind in ("str", "null", "bool", "int"):
            return _always_error()
        raise _Refuse

    def to_bool(self, v: _V) -> _Col:
        col = self.as_col(v)
        if col.kind == "bool":
            return _Col(col.value.fill_null(False), col.error, "bool", False, col.may_error)
        if col.kind == "null":
            return _Col(_FALSE, col.error, "bool", False, col.may_error)
        raise _Refuse

    def binary(self, operator: str, left_node: ast.Node, right_node: ast.Node) -> _V:
        left, right = self.visit(left_node), self.visit(right_node)
        if operator in ("and", "or"):
            return self.logical(operator, self.as_col(left), self.as_col(right))
        if operator == "??":
            return self.nullish(self.as_col(left), self.as_col(right))
        if operator in ("==", "!="):
            result = self.equality(left, right)
            if operator == "!=":
                return _Col(~result.value, result.error, "bool", False, result.may_error)
            return result
        if operator in ("<", "<=", ">", ">="):
            return self.compare(operator, left, right)
        if operator in ("in", "not in"):
            result = self.membership(left, right)
            if operator == "not in":
                return _Col(~result.value, result.error, "bool", False, result.may_error)
            return result
        if operator in ("+", "-", "*"):
            return self.arithmetic(operator, self.as_col(left), self.as_col(right))
        raise _Refuse

    def logical(self, operator: str, a: _Col, b: _Col) -> _Col:
        if a.kind != "bool" or b.kind != "bool":
            raise _Refuse
        a_bad = a.error | a.value.is_null()
        if operator == "and":
            value = a.value & b.value
            takes_b = a.value.fill_null(False)
        else:
            value = a.value | b.value
            takes_b = ~a.value.fill_null(True)
        error = a_bad | (takes_b & (b.error | b.value.is_null()))
        return _Col(value, error, "bool", False, True)

    def nullish(self, a: _Col, b: _Col) -> _Col:
        if a.kind == "null":
            return b
        if a.kind != b.kind and b.kind != "null":
            raise _Refuse
        error = a.error | (a.value.is_null() & ~a.error & b.error)
        return _Col(
            pl.coalesce(a.value, b.value), error, a.kind, b.nullable, a.may_error or b.may_error
        )

    def conditional(self, c: _V, t: _V, f: _V) -> _Col:
        cond, yes, no = self.as_col(c), self.as_col(t), self.as_col(f)
        if cond.kind != "bool" or yes.kind != no.kind:
            raise _Refuse
        chosen = cond.value.fill_null(False)
        error = cond.error | cond.value.is_null() | (chosen & yes.error) | (~chosen & no.error)
        value = pl.when(chosen).then(yes.value).otherwise(no.value)
        return _Col(value, error, yes.kind, yes.nullable or no.nullable, True)

    def equality(self, left: _V, right: _V) -> _Col:
        if isinstance(left, _Const):
            left, right = right, left
        assert isinstance(left, _Col)
        if isinstance(right, _Const):
            return self.equals_constant(left, right.value)
        if left.kind != right.kind or left.kind == "float":
            if left.kind == "float" or right.kind == "float":
                raise _Refuse
            same = left.value.is_null() & right.value.is_null()
        else:
            same = (left.value == right.value).fill_null(False) | (
                left.value.is_null() & right.value.is_null()
            )
        return _Col(
            same, left.error | right.error, "bool", False, left.may_error or right.may_error
        )

    def equals_constant(self, col: _Col, value: Value) -> _Col:
        if value is None:
            match = col.value.is_null()
        elif isinstance(value, list | dict | IntervalValue):
            match = _FALSE
        elif col.kind == "int" and isinstance(value, Decimal):
            match = (col.value == int(value)).fill_null(False) if value == int(value) else _FALSE
        elif col.kind == "float" and isinstance(value, Decimal):
            low, high = floats.float_range(value)
            match = (
                ((col.value >= low) & (col.value <= high)).fill_null(False)
                if low <= high
                else _FALSE
            )
        elif col.kind in ("str", "bool") and type(value) is (str if col.kind == "str" else bool):
            match = (col.value == pl.lit(value)).fill_null(False)
        else:
            match = _FALSE
        if isinstance(match, pl.Expr) and match is not _FALSE:
            match = match & ~col.error
        return _Col(match, col.error, "bool", False, col.may_error)

    def compare(self, operator: str, left: _V, right: _V) -> _Col:
        if isinstance(left, _Const) and isinstance(right, _Col):
            flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[operator]
            return self.compare(flipped, right, left)
        assert isinstance(left, _Col)
        bad = left.error | left.value.is_null()
        if isinstance(right, _Const):
            if not isinstance(right.value, Decimal) or left.kind not in ("int", "float"):
                return _always_error()
            value = _threshold(left, operator, right.value)
            return _Col(value, bad, "bool", False, True)
        if left.kind == right.kind == "int":
            ops = {"<": pl.Expr.lt, "<=": pl.Expr.le, ">": pl.Expr.gt, ">=": pl.Expr.ge}
            value = ops[operator](left.value, right.value)
            return _Col(value, bad | right.error | right.value.is_null(), "bool", False, True)
        if left.kind in ("int", "float") or right.kind in ("int", "float"):
            raise _Refuse
        return _always_error()

    def membership(self, left: _V, right: _V) -> _Col:
        if not isinstance(right, _Const) or not isinstance(left, _Col):
            raise _Refuse
        container = right.value
        if isinstance(container, IntervalValue):
            if left.kind not in ("int", "float"):
                return _always_error()
            return _Col(
                _interval(left, container), left.error | left.value.is_null(), "bool", False, True
            )
        if isinstance(container, dict) and left.kind == "str":
            value = left.value.is_in(list(container))
            return _Col(value, left.error | left.value.is_null(), "bool", False, True)
        if not isinstance(container, list):
            return _always_error()
        match = _FALSE
        for item in container:
            if isinstance(item, list | dict | IntervalValue):
                continue
            match = match | self.equals_constant(left, item).value
        error = left.error
        if left.kind == "null":
            return _Col(
                pl.lit(any(i is None for i in container)), error, "bool", False, left.may_error
            )
        return _Col(match, error, "bool", False, left.may_error)

    def arithmetic(self, operator: str, a: _Col, b: _Col) -> _Col:
        if operator == "+" and a.kind == b.kind == "str":
            error = a.error | b.error | a.value.is_null() | b.value.is_null()
            return _Col(a.value + b.value, error, "str", False, True)
        if a.kind != "int" or b.kind != "int":
            if a.kind in ("float",) or b.kind in ("float",):
                raise _Refuse
            return _always_error()
        ops = {"+": pl.Expr.add, "-": pl.Expr.sub, "*": pl.Expr.mul}
        value = ops[operator](a.value, b.value)
        error = a.error | b.error | a.value.is_null() | b.value.is_null() | (value.abs() > _LIMIT)
        return _Col(value, error.fill_null(True), "int", False, True)


def _always_error() -> _Col:
    return _Col(pl.lit(None, dtype=pl.Boolean), pl.lit(True), "bool", False, True)


def _reads_context(node: ast.Node) -> bool:
    return bool(tree.referenced_paths(node)) or tree.has(node, (ast.Pointer,))


def _uses_clock(node: ast.Node) -> bool:
    return tree.has(
        node, (ast.Call,), lambda n: isinstance(n, ast.Call) and n.name in CLOCK_FUNCTIONS
    )


def _threshold(col: _Col, operator: str, value: Decimal) -> pl.Expr:
    """``col <op> value`` exactly, for an int or float column (null where the row errors)."""
    ops = {"<": pl.Expr.lt, "<=": pl.Expr.le, ">": pl.Expr.gt, ">=": pl.Expr.ge}
    if col.kind == "int":
        floor_v, ceil_v = math.floor(value), math.ceil(value)
        bound = {"<": ceil_v, "<=": floor_v, ">": floor_v, ">=": ceil_v}[operator]
        return ops[operator](col.value, pl.lit(bound, dtype=pl.Int128))
    # Floats beyond the engine's range are errors (col.error), so a threshold past either end
    # of that range needs no special case.
    return ops[operator](col.value, pl.lit(floats.threshold(operator, value)))


def _interval(col: _Col, interval: IntervalValue) -> pl.Expr:
    ops = {"(": ">", "[": ">=", ")": "<", "]": "<="}
    reversed_ops = {")": "<", "]": "<=", "(": ">", "[": ">="}
    left_op = (
        ops[interval.left_bracket]
        if interval.left_bracket in "(["
        else reversed_ops[interval.left_bracket]
    )
    right_op = {")": "<", "]": "<=", "(": ">", "[": ">="}[interval.right_bracket]
    first = _threshold(col, left_op, interval.left)
    second = _threshold(col, right_op, interval.right)
    if interval.left_bracket in ")]":
        return first | second
    return first & second
