"""The binary operators of ZEN and member access, value by value as zen-engine's VM runs them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Final

from repayguard.rules.zen import numbers
from repayguard.rules.zen.errors import ZenEvaluationError, ZenUnsupported
from repayguard.rules.zen.values import IntervalValue, Value, equals


def _fail(message: str) -> ZenEvaluationError:
    return ZenEvaluationError(message)


def fetch(target: Value, key: Value) -> Value:
    """``target[key]`` / ``target.key``: null for a missing key or a mismatched type."""
    if isinstance(target, dict):
        return target.get(key) if isinstance(key, str) else None
    if isinstance(key, Decimal) and type(target) in (list, str):
        index = numbers.to_index(key)
        if index is None:
            raise _fail("Opcode Fetch: Failed to convert to usize")
        if isinstance(target, list):
            return target[index] if index < len(target) else None
        encoded = target.encode()
        if index < len(encoded) and encoded[index] < 0x80:
            return chr(encoded[index])
        return None
    return None


def _compare(
    name: str, test: Callable[[Decimal, Decimal], bool]
) -> Callable[[Value, Value], Value]:
    def run(a: Value, b: Value) -> Value:
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            return test(a, b)
        raise _fail(f"Opcode {name}: Unsupported type")

    return run


def _arith(name: str, op: Callable[[Decimal, Decimal], Value]) -> Callable[[Value, Value], Value]:
    def run(a: Value, b: Value) -> Value:
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            return op(a, b)
        raise _fail(f"Opcode {name}: Unsupported type")

    return run


def _add(a: Value, b: Value) -> Value:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return numbers.add(a, b)
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    raise _fail("Opcode Add: Unsupported type")


def _power(a: Decimal, b: Decimal) -> Value:
    """a ^ b for whole exponents whose exact result fits, shaped as the engine shapes it:
    ``x ^ 2`` is ``x * x`` (scale doubled), higher powers drop trailing zeros, and a negative
    exponent divides one by the power. The engine's own rounding of wider powers, and its
    series for fractional exponents, are refused rather than imitated."""
    if b != int(b):
        raise ZenUnsupported(
            "a fractional exponent", "zen-engine approximates roots with its own series"
        )
    exponent = int(b)
    if exponent == 0:
        return numbers.ONE
    if a.is_zero():
        return numbers.ZERO
    size = abs(exponent)
    negative, mantissa, scale = numbers.parts(a)
    if scale * size > numbers.MAX_SCALE or (mantissa.bit_length() - 1) * size > 96:
        raise _refuse_power(a, exponent)
    exact = numbers.make(negative and size % 2 == 1, mantissa**size, scale * size)
    if not numbers.fits(exact):
        raise _refuse_power(a, exponent)
    if size == 1:
        exact = a
    elif size >= 3:
        exact = numbers.normalized(exact)
    return exact if exponent > 0 else numbers.divide(numbers.ONE, exact)


def _refuse_power(a: Decimal, exponent: int) -> ZenUnsupported:
    return ZenUnsupported(
        f"the power {numbers.to_text(a)} ^ {exponent}",
        "its digits would need rounding, which zen-engine does its own way",
    )


def is_in(a: Value, b: Value) -> bool:
    """``a in b`` for arrays (same-type elements), ranges (numbers) and objects (keys)."""
    if isinstance(b, list):
        kind = type(a)
        if kind is Decimal or kind is str or kind is bool:
            return any(type(x) is kind and x == a for x in b)
        if a is None:
            return any(x is None for x in b)
    elif isinstance(b, IntervalValue):
        if isinstance(a, Decimal):
            return b.includes(a)
    elif isinstance(b, dict) and isinstance(a, str):
        return a in b
    raise _fail("Opcode In: Unsupported type")


OPERATORS: Final[dict[str, Callable[[Value, Value], Value]]] = {
    "==": equals,
    "!=": lambda a, b: not equals(a, b),
    "<": _compare("Compare", lambda a, b: a < b),
    "<=": _compare("Compare", lambda a, b: a <= b),
    ">": _compare("Compare", lambda a, b: a > b),
    ">=": _compare("Compare", lambda a, b: a >= b),
    "in": is_in,
    "not in": lambda a, b: not is_in(a, b),
    "+": _add,
    "-": _arith("Subtract", numbers.subtract),
    "*": _arith("Multiply", numbers.multiply),
    "/": _arith("Divide", numbers.divide),
    "%": _arith("Modulo", numbers.remainder),
    "^": _arith("Exponent", _power),
}
