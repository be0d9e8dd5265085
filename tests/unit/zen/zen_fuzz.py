"""Random ZEN expressions and token soups for differential testing against zen-engine.

``expression(rng)`` writes a well-typed-ish expression over the context names ``a``..``e``
(numbers, strings, booleans, nulls, lists, objects) using every operator, built-in function,
closure, member access, slice, range and template the language has; ``soup(rng)`` strings
tokens together at random to compare what the two parsers accept and reject.
"""

from __future__ import annotations

import random
from typing import Any

NUMBERS = [
    "0", "1", "2", "3", "10", "0.5", "1.50", "2.25", "0.1", "0.2", "0.3", "100", "7", "1_000",
    "1e3", "1.5e-3", "0.0", "12.345", "99.99", "1000000", "0.001", "33.3", "3.14159",
    "79228162514264337593543950335", "0.0000000000000000000000000001", "1e28", "2.",
]  # fmt: skip
STRINGS = [
    "'a'",
    '"b"',
    "'hello world'",
    "''",
    "'A,B'",
    "'2023-05-17'",
    "'10:30'",
    "' x '",
    "'ß'",
    "'é'",
]
NAMES = ["a", "b", "c", "d", "e", "a.x", "a.y", "d[0]", "d[1]", "e.k", "$root.a", "o.k", "o['k']"]
UNARY_FUNCS = [
    "len", "upper", "lower", "trim", "abs", "floor", "ceil", "round", "trunc", "sum", "avg",
    "min", "max", "median", "mode", "string", "number", "bool", "type", "keys", "values",
    "flatten", "isNumeric", "date", "time", "duration", "year", "dayOfWeek", "dayOfMonth",
    "dayOfYear", "weekOfYear", "monthOfYear", "monthString", "dateString", "weekdayString",
]  # fmt: skip
BINARY_FUNCS = [
    "contains",
    "startsWith",
    "endsWith",
    "split",
    "round",
    "trunc",
    "startOf",
    "endOf",
    "matches",
    "extract",
]
CLOSURES = ["map", "filter", "some", "all", "none", "one", "count", "flatMap"]
BINARY_OPS = [
    "+", "-", "*", "/", "%", "^", "==", "!=", "<", "<=", ">", ">=", "and", "or", "??", "in",
    "not in",
]  # fmt: skip
DATE_STRINGS = [
    "'2023-01-01'",
    "'2024-02-29 10:20:30'",
    "'2023-06-15T12:00:00Z'",
    "'22:00'",
    "'1h 30m'",
    "'2 days'",
    "'d'",
    "'month'",
    "'year'",
    "'w'",
]


def scalar(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(NUMBERS)
    if roll < 0.65:
        return rng.choice(STRINGS)
    if roll < 0.75:
        return rng.choice(["true", "false", "null"])
    if roll < 0.85:
        return rng.choice(DATE_STRINGS)
    return rng.choice(NAMES)


def expression(rng: random.Random, depth: int = 0, pointer: bool = False) -> str:
    """A random expression; ``pointer`` allows ``#`` (inside a closure body)."""
    if depth > 3 or rng.random() < 0.25:
        if pointer and rng.random() < 0.4:
            return rng.choice(["#", "#.k", "#.x", "#[0]"])
        return scalar(rng)
    sub = lambda: expression(rng, depth + 1, pointer)  # noqa: E731
    roll = rng.random()
    if roll < 0.30:
        return f"{sub()} {rng.choice(BINARY_OPS)} {sub()}"
    if roll < 0.36:
        return f"{rng.choice(['-', '!', 'not ', '+'])}{sub()}"
    if roll < 0.42:
        return f"({sub()})"
    if roll < 0.48:
        return f"{sub()} ? {sub()} : {sub()}"
    if roll < 0.58:
        return f"{rng.choice(UNARY_FUNCS)}({sub()})"
    if roll < 0.65:
        return f"{rng.choice(BINARY_FUNCS)}({sub()}, {sub()})"
    if roll < 0.72:
        body = expression(rng, depth + 1, pointer=True)
        return f"{rng.choice(CLOSURES)}({sub()}, {body})"
    if roll < 0.78:
        items = ", ".join(sub() for _ in range(rng.randint(0, 3)))
        return f"[{items}]"
    if roll < 0.82:
        left, right = rng.choice("[("), rng.choice("])")
        return f"{left}{rng.choice(NUMBERS[:12])}..{rng.choice(NUMBERS[:12])}{right}"
    if roll < 0.86:
        keys = rng.sample(["k", "'x'", '"y"', "z1"], rng.randint(0, 3))
        return "{" + ", ".join(f"{k}: {sub()}" for k in keys) + "}"
    if roll < 0.90:
        return f"`t${{{sub()}}}-${{{sub()}}}`"
    if roll < 0.95:
        target = rng.choice(["d", "a", "e", "'hello'", "[1, 2, 3]", "c"])
        return rng.choice(
            [
                f"{target}[{sub()}]",
                f"{target}[{sub()}:{sub()}]",
                f"{target}[:{sub()}]",
                f"{target}[1:]",
            ]
        )
    return f"{sub()}.{rng.choice(['x', 'k', 'y', 'in', 'and'])}"


def unary(rng: random.Random) -> str:
    """A random unary test: comma/and/or-joined tests, bare values, comparisons, functions."""
    parts = []
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.35:
            parts.append(f"{rng.choice(['<', '<=', '>', '>=', '==', '!='])} {expression(rng, 2)}")
        elif roll < 0.5:
            left, right = rng.choice("[(])"), rng.choice("])[(")
            parts.append(f"{left}{rng.choice(NUMBERS[:12])}..{rng.choice(NUMBERS[:12])}{right}")
        elif roll < 0.6:
            parts.append(
                f"{rng.choice(['in', 'not in'])} [{', '.join(scalar(rng) for _ in range(2))}]"
            )
        elif roll < 0.75:
            parts.append(
                rng.choice(
                    [
                        "contains($, 'a')",
                        "startsWith($, 'h')",
                        "$ > 1",
                        "len($) > 2",
                        "some($, # > 1)",
                        "$ == null",
                    ]
                )
            )
        else:
            parts.append(expression(rng, 2))
    return rng.choice([", ", " or ", " and "]).join(parts)


def context(rng: random.Random) -> dict[str, Any]:
    values: list[Any] = [
        None, True, False, 0, 1, -2, 0.5, 2.5, 10, 1e-7, 0.1, 123.456, -0.0, "", "a", "hello",
        "A,B", "2023-05-17", "10:30", " x ", [1, 2, 3], [], ["a", "b"], [0.5, 1.5], {"k": 1},
        {"k": "v", "x": 2}, [{"k": 1}, {"k": 2}], 9007199254740993, 1e20, 0.30000000000000004,
    ]  # fmt: skip
    ctx = {name: rng.choice(values) for name in "abcde"}
    ctx["a"] = rng.choice([ctx["a"], {"x": rng.choice(values), "y": rng.choice(values)}])
    ctx["o"] = {"k": rng.choice(values)}
    ctx["$"] = rng.choice(values)
    return ctx


TOKENS = [
    "a", "b", "$", "#", "$root", "1", "2.5", "'s'", '"t"', "true", "null", "(", ")", "[", "]",
    "{", "}", ",", ":", ".", "..", "?", "??", "+", "-", "*", "/", "^", "%", "==", "!=", "<",
    ">=", "!", "not", "in", "not in", "and", "or", "len", "map", "`x${", "}`", "`y`", "1e3",
    "=", "**", "&&", "x.y", "[1..2]", "]1..2[", " ",
]  # fmt: skip


def soup(rng: random.Random) -> str:
    return " ".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 7)))


VECTOR_LITERALS = [
    "0", "1", "30", "0.3", "29.5", "-1", "1e-7", "0.30000000000000004", "2.5", "100",
    "'a'", "'T4'", "''", "true", "false", "null",
]  # fmt: skip
VECTOR_COLUMNS = ["i", "f", "s", "b", "n"]


def vector_expression(rng: random.Random, depth: int = 0) -> str:
    """An expression over the typed columns i (int), f (float), s (str), b (bool), n (null),
    mostly inside the vectorizable subset (comparisons, logic, ??, ?:, in, ranges, + - *)."""
    if depth > 2 or rng.random() < 0.3:
        return rng.choice(VECTOR_COLUMNS + VECTOR_LITERALS)
    sub = lambda: vector_expression(rng, depth + 1)  # noqa: E731
    roll = rng.random()
    column = rng.choice(VECTOR_COLUMNS)
    if roll < 0.4:
        ops = ["==", "!=", "<", "<=", ">", ">=", "and", "or", "??", "+", "-", "*", "in", "not in"]
        return f"{sub()} {rng.choice(ops)} {sub()}"
    if roll < 0.5:
        return f"{rng.choice(['-', '!', 'not '])}{sub()}"
    if roll < 0.6:
        return f"({sub()} ? {sub()} : {sub()})"
    if roll < 0.75:
        items = ", ".join(rng.choice(VECTOR_LITERALS) for _ in range(3))
        return f"{column} {rng.choice(['in', 'not in'])} [{items}]"
    if roll < 0.88:
        low, high = rng.choice(["0", "1", "29.5", "0.3"]), rng.choice(["30", "31", "100"])
        return f"{column} in {rng.choice('[(])')}{low}..{high}{rng.choice('])[(')}"
    return f"({sub()})"


VECTOR_CELLS = [
    "> 29.5", ">= 30", "> 30", "<= 30", "< 0.3", "> 0.3", "<= 0.30000000000000004",
    "[1..30]", "(0.3..30]", "]1..5[", "[0.3..30)",
    "'T4', 'T5'", "1, 5", "not in [1, 5]", "in ['a', 'T4']", "== null", "!= 'a'", "null",
    "true", "false", "> 1 and < 40", "0.3", "$ > 1 or $ == null", "< 1e-7, > 99", "'a'",
]  # fmt: skip


def decimal_literal(rng: random.Random) -> str:
    """A number literal of any scale 0-28 and magnitude up to the engine's 96 bits."""
    roll = rng.random()
    if roll < 0.3:
        return str(rng.randint(-1000, 1000))
    if roll < 0.45:
        return rng.choice(
            ["79228162514264337593543950335", "7922816251426433759354395033.5", "0.5", "3",
             "0.0000000000000000000000000001", "1e28", "0.1234567890123456789012345678"]
        )  # fmt: skip
    scale = rng.randint(1, 28)
    mantissa = rng.randint(0, 10 ** rng.randint(1, 28))
    digits = str(mantissa).rjust(scale + 1, "0")
    sign = "-" if rng.random() < 0.3 else ""
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}"


def arithmetic(rng: random.Random) -> str:
    """Decimal arithmetic whose scale shows: string(...) of sums, products, quotients,
    remainders, powers, rounding and aggregates over literals of every scale."""
    a, b, c = decimal_literal(rng), decimal_literal(rng), decimal_literal(rng)
    op = rng.choice(["+", "-", "*", "/", "%", "/", "*"])
    forms = [
        f"({a}) {op} ({b})",
        f"string(({a}) {op} ({b}))",
        f"string(({a}) {op} ({b}) {rng.choice('+-*/%')} ({c}))",
        f"string(round(({a}) {op} ({b}), {rng.randint(0, 6)}))",
        f"string(trunc({a}, {rng.randint(0, 30)}))",
        f"string(avg([{a}, {b}]))",
        f"string(median([{a}, {b}, {c}, {decimal_literal(rng)}]))",
        f"string(sum([{a}, {b}, {c}]))",
        f"string(floor({a})) + string(ceil({b}))",
        f"string(({a}) ^ {rng.randint(-3, 4)})",
        f"number(string({a})) == {a}",
    ]
    return rng.choice(forms)
