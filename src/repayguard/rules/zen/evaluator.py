"""Row-wise evaluation: a syntax tree compiled once into nested Python closures.

Semantics follow zen-engine's virtual machine operation by operation: ``and``/``or``/``?:``/``!``
need booleans (anything else is an error, null included), ``??`` replaces only null, ``==``
is false across types, ordering compares numbers only, ``/`` and ``%`` by zero give null,
member access on a value of the wrong type gives null, and a negative index is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from repayguard.rules.zen import ast, numbers
from repayguard.rules.zen.errors import ZenEvaluationError, ZenUnsupported
from repayguard.rules.zen.functions import FUNCTIONS
from repayguard.rules.zen.operators import OPERATORS, fetch
from repayguard.rules.zen.signatures import UNSUPPORTED
from repayguard.rules.zen.values import IntervalValue, Value, to_text, to_value, type_name

_MISSING: Final = object()


class Frame:
    """One evaluation: the context (converted on first read of each name), the elements of
    the enclosing closures (innermost last) and the clock reading for ``"now"``."""

    __slots__ = ("_now", "cache", "context", "items")

    def __init__(self, context: Mapping[str, Any], now: datetime | None) -> None:
        self.context = context
        self.cache: dict[str, Value] = {}
        self.items: list[Value] = []
        self._now = now

    def name(self, key: str) -> Value:
        cached = self.cache.get(key, _MISSING)
        if cached is not _MISSING:
            return cached
        value = to_value(self.context.get(key))
        self.cache[key] = value
        return value

    def root(self) -> Value:
        root = to_value(self.context)
        root.update(self.cache)
        return root

    def now(self) -> datetime:
        if self._now is None:
            self._now = datetime.now(UTC)
        return self._now


Compiled = Callable[[Frame], Value]


def _fail(message: str) -> ZenEvaluationError:
    return ZenEvaluationError(message)


def compile_node(node: ast.Node, source: str | None = None) -> Compiled:
    """A closure computing ``node`` on a frame; raises ZenUnsupported for refused constructs."""
    match node:
        case ast.Null():
            return lambda f: None
        case ast.Bool(value) | ast.Number(value) | ast.String(value):
            constant: Value = value
            return lambda f: constant
        case ast.Identifier(name):
            return lambda f: f.name(name)
        case ast.Root():
            return lambda f: f.root()
        case ast.Pointer():
            return lambda f: f.items[-1]
        case ast.Parenthesized(inner) | ast.Closure(inner):
            return compile_node(inner, source)
        case ast.Template(parts):
            return _template(tuple(compile_node(p, source) for p in parts))
        case ast.Array(items):
            fns = tuple(compile_node(i, source) for i in items)
            return lambda f: [fn(f) for fn in fns]
        case ast.Object(entries):
            return _object(
                tuple((compile_node(k, source), compile_node(v, source)) for k, v in entries)
            )
        case ast.Member(target, prop):
            return _member(compile_node(target, source), compile_node(prop, source))
        case ast.Slice(target, start, end):
            return _slice(
                compile_node(target, source),
                None if start is None else compile_node(start, source),
                None if end is None else compile_node(end, source),
            )
        case ast.Interval(lb, left, right, rb):
            return _interval(lb, compile_node(left, source), compile_node(right, source), rb)
        case ast.Conditional(cond, on_true, on_false):
            return _conditional(
                compile_node(cond, source),
                compile_node(on_true, source),
                compile_node(on_false, source),
            )
        case ast.Unary(operator, operand):
            return _unary(operator, compile_node(operand, source))
        case ast.Binary(operator, left, right):
            return _binary(operator, left, right, source)
        case ast.Call(name, arguments):
            return _call(name, arguments, source)
    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover


def _template(parts: tuple[Compiled, ...]) -> Compiled:
    def run(f: Frame) -> Value:
        out = []
        for part in parts:
            try:
                out.append(to_text(part(f)))
            except ZenEvaluationError as exc:
                raise _fail(f"Function `string` failed: {exc.message}") from None
        return "".join(out)

    return run


def _object(entries: tuple[tuple[Compiled, Compiled], ...]) -> Compiled:
    def run(f: Frame) -> Value:
        pairs = []
        for key_fn, value_fn in entries:
            try:
                key = to_text(key_fn(f))
            except ZenEvaluationError as exc:
                raise _fail(f"Function `string` failed: {exc.message}") from None
            pairs.append((key, value_fn(f)))
        out: dict[str, Value] = {}
        for key, value in reversed(pairs):  # the engine builds objects from the last entry
            out[key] = value
        return out

    return run


def _member(target_fn: Compiled, key_fn: Compiled) -> Compiled:
    return lambda f: fetch(target_fn(f), key_fn(f))


def _slice(target_fn: Compiled, start_fn: Compiled | None, end_fn: Compiled | None) -> Compiled:
    def run(f: Frame) -> Value:
        target = target_fn(f)
        if end_fn is None:
            if isinstance(target, str):
                end: Value = numbers.subtract(Decimal(len(target.encode())), numbers.ONE)
            elif isinstance(target, list):
                end = numbers.subtract(Decimal(len(target)), numbers.ONE)
            else:
                raise _fail(f"Opcode Len: Cannot determine len of type {type_name(target)}")
        else:
            end = end_fn(f)
        start = numbers.ZERO if start_fn is None else start_fn(f)
        if not (isinstance(start, Decimal) and isinstance(end, Decimal)):
            raise _fail("Opcode Slice: Unsupported type")
        low, high = numbers.to_index(start), numbers.to_index(end)
        if low is None:
            raise _fail("Opcode Slice: Failed to get range from")
        if high is None:
            raise _fail("Opcode Slice: Failed to get range to")
        if isinstance(target, list):
            if high >= len(target) or low > high + 1:
                raise _fail("Opcode Slice: Index out of range")
            return target[low : high + 1]
        if isinstance(target, str):
            encoded = target.encode()
            if (
                high >= len(encoded)
                or low > high + 1
                or not _boundary(encoded, low)
                or not _boundary(encoded, high + 1)
            ):
                raise _fail("Opcode Slice: Index out of range")
            return encoded[low : high + 1].decode()
        raise _fail("Opcode Slice: Unsupported type")

    return run


def _boundary(encoded: bytes, index: int) -> bool:
    return index >= len(encoded) or (encoded[index] & 0xC0) != 0x80


def _interval(lb: str, left_fn: Compiled, right_fn: Compiled, rb: str) -> Compiled:
    def run(f: Frame) -> Value:
        left, right = left_fn(f), right_fn(f)
        if isinstance(left, Decimal) and isinstance(right, Decimal):
            return IntervalValue(lb, left, right, rb)
        raise _fail("Opcode Interval: Unsupported type")

    return run


def _conditional(cond_fn: Compiled, true_fn: Compiled, false_fn: Compiled) -> Compiled:
    def run(f: Frame) -> Value:
        cond = cond_fn(f)
        if cond is True:
            return true_fn(f)
        if cond is False:
            return false_fn(f)
        raise _fail("Opcode JumpIfFalse: Unsupported type")

    return run


def _unary(operator: str, operand_fn: Compiled) -> Compiled:
    if operator == "+":
        return operand_fn
    if operator == "-":

        def negate(f: Frame) -> Value:
            value = operand_fn(f)
            if isinstance(value, Decimal):
                return value.copy_negate()
            raise _fail("Opcode Negate: Unsupported type")

        return negate

    def logical_not(f: Frame) -> Value:
        value = operand_fn(f)
        if value is True or value is False:
            return not value
        raise _fail("Opcode Not: Unsupported type")

    return logical_not


def _binary(operator: str, left: ast.Node, right: ast.Node, source: str | None) -> Compiled:
    lf, rf = compile_node(left, source), compile_node(right, source)
    if operator == "and":

        def and_(f: Frame) -> Value:
            a = lf(f)
            if a is False:
                return False
            if a is True:
                return rf(f)
            raise _fail("Opcode JumpIfFalse: Unsupported type")

        return and_
    if operator == "or":

        def or_(f: Frame) -> Value:
            a = lf(f)
            if a is True:
                return True
            if a is False:
                return rf(f)
            raise _fail("Opcode JumpIfTrue: Unsupported type")

        return or_
    if operator == "??":

        def nullish(f: Frame) -> Value:
            a = lf(f)
            return rf(f) if a is None else a

        return nullish
    if operator == "^" and isinstance(right, ast.Number) and right.value != int(right.value):
        raise ZenUnsupported(
            "a fractional exponent",
            "zen-engine approximates roots with its own series",
            source=source,
        )
    op = OPERATORS[operator]
    return lambda f: op(lf(f), rf(f))


def _elements(value: Value) -> list[Value]:
    if isinstance(value, list):
        return value
    if isinstance(value, IntervalValue):
        items = value.elements()
        if items is not None:
            return items
    raise _fail("Opcode Begin: Unsupported type")


def _truth(value: Value, opcode: str) -> bool:
    if value is True or value is False:
        return value
    raise _fail(f"Opcode {opcode}: Unsupported type")


def _closure_call(name: str, array_fn: Compiled, body_fn: Compiled) -> Compiled:
    def run(f: Frame) -> Value:
        items = _elements(array_fn(f))
        stack = f.items
        stack.append(None)
        try:
            if name == "map" or name == "flatMap":
                out = []
                for item in items:
                    stack[-1] = item
                    out.append(body_fn(f))
                if name == "map":
                    return out
                flat: list[Value] = []
                for v in out:
                    flat.extend(v) if isinstance(v, list) else flat.append(v)
                return flat
            if name == "filter":
                kept = []
                for item in items:
                    stack[-1] = item
                    if _truth(body_fn(f), "JumpIfFalse"):
                        kept.append(item)
                return kept
            if name == "some":
                for item in items:
                    stack[-1] = item
                    if _truth(body_fn(f), "JumpIfTrue"):
                        return True
                return False
            if name == "all":
                for item in items:
                    stack[-1] = item
                    if not _truth(body_fn(f), "JumpIfFalse"):
                        return False
                return True
            if name == "none":
                for item in items:
                    stack[-1] = item
                    if _truth(body_fn(f), "Not"):
                        return False
                return True
            count = 0
            for item in items:
                stack[-1] = item
                if _truth(body_fn(f), "JumpIfFalse"):
                    count += 1
            return count == 1 if name == "one" else Decimal(count)
        finally:
            stack.pop()

    return run


def _call(name: str, arguments: tuple[ast.Node, ...], source: str | None) -> Compiled:
    if name in UNSUPPORTED:
        raise ZenUnsupported(f"the function {name}()", UNSUPPORTED[name], source=source)
    fns = [compile_node(a, source) for a in arguments]
    if isinstance(arguments[-1], ast.Closure):
        return _closure_call(name, fns[0], fns[1])
    function = FUNCTIONS[name]

    def run(f: Frame) -> Value:
        return function([fn(f) for fn in fns], f.now)

    return run
