"""Runtime values of ZEN and their conversion from and to plain Python values.

Inside the evaluator a value is ``None``, ``bool``, ``Decimal`` (see :mod:`.numbers`), ``str``,
``list``, ``dict`` or an :class:`IntervalValue`. Host values are converted the way zen-engine's
Python binding converts them; results come back as it returns them (every number a ``float``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

from repayguard.rules.zen import floats, numbers
from repayguard.rules.zen.errors import ZenEvaluationError

Value: TypeAlias = Any
"""None | bool | Decimal | str | list[Value] | dict[str, Value] | IntervalValue."""


@dataclass(frozen=True, slots=True)
class IntervalValue:
    """A range value such as ``[1..5)``; membership follows the engine (a reversed left
    bracket, ``]1..5[``, means outside)."""

    left_bracket: str
    left: Decimal
    right: Decimal
    right_bracket: str

    def includes(self, value: Decimal) -> bool:
        left, right = self.left, self.right
        opened = self.left_bracket in ")]"
        if self.left_bracket == "(":
            first = left < value
        elif self.left_bracket == "[":
            first = left <= value
        elif self.left_bracket == ")":
            first = left > value
        else:
            first = left >= value
        if self.right_bracket == ")":
            second = right > value
        elif self.right_bracket == "]":
            second = right >= value
        elif self.right_bracket == "(":
            second = right < value
        else:
            second = right <= value
        return (first or second) if opened else (first and second)

    def elements(self) -> list[Value] | None:
        """The whole numbers of the range (for map/filter over a range); None if it has none
        to offer (reversed brackets or bounds out of range)."""
        low, high = numbers.to_i64(self.left), numbers.to_i64(self.right)
        if (
            low is None
            or high is None
            or self.left_bracket not in "(["
            or self.right_bracket not in ")]"
        ):
            return None
        start = low + 1 if self.left_bracket == "(" else low
        end = high - 1 if self.right_bracket == ")" else high
        return [Decimal(n) for n in range(start, end + 1)]

    def __str__(self) -> str:
        return (
            f"{self.left_bracket}{numbers.to_text(self.left)}.."
            f"{numbers.to_text(self.right)}{self.right_bracket}"
        )


def type_name(value: Value) -> str:
    """The engine's name of a value's type (``type(...)``)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "bool"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "interval"


def equals(a: Value, b: Value) -> bool:
    """``==``: numbers by value, same-type scalars by value, null equals null; arrays, objects
    and ranges are never equal (not even to themselves)."""
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is Decimal or ta is str or ta is bool:
        return bool(a == b)
    return a is None


def to_value(host: Any) -> Value:
    """A host value as the engine reads it; raises ZenEvaluationError for what it rejects
    (integers beyond 64 bits, non-finite or huge floats, non-JSON types)."""
    if host is None or host is True or host is False or isinstance(host, str):
        return host
    if isinstance(host, Decimal):
        if not host.is_finite() or not numbers.fits(host):
            raise ZenEvaluationError(f"the number {host} does not fit the engine's decimals")
        return host
    if isinstance(host, int):
        return numbers.from_int(host)
    if isinstance(host, float):
        return floats.from_float(host)
    if isinstance(host, Mapping):
        out: dict[str, Value] = {}
        for key, item in host.items():
            if not isinstance(key, str):
                raise ZenEvaluationError(f"object keys must be strings, not {key!r}")
            out[key] = to_value(item)
        return out
    if isinstance(host, list | tuple):
        return [to_value(item) for item in host]
    raise ZenEvaluationError(f"a {type(host).__name__} value cannot be passed to an expression")


def to_host(value: Value) -> Any:
    """A result as zen-engine's Python binding returns it: numbers as float, ranges as text."""
    if value is None or value is True or value is False or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return floats.to_float(value)
    if isinstance(value, list):
        return [to_host(item) for item in value]
    if isinstance(value, dict):
        return {key: to_host(item) for key, item in value.items()}
    return str(value)


def to_text(value: Value) -> str:
    """``string(...)``: null, booleans, numbers (with their scale) and strings only."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return numbers.to_text(value)
    raise ZenEvaluationError(f"Cannot convert type {type_name(value)} to string")
