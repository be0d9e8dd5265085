"""Unary-test cells of a decision table, in the GoRules ZEN unary syntax, parsed to typed form.

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
ZEN), ``$`` expressions and functions.

Evaluation (:mod:`repayguard.core.policy.semantics`) follows ZEN exactly: tests run left to
right and short-circuit; an order comparison or an interval on a value that is not a number (or, for
``d(...)``, not a date) is an *error*, and an error anywhere makes the whole cell not match.
So ``> 3, null`` does not match null (``> 3`` fails first) while ``null, > 3`` does.
Equality never errors: numbers compare by value (``3`` equals ``3.0``), values of different
types are never equal, and ``!= v`` matches null unless ``v`` is null. NaN counts as null.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Final, Literal

Scalar = float | str | bool | date | None
"""A literal of a cell: number, string, boolean, date or null."""

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
Join = Literal["or", "and"]
ORDERING: Final = frozenset({"<", "<=", ">", ">="})


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


# -- parser ---------------------------------------------------------------------------------

_TOKEN: Final = re.compile(
    r"""(?P<ws>\s+)
    |(?P<number>\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<range>\.\.)
    |(?P<op>==|!=|<=|>=|<|>)
    |(?P<minus>-)
    |(?P<punct>[\[\]\(\),])
    |(?P<word>[A-Za-z_$][A-Za-z0-9_$]*)
    """,
    re.VERBOSE,
)
_WORDS: Final = {"true": True, "false": False}
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNSUPPORTED_WORDS: Final = {
    "date": 'date(...) is a Unix timestamp in ZEN; write a calendar date as d("2025-01-31")',
    "$": "'$' expressions are not supported in policy cells; use the unary forms (>= 3, [1..5])",
}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise CellSyntaxError(text, pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> _Tok:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def fail(self, reason: str, tok: _Tok | None = None) -> CellSyntaxError:
        return CellSyntaxError(self.text, (tok or self.tok).pos, reason)

    def at(self, kind: str, text: str | None = None) -> bool:
        return self.tok.kind == kind and (text is None or self.tok.text == text)

    def take(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.tok
        if not self.at(kind, text):
            want = repr(text) if text is not None else kind
            raise self.fail(f"expected {want} but found {_shown(tok)}")
        self.i += 1
        return tok

    def cell(self) -> Cell:
        tests = [self.test()]
        joins: list[Join] = []
        while True:
            if self.at("punct", ",") or self.at("word", "or"):
                joins.append("or")
            elif self.at("word", "and"):
                joins.append("and")
            else:
                break
            self.i += 1
            tests.append(self.test())
        if not self.at("end"):
            raise self.fail(
                f"unexpected {self.tok.text!r}; join tests with ',' (or), 'or' or 'and'"
            )
        return Cell(self.text, tuple(tests), tuple(joins))

    def test(self) -> Test:
        tok = self.tok
        if tok.kind == "op":
            self.i += 1
            value = self.literal()
            if tok.text in ORDERING and literal_type(value) not in ("number", "date"):
                raise self.fail(f"{tok.text} needs a number or a date d(...)", tok)
            return Compare(tok.text, value)  # type: ignore[arg-type]  # regex guarantees the op
        if tok.kind == "word" and tok.text == "not":
            if self.peek().kind == "word" and self.peek().text == "in":
                self.i += 2
                return self.container(negated=True)
            raise self.fail(
                "not(...) is refused: ZEN raises an error on it, so the row would never match; "
                'write != "T1" or not in ["T1", "T2"]'
            )
        if tok.kind == "word" and tok.text == "in":
            self.i += 1
            return self.container(negated=False)
        if tok.kind == "punct" and tok.text in "[(":
            return self.container(negated=False)
        if tok.kind == "punct" and tok.text in "])":
            raise self.fail(
                "reversed interval brackets are refused: ZEN reads ]a..b[ as outside a..b; "
                "write (a..b) for an open interval or not in [a..b] for outside"
            )
        return Compare("==", self.literal())

    def container(self, *, negated: bool) -> Test:
        opening = self.tok
        if not (opening.kind == "punct" and opening.text in "[("):
            raise self.fail(f"expected a list [..] or an interval but found {_shown(opening)}")
        self.i += 1
        first_tok = self.tok
        first = self.literal()
        if self.at("range"):
            return self.interval(opening, first, first_tok, outside=negated)
        if opening.text == "(":
            raise self.fail("expected '..' in the interval")
        values = [first]
        while self.at("punct", ","):
            self.i += 1
            values.append(self.literal())
        self.take("punct", "]")
        return Member(tuple(values), negated)

    def interval(self, opening: _Tok, first: Scalar, first_tok: _Tok, *, outside: bool) -> Interval:
        if literal_type(first) != "number":
            raise self.fail("an interval bound must be a number", first_tok)
        assert isinstance(first, float)
        low = first
        self.take("range")
        high = self.number()
        closing = self.tok
        if closing.kind != "punct" or closing.text not in "])[(":
            raise self.fail("expected ] or ) to close the interval")
        if closing.text in "[(":
            raise self.fail(
                "reversed interval brackets are refused: ZEN reads a closing [ or ( as "
                "'outside'; close with ] (bound included) or ) (bound excluded)"
            )
        self.i += 1
        result = Interval(low, high, opening.text == "[", closing.text == "]", outside)
        if low > high or (low == high and not (result.low_closed and result.high_closed)):
            raise self.fail("the interval is empty", opening)
        return result

    def number(self) -> float:
        tok = self.tok
        value = self.literal()
        if literal_type(value) != "number":
            raise self.fail("an interval bound must be a number", tok)
        assert isinstance(value, float)
        return value

    def literal(self) -> Scalar:
        tok = self.tok
        if tok.kind == "minus" and self.peek().kind == "number":
            self.i += 1
            return -self.literal_number()
        if tok.kind == "number":
            return self.literal_number()
        if tok.kind == "string":
            self.i += 1
            return _unquote(tok.text)
        if tok.kind == "word":
            if tok.text in _WORDS:
                self.i += 1
                return _WORDS[tok.text]
            if tok.text == "null":
                self.i += 1
                return None
            if tok.text == "d" and self.peek().kind == "punct" and self.peek().text == "(":
                return self.date_literal()
            hint = _UNSUPPORTED_WORDS.get(
                tok.text, "names, $ and functions are not supported; quote strings"
            )
            raise self.fail(f"unsupported {tok.text!r}: {hint}")
        raise self.fail(
            f"expected a number, a quoted string, true, false, null or d(...); found {_shown(tok)}"
        )

    def literal_number(self) -> float:
        tok = self.take("number")
        value = float(tok.text.replace("_", ""))
        if not math.isfinite(value):
            raise self.fail("the number is too large", tok)
        return value

    def date_literal(self) -> date:
        start = self.take("word", "d")
        self.take("punct", "(")
        tok = self.tok
        if tok.kind != "string":
            raise self.fail('d(...) takes a quoted date, e.g. d("2025-01-31")')
        self.i += 1
        self.take("punct", ")")
        body = _unquote(tok.text)
        try:
            if not _DATE.match(body):
                raise ValueError(body)
            return date.fromisoformat(body)
        except ValueError:
            raise self.fail(f"{body!r} is not a calendar date YYYY-MM-DD", start) from None


def _shown(tok: _Tok) -> str:
    return repr(tok.text) if tok.kind != "end" else "the end of the cell"


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


@lru_cache(maxsize=8192)
def parse_cell(text: str) -> Cell:
    """Parse one cell; raises CellSyntaxError with the cell text and position of the problem."""
    stripped = text.strip()
    if stripped in ("", "-"):
        return Cell(text, ())
    return _Parser(text).cell()


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
