"""The built-in functions of ZEN by name: argument counts, closures, and what repayguard refuses."""

from __future__ import annotations

from typing import Final, Literal

from repayguard.rules.zen import ast

# name -> (fewest arguments, most arguments)
ARITY: Final[dict[str, tuple[int, int]]] = {
    # general, strings, maths, types, objects
    "len": (1, 1), "contains": (2, 2), "flatten": (1, 1),
    "upper": (1, 1), "lower": (1, 1), "trim": (1, 1), "startsWith": (2, 2),
    "endsWith": (2, 2), "matches": (2, 2), "extract": (2, 2), "fuzzyMatch": (2, 2),
    "split": (2, 2),
    "abs": (1, 1), "sum": (1, 1), "avg": (1, 1), "min": (1, 1), "max": (1, 1),
    "rand": (1, 1), "median": (1, 1), "mode": (1, 1), "floor": (1, 1), "ceil": (1, 1),
    "round": (1, 2), "trunc": (1, 2),
    "isNumeric": (1, 1), "string": (1, 1), "number": (1, 1), "bool": (1, 1), "type": (1, 1),
    "keys": (1, 1), "values": (1, 1),
    "d": (0, 2),
    # dates as Unix timestamps (the engine's original date functions)
    "date": (1, 1), "time": (1, 1), "duration": (1, 1), "year": (1, 1), "dayOfWeek": (1, 1),
    "dayOfMonth": (1, 1), "dayOfYear": (1, 1), "weekOfYear": (1, 1), "monthOfYear": (1, 1),
    "monthString": (1, 1), "dateString": (1, 1), "weekdayString": (1, 1),
    "startOf": (2, 2), "endOf": (2, 2),
    # closures: (array, per-element expression using #)
    "all": (2, 2), "none": (2, 2), "some": (2, 2), "one": (2, 2), "filter": (2, 2),
    "map": (2, 2), "flatMap": (2, 2), "count": (2, 2),
}  # fmt: skip

CLOSURES: Final = frozenset({"all", "none", "some", "one", "filter", "map", "flatMap", "count"})

UNSUPPORTED: Final[dict[str, str]] = {
    "d": "date objects and their methods are not supported; use date(...) timestamps",
    "rand": "random numbers would make decisions irreproducible",
    "fuzzyMatch": "the engine's similarity score is a binary float that is not reproduced",
}

# In a unary test, a bare call either is compared with $ ("==" or "in") or is the test itself.
_COMPARED_BY_EQUALITY: Final = (
    "len upper lower trim abs sum avg min max rand median mode floor ceil round trunc string "
    "number bool fuzzyMatch type date time duration year dayOfWeek dayOfMonth dayOfYear "
    "weekOfYear monthOfYear monthString dateString weekdayString startOf endOf count d"
)
_COMPARED_BY_MEMBERSHIP: Final = "flatten extract split keys values filter map flatMap"
UNARY_COMPARE: Final[dict[str, str]] = {
    **dict.fromkeys(_COMPARED_BY_EQUALITY.split(), "=="),
    **dict.fromkeys(_COMPARED_BY_MEMBERSHIP.split(), "in"),
}
UNARY_AS_TEST: Final = frozenset(
    "contains startsWith endsWith matches isNumeric all none some one".split()  # noqa: SIM905
)

_ARITHMETIC: Final = frozenset({"+", "-", "*", "/", "%", "^"})
Behaviour = Literal["==", "in", "test"]


def unary_behaviour(node: ast.Node) -> Behaviour:
    """How a bare value in a unary test is used: compared with ``$`` by ``==`` or ``in``, or
    taken as the test itself (boolean expressions), exactly as zen-engine decides."""
    match node:
        case ast.Array() | ast.Slice() | ast.Interval():
            return "in"
        case ast.Pointer() | ast.Closure():
            return "test"
        case ast.Conditional(_, on_true, on_false):
            a, b = unary_behaviour(on_true), unary_behaviour(on_false)
            return a if a == b else "=="
        case ast.Unary(_, operand):
            return unary_behaviour(operand)
        case ast.Parenthesized(inner):
            return unary_behaviour(inner)
        case ast.Binary(operator, left, right):
            if operator in _ARITHMETIC:
                a, b = unary_behaviour(left), unary_behaviour(right)
                return a if a == b else "=="
            return "test"
        case ast.Call(name, _):
            if name in UNARY_AS_TEST:
                return "test"
            return "in" if UNARY_COMPARE.get(name) == "in" else "=="
        case _:
            return "=="
