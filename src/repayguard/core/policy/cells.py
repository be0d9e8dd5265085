"""Unary-test cells of a decision table: ZEN's unary tests, narrowed to a policy's typed form.

The text is parsed by :mod:`repayguard.rules.zen` (one ZEN parser for policies and JDM tables);
this module refuses the forms a policy does not take and turns the tree into Compare, Interval
and Member tests, the view that the back ends, guardrails, explain and the JDM export share.

A cell tests one input value (ZEN's ``$``). Supported forms, with ZEN's meaning:

* ``""`` or ``-``: any value, null included (``-`` is the DMN spelling; the JDM export writes
  an empty cell);
* a comparison ``>= 30``, ``< 0.8``, ``> -1``, ``== 3``, ``!= "x"``, ``== null``, ``!= null``,
  ``< d("2025-01-31")`` (dates are ``d("YYYY-MM-DD")``);
* a bare literal, meaning equality: ``3``, ``"T4"`` (or ``'T4'``), ``true``, ``false``, ``null``,
  ``d("2025-01-31")``;
* an interval ``[1..5]``, ``(0..1]``, ``[1..5)``, ``(0..10)`` (numbers): ``[``/``]`` include
  the bound, ``(``/``)`` exclude it; also written ``in [1..5]``, and ``not in [1..5]`` for
  outside. ZEN reads reversed brackets (``]1..5[``) as *outside* the interval, unlike FEEL, so
  they are refused here to avoid a silent misreading;
* a list ``["T1", "T2"]`` or ``in ["T1", "T2"]`` (any of), ``not in ["T1", "T2"]`` (none of);
* tests joined by ``,`` or ``or`` (either) and ``and`` (both). ZEN folds joins left to right
  with no precedence: ``> 1, < 0 and > 3`` means ``(> 1 or < 0) and > 3``.

Refused with a clear message: ``not("T1")`` (ZEN raises an error on it, so such a row would
never match -- write ``!= "T1"`` or ``not in ["T1"]``), ``date(...)`` (a Unix timestamp in
ZEN), ``$`` expressions and functions; and, as zen-engine refuses them, escapes in strings (a
string ends at its next quote), ``1E3`` and numbers beyond 28 decimals or 96 bits.

Evaluation (:mod:`repayguard.core.policy.semantics`, ZEN's evaluator) is ZEN's: tests run left to
right and short-circuit; an order comparison or an interval on a value that is not a number (or, for
``d(...)``, not a date) is an *error*, and an error anywhere makes the whole cell not match.
So ``> 3, null`` does not match null (``> 3`` fails first) while ``null, > 3`` does.
Equality never errors: numbers compare by value (``3`` equals ``3.0``), values of different
types are never equal, and ``!= v`` matches null unless ``v`` is null. NaN counts as null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Final, Literal

from repayguard.rules import zen

Scalar = float | str | bool | date | None
"""A literal of a cell: number, string, boolean, date or null."""

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
Join = Literal["or", "and"]
ORDERING: Final = frozenset({"<", "<=", ">", ">="})
_TESTS: Final = frozenset({"==", "!=", "in", "not in"}) | ORDERING


@dataclass(frozen=True, slots=True)
class Compare:
    """``$ <op> literal``; bare literals are ``==``."""

    op: CompareOp
    value: Scalar


@dataclass(frozen=True, slots=True)
class Interval:
    """``$ in low..high`` with each bound included or excluded (numbers); ``outside`` for
    ``not in``."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool
    outside: bool = False


@dataclass(frozen=True, slots=True)
class Member:
    """``$ in [a, b, ...]`` (any of), or ``not in`` (none of) when ``negated``."""

    values: tuple[Scalar, ...]
    negated: bool = False


Test = Compare | Interval | Member


@dataclass(frozen=True, slots=True)
class Cell:
    """A parsed cell: ``tests`` joined left to right by ``joins``; no tests = any value."""

    text: str
    tests: tuple[Test, ...]
    joins: tuple[Join, ...] = ()

    @property
    def is_any(self) -> bool:
        """True for ``-`` or an empty cell."""
        return not self.tests

    @property
    def is_disjunction(self) -> bool:
        """True when every join is an *or* (a plain list of alternatives)."""
        return all(j == "or" for j in self.joins)

    def literals(self) -> tuple[Scalar, ...]:
        """Every literal the cell mentions (interval bounds included), in order."""
        out: list[Scalar] = []
        for t in self.tests:
            if isinstance(t, Compare):
                out.append(t.value)
            elif isinstance(t, Interval):
                out.extend((t.low, t.high))
            else:
                out.extend(t.values)
        return tuple(out)

    def uses_ordering(self) -> bool:
        """True when the cell compares by order (``<``, ``>=``, intervals)."""
        return any(can_error(t) for t in self.tests)


def can_error(test: Test) -> bool:
    """Whether ZEN raises on this test for a value of the wrong kind (order tests only)."""
    return isinstance(test, Interval) or (isinstance(test, Compare) and test.op in ORDERING)


class CellSyntaxError(ValueError):
    """A cell that does not parse; names the cell text and the 0-based character position."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"{reason} at position {position} of cell {text!r}")
        self.text = text
        self.position = position
        self.reason = reason


def literal_type(value: Scalar) -> str:
    """The input type a literal belongs to: number, string, boolean, date or null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, date):
        return "date"
    return "number"


# -- the view over the zen tree -------------------------------------------------------------

_LITERALS: Final = "a number, a quoted string, true, false, null or d(...)"
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAMES: Final = "names, $ and functions are not supported; quote strings"
_HINTS: Final = {
    "date": 'date(...) is a Unix timestamp in ZEN; write a calendar date as d("2025-01-31")',
    "$": "'$' expressions are not supported in policy cells; use the unary forms (>= 3, [1..5])",
}
_NOT: Final = (
    "not(...) is refused: ZEN raises an error on it, so the row would never match; "
    'write != "T1" or not in ["T1", "T2"]'
)
_REVERSED_OPENING: Final = (
    "reversed interval brackets are refused: ZEN reads ]a..b[ as outside a..b; "
    "write (a..b) for an open interval or not in [a..b] for outside"
)
_REVERSED_CLOSING: Final = (
    "reversed interval brackets are refused: ZEN reads a closing [ or ( as "
    "'outside'; close with ] (bound included) or ) (bound excluded)"
)
_JOINS_EXPECTED: Final = "',', 'or' or 'and'"


@lru_cache(maxsize=8192)
def parse_cell(text: str) -> Cell:
    """Parse one cell; raises CellSyntaxError with the cell text and position of the problem.

    The text goes through the ZEN parser (:func:`repayguard.rules.zen.parse_unary`), so a cell
    means here what it means in zen-engine; this module only narrows the language to the forms
    a policy may use and turns the tree into the typed form the policy's back ends share.
    """
    if text.strip() in ("", "-"):
        return Cell(text, ())
    try:
        node = zen.parse_unary(text)
    except zen.ZenSyntaxError as exc:
        raise _syntax_error(text, exc) from None
    except zen.ZenError as exc:  # a construct ZEN itself refuses (assignments, methods)
        raise CellSyntaxError(text, 0, exc.message) from None
    return _View(text).cell(node)


def _syntax_error(text: str, exc: zen.ZenSyntaxError) -> CellSyntaxError:
    """The ZEN parser's complaint in the words a policy author reads elsewhere in this module."""
    position, reason = exc.position, exc.reason
    if exc.expected == _JOINS_EXPECTED:
        return CellSyntaxError(text, position, f"{reason}; join tests with ',' (or), 'or' or 'and'")
    if exc.expected in ("a literal", "a value") and position >= len(text.rstrip()):
        return CellSyntaxError(text, len(text), f"expected {_LITERALS}; found the end of the cell")
    if reason.startswith("invalid number"):
        return CellSyntaxError(
            text, position, f"the number is too large or too precise: ZEN takes {exc.expected}"
        )
    if reason.startswith("unterminated string"):
        return CellSyntaxError(
            text, position, f"unexpected character {text[position]!r}: the string is never closed"
        )
    if reason == "unexpected character '\\\\'":
        return CellSyntaxError(
            text,
            position,
            f"{reason}: ZEN strings have no escapes, a string ends at its next quote; "
            "put \" inside '...' and ' inside \"...\"",
        )
    if reason.startswith("unknown function"):
        name = reason.removeprefix("unknown function ").strip("'")
        return CellSyntaxError(text, position, f"unsupported {name!r}: {_NAMES}")
    expected = "" if exc.expected is None else f"; expected {exc.expected}"
    return CellSyntaxError(text, position, f"{reason}{expected}")


class _View:
    """Walks a cell's zen tree in source order with a cursor over the cell's zen tokens, so a
    refusal names the character where the refused form starts (the tree has no positions)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = zen.tokenize(text)
        self.i = 0

    def position(self, index: int | None = None) -> int:
        index = self.i if index is None else index
        return self.tokens[index].start if index < len(self.tokens) else len(self.text)

    def fail(self, reason: str, position: int | None = None) -> CellSyntaxError:
        return CellSyntaxError(self.text, self.position() if position is None else position, reason)

    def refuse(self) -> CellSyntaxError:
        """A form outside the policy's language, named by the token it starts with."""
        tok = self.tokens[self.i] if self.i < len(self.tokens) else None
        if tok is None:
            return self.fail(f"expected {_LITERALS}; found the end of the cell")
        if tok.kind == "word" and tok.value != "null":
            return self.fail(f"unsupported {tok.value!r}: {_HINTS.get(tok.value, _NAMES)}")
        if tok.kind == "operator" and tok.value in ("not", "!"):
            return self.fail(_NOT)
        if tok.kind == "bracket" and tok.value in "])":
            return self.fail(_REVERSED_OPENING)
        if tok.kind in ("number", "string", "bool", "word"):  # a literal, then more
            return self.fail(
                "policy cells compare with plain literals; arithmetic, member access and other "
                "expressions are not supported"
            )
        return self.fail(f"expected {_LITERALS}; found {self.text[tok.start : tok.end]!r}")

    def cell(self, node: zen.Node) -> Cell:
        tests: list[Test] = []
        joins: list[Join] = []
        self.fold(node, tests, joins)
        return Cell(self.text, tuple(tests), tuple(joins))

    def fold(self, node: zen.Node, tests: list[Test], joins: list[Join]) -> None:
        """ZEN folds the tests of a cell to the left: ``(a or b) and c``."""
        match node:
            case zen.ast.Binary("or" | "and" as join, left, right):
                self.fold(left, tests, joins)
                self.i += 1  # the join: ',', 'or' or 'and'
                joins.append(join)
                tests.append(self.test(right))
            case _:
                tests.append(self.test(node))

    def test(self, node: zen.Node) -> Test:
        start = self.position()
        match node:
            case zen.ast.Binary(op, zen.ast.Identifier("$"), operand) if op in _TESTS:
                tok = self.tokens[self.i]
                explicit = tok.kind == "operator" and tok.value == op
                self.i += explicit
                if op in ("in", "not in"):
                    return self.container(operand, negated=op == "not in", explicit=explicit)
                value = self.literal(operand)
                if op in ORDERING and literal_type(value) not in ("number", "date"):
                    raise self.fail(f"{op} needs a number or a date d(...)", start)
                return Compare(op, value)  # type: ignore[arg-type]  # guarded by _TESTS
        raise self.refuse()  # a boolean expression as the test: contains($, "a"), $ > 3

    def container(self, node: zen.Node, *, negated: bool, explicit: bool) -> Test:
        match node:
            case zen.ast.Array(items):
                self.i += 1  # [
                values: list[Scalar] = []
                for k, item in enumerate(items):
                    self.i += k > 0  # ,
                    values.append(self.literal(item))
                if not items or self.tokens[self.i].value == ",":
                    self.i += bool(items)
                    raise self.fail(f"expected {_LITERALS}; found ']'")
                self.i += 1  # ]
                return Member(tuple(values), negated)
            case zen.ast.Interval(opening, low, high, closing):
                start = self.position()
                if opening not in "[(":
                    raise self.fail(_REVERSED_OPENING)
                self.i += 1
                lo = self.bound(low)
                self.i += 1  # ..
                hi = self.bound(high)
                if closing not in "])":
                    raise self.fail(_REVERSED_CLOSING)
                self.i += 1
                result = Interval(lo, hi, opening == "[", closing == "]", negated)
                if lo > hi or (lo == hi and not (result.low_closed and result.high_closed)):
                    raise self.fail("the interval is empty", start)
                return result
        if explicit:
            tok = self.tokens[self.i]
            found = self.text[tok.start : tok.end]
            raise self.fail(f"expected a list [..] or an interval but found {found!r}")
        raise self.refuse()

    def bound(self, node: zen.Node) -> float:
        start = self.position()
        value = self.literal(node)
        if not isinstance(value, float):
            raise self.fail("an interval bound must be a number", start)
        return value

    def literal(self, node: zen.Node) -> Scalar:
        match node:
            case zen.ast.Null():
                value: Scalar = None
            case zen.ast.Bool(flag):
                value = flag
            case zen.ast.String(body):
                value = body
            case zen.ast.Number(number):
                value = float(number)
            case zen.ast.Unary("-", zen.ast.Number(number)):
                self.i += 1  # -
                value = -float(number)
            case zen.ast.Call("d", arguments):
                return self.calendar_date(arguments)
            case _:
                raise self.refuse()
        self.i += 1
        return value

    def calendar_date(self, arguments: tuple[zen.Node, ...]) -> date:
        start = self.position()
        match arguments:
            case (zen.ast.String(body),):
                pass
            case _:
                raise self.fail(
                    'd(...) takes a quoted date, e.g. d("2025-01-31")', self.position(self.i + 2)
                )
        try:
            if not _DATE.match(body):
                raise ValueError(body)
            day = date.fromisoformat(body)
        except ValueError:
            raise self.fail(f"{body!r} is not a calendar date YYYY-MM-DD", start) from None
        self.i += 4  # d ( "..." )
        return day


def cell_text(value: object) -> str:
    """The cell text of a YAML scalar: numbers, booleans and dates written as ZEN literals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    if type(value) is date:  # an unquoted YAML date
        return f'd("{value.isoformat()}")'
    raise TypeError(f"a cell must be text, a number or a boolean, not {type(value).__name__}")
