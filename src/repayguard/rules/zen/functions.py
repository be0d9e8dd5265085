"""The built-in functions of ZEN (strings, maths, types, objects, dates), as zen-engine runs them.

Each takes already-evaluated argument values and the evaluation frame's clock reading; a wrong
argument type raises ZenEvaluationError with the engine's wording. Closure functions (map,
filter, ...) live in the evaluator because they evaluate their second argument per element.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Final

from repayguard.rules.zen import dates, numbers
from repayguard.rules.zen.errors import ZenEvaluationError, ZenUnsupported
from repayguard.rules.zen.values import IntervalValue, Value, equals, to_text, type_name

Clock = Callable[[], datetime]
Function = Callable[[list[Value], Clock], Value]

# Rust's str::trim removes Unicode White_Space, which differs slightly from str.strip().
_WHITE_SPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Regex features Python and Rust read differently, or that Rust's engine rejects.
_REGEX_REFUSED: Final = re.compile(r"\(\?[=!<]|\\[1-9]|\(\?P[=>]|\\[ZAzbBG]|\$|\\p|\\P|\[\[:")


def _err(name: str, message: str) -> ZenEvaluationError:
    return ZenEvaluationError(f"Function `{name}` failed: {message}")


def _str(name: str, args: list[Value], index: int) -> str:
    value = args[index]
    if not isinstance(value, str):
        raise _err(name, f"Argument on {index} is not a string")
    return value


def _num(name: str, args: list[Value], index: int) -> Decimal:
    value = args[index]
    if not isinstance(value, Decimal):
        raise _err(name, f"Argument on {index} is not a number")
    return value


def _arr(name: str, args: list[Value], index: int) -> list[Value]:
    value = args[index]
    if not isinstance(value, list):
        raise _err(name, f"Argument on {index} is not a array")
    return value


def _numbers(name: str, args: list[Value]) -> list[Decimal]:
    items = _arr(name, args, 0)
    if not all(isinstance(v, Decimal) for v in items):
        raise _err(name, "Expected a number array")
    return items


def _len(args: list[Value], now: Clock) -> Value:
    value = args[0]
    if isinstance(value, str):
        return Decimal(len(value.encode()))
    if isinstance(value, list):
        return Decimal(len(value))
    raise _err("len", f"Cannot determine len of type {type_name(value)}")


def _contains(args: list[Value], now: Clock) -> Value:
    a, b = args
    if isinstance(a, str) and isinstance(b, str):
        return b in a
    if isinstance(a, list):
        return any(_same_scalar(item, b) for item in a)
    raise _err("contains", f"Cannot determine contains for type {type_name(a)} and {type_name(b)}")


def _same_scalar(a: Value, b: Value) -> bool:
    return equals(a, b) and not isinstance(a, list | dict | IntervalValue)


def _flatten(args: list[Value], now: Clock) -> Value:
    out: list[Value] = []
    for item in _arr("flatten", args, 0):
        if isinstance(item, list):
            out.extend(item)
        else:
            out.append(item)
    return out


@lru_cache(maxsize=512)
def _regex(name: str, pattern: str) -> re.Pattern[str]:
    if _REGEX_REFUSED.search(pattern):
        raise ZenUnsupported(
            f"the regular expression {pattern!r} in {name}()",
            "anchors ($, \\A, \\z, \\b), look-around, back-references and Unicode classes are "
            "read differently by zen-engine's regex engine",
        )
    try:
        return re.compile(pattern)
    except re.error:
        raise _err(name, "Invalid regular expression") from None


def _matches(args: list[Value], now: Clock) -> Value:
    text, pattern = _str("matches", args, 0), _str("matches", args, 1)
    return _regex("matches", pattern).search(text) is not None


def _extract(args: list[Value], now: Clock) -> Value:
    text, pattern = _str("extract", args, 0), _str("extract", args, 1)
    m = _regex("extract", pattern).search(text)
    if m is None:
        return []
    return [g for g in (m.group(0), *m.groups()) if g is not None]


def _split(args: list[Value], now: Clock) -> Value:
    text, separator = _str("split", args, 0), _str("split", args, 1)
    if separator == "":
        return ["", *text, ""]
    return text.split(separator)


def _min_max(name: str, args: list[Value], pick_max: bool) -> Value:
    items = _arr(name, args, 0)
    if not items or not isinstance(items[0], Decimal):
        raise _err(name, "Empty array" if not items else "Expected a number array")
    if not all(isinstance(v, Decimal) for v in items):
        raise _err(name, "Expected a number array")
    best = items[0]
    for item in items[1:]:
        # Rust's max keeps the last of equal values, min the first.
        if (item >= best) if pick_max else (item < best):
            best = item
    return best


def _sum(args: list[Value], now: Clock) -> Value:
    total = numbers.ZERO
    for item in _numbers("sum", args):
        total = numbers.add(total, item)
    return total


def _avg(args: list[Value], now: Clock) -> Value:
    items = _numbers("avg", args)
    total = numbers.ZERO
    for item in items:
        total = numbers.add(total, item)
    result = numbers.divide(total, Decimal(len(items)))
    if result is None:
        raise _err("avg", "Empty array")
    return result


def _median(args: list[Value], now: Clock) -> Value:
    items = sorted(_numbers("median", args))
    if not items:
        raise _err("median", "Index out of bounds")
    center = len(items) // 2
    if len(items) % 2:
        return items[center]
    result = numbers.divide(numbers.add(items[center - 1], items[center]), Decimal(2))
    assert result is not None
    return result


def _mode(args: list[Value], now: Clock) -> Value:
    counts: dict[Decimal, tuple[Decimal, int]] = {}
    for item in _numbers("mode", args):
        first, seen = counts.get(item, (item, 0))
        counts[item] = (first, seen + 1)
    if not counts:
        raise _err("mode", "Empty array")
    most = max(seen for _, seen in counts.values())
    # Counted in ascending order; the engine keeps the last (largest) of the most common.
    winner = max(k for k, (_, seen) in counts.items() if seen == most)
    return counts[winner][0]


def _places(name: str, args: list[Value]) -> int:
    if len(args) < 2:
        return 0
    places = numbers.to_unsigned(_num(name, args, 1), 32)
    if places is None:
        raise _err(name, "Invalid number of decimal places")
    return places


def _round(args: list[Value], now: Clock) -> Value:
    return numbers.rounded(_num("round", args, 0), _places("round", args), away_from_zero=True)


def _trunc(args: list[Value], now: Clock) -> Value:
    return numbers.truncated(_num("trunc", args, 0), _places("trunc", args))


def _to_bool(args: list[Value], now: Clock) -> Value:
    value = args[0]
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return not value.is_zero()
    if isinstance(value, str):
        stripped = value.strip(_WHITE_SPACE)
        if stripped == "true":
            return True
        if stripped == "false":
            return False
        return value == ""
    return True


def _to_string(args: list[Value], now: Clock) -> Value:
    try:
        return to_text(args[0])
    except ZenEvaluationError as exc:
        raise _err("string", str(exc)) from None


def _parse_number(value: str) -> Decimal | None:
    return numbers.parse_literal(value.strip(_WHITE_SPACE))


def _to_number(args: list[Value], now: Clock) -> Value:
    value = args[0]
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        parsed = _parse_number(value)
        if parsed is None:
            raise _err("number", "Invalid number")
        return parsed
    if isinstance(value, bool):
        return numbers.ONE if value else numbers.ZERO
    raise _err("number", f"Cannot convert type {type_name(value)} to number")


def _is_numeric(args: list[Value], now: Clock) -> Value:
    value = args[0]
    if isinstance(value, Decimal):
        return True
    return isinstance(value, str) and _parse_number(value) is not None


def _keys(args: list[Value], now: Clock) -> Value:
    value = args[0]
    if isinstance(value, list):
        return [Decimal(i) for i in range(len(value))]
    if isinstance(value, dict):
        return list(value)
    raise _err("keys", f"Cannot determine keys of type {type_name(value)}")


def _values(args: list[Value], now: Clock) -> Value:
    value = args[0]
    if not isinstance(value, dict):
        raise _err("values", "Argument on 0 is not a object")
    return list(value.values())


def _dated(name: str, fn: Callable[[Value, datetime], Value]) -> Function:
    def call(args: list[Value], now: Clock) -> Value:
        try:
            return fn(args[0], now())
        except ZenEvaluationError as exc:
            raise _err(name, exc.message) from None

    return call


def _date_part(name: str) -> Function:
    return _dated(name, lambda value, now: dates.part(name, value, now))


def _period(name: str, *, end: bool) -> Function:
    def call(args: list[Value], now: Clock) -> Value:
        try:
            return dates.start_or_end_of(args[0], args[1], now(), end=end)
        except ZenEvaluationError as exc:
            raise _err(name, exc.message) from None

    return call


def _text(name: str, fn: Callable[[str], Value]) -> Function:
    return lambda args, now: fn(_str(name, args, 0))


def _text2(name: str, fn: Callable[[str, str], Value]) -> Function:
    return lambda args, now: fn(_str(name, args, 0), _str(name, args, 1))


def _number(name: str, fn: Callable[[Decimal], Value]) -> Function:
    return lambda args, now: fn(_num(name, args, 0))


_DATE_PARTS: Final = (
    "year",
    "dayOfWeek",
    "dayOfMonth",
    "dayOfYear",
    "weekOfYear",
    "monthOfYear",
    "monthString",
    "dateString",
    "weekdayString",
)

CLOCK_FUNCTIONS: Final = frozenset({"date", "time", *_DATE_PARTS, "startOf", "endOf"})
"""The functions whose result can depend on the evaluation's clock (``now``): an expression
calling one is never a constant, and is not evaluated in columns."""

FUNCTIONS: Final[dict[str, Function]] = {
    "len": _len,
    "contains": _contains,
    "flatten": _flatten,
    "upper": _text("upper", str.upper),
    "lower": _text("lower", str.lower),
    "trim": _text("trim", lambda s: s.strip(_WHITE_SPACE)),
    "startsWith": _text2("startsWith", str.startswith),
    "endsWith": _text2("endsWith", str.endswith),
    "matches": _matches,
    "extract": _extract,
    "split": _split,
    "abs": _number("abs", Decimal.copy_abs),
    "floor": _number("floor", numbers.floor),
    "ceil": _number("ceil", numbers.ceil),
    "round": _round,
    "trunc": _trunc,
    "sum": _sum,
    "avg": _avg,
    "min": lambda args, now: _min_max("min", args, pick_max=False),
    "max": lambda args, now: _min_max("max", args, pick_max=True),
    "median": _median,
    "mode": _mode,
    "isNumeric": _is_numeric,
    "string": _to_string,
    "number": _to_number,
    "bool": _to_bool,
    "type": lambda args, now: type_name(args[0]),
    "keys": _keys,
    "values": _values,
    "date": _dated("date", dates.date_function),
    "time": _dated("time", dates.time_function),
    "duration": _dated("duration", lambda value, now: dates.duration_function(value)),
    **{name: _date_part(name) for name in _DATE_PARTS},
    "startOf": _period("startOf", end=False),
    "endOf": _period("endOf", end=True),
}
