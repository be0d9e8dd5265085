"""Unary-test cells of a decision table, in the GoRules ZEN unary syntax, parsed to typed form.

A cell tests one input value. Supported forms (a subset of ZEN's, with ZEN's meaning):

* ``""`` or ``-``: any value, null included;
* a comparison ``>= 30``, ``< 0.8``, ``> -1``, ``== 3``, ``!= "x"``, ``== null``, ``!= null``;
* a bare literal, meaning equality: ``3``, ``"T4"`` (or ``'T4'``), ``true``, ``false``, ``null``;
* an interval ``[1..5]``, ``(0..1]``, ``[1..5)``, ``(0..10)``: ``[``/``]`` include the bound,
  ``(``/``)`` exclude it. ZEN reads reversed brackets (``]1..5[``) as *outside* the interval,
  unlike FEEL, so they are refused here to avoid a silent misreading;
* ``not("T1")`` / ``not("T1", "T2")``: none of the listed literals (a FEEL form kept for
  policy authors; ZEN itself would write ``!= "T1"``);
* a comma-separated list of the above: any alternative matches (ZEN joins with *or*, so
  ``> 30, <= 60`` matches every number).

Null semantics: an ordering comparison or an interval never matches null; ``== null`` and a
bare ``null`` match only null; ``!= v`` and ``not(v)`` match null unless ``v`` is null. Numbers
compare by value (``3`` equals ``3.0``); values of different types are never equal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

Scalar = float | str | bool | None
"""A literal of a cell: number, string, boolean or null."""

CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
ORDERING: Final = frozenset({"<", "<=", ">", ">="})


@dataclass(frozen=True, slots=True)
class Compare:
    """``value <op> literal``; bare literals are ``==``."""

    op: CompareOp
    value: Scalar


@dataclass(frozen=True, slots=True)
class Interval:
    """``low .. high`` with each bound included or excluded; numbers only."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool


@dataclass(frozen=True, slots=True)
class NoneOf:
    """``not(a, b, ...)``: the value equals none of the literals."""

    values: tuple[Scalar, ...]


Test = Compare | Interval | NoneOf


@dataclass(frozen=True, slots=True)
class Cell:
    """A parsed cell: matches when any alternative matches; no alternatives = any value."""

    text: str
    alternatives: tuple[Test, ...]

    @property
    def is_any(self) -> bool:
        """True for ``-`` or an empty cell."""
        return not self.alternatives

    def literals(self) -> tuple[Scalar, ...]:
        """Every literal the cell mentions (interval bounds included), in order."""
        out: list[Scalar] = []
        for t in self.alternatives:
            if isinstance(t, Compare):
                out.append(t.value)
            elif isinstance(t, Interval):
                out.extend((t.low, t.high))
            else:
                out.extend(t.values)
        return tuple(out)

    def uses_ordering(self) -> bool:
        """True when the cell compares by order (``<``, ``>=``, intervals): numbers only."""
        return any(
            isinstance(t, Interval) or (isinstance(t, Compare) and t.op in ORDERING)
            for t in self.alternatives
        )


class CellSyntaxError(ValueError):
    """A cell that does not parse; names the cell text and the 0-based character position."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"{reason} at position {position} of cell {text!r}")
        self.text = text
        self.position = position
        self.reason = reason


def literal_type(value: Scalar) -> str:
    """The input type a literal belongs to: number, string, boolean or null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    return "number"


_TOKEN: Final = re.compile(
    r"""(?P<ws>\s+)
    |(?P<number>-?\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)
    |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<range>\.\.)
    |(?P<op>==|!=|<=|>=|<|>)
    |(?P<punct>[\[\]\(\),])
    |(?P<word>[A-Za-z_$][A-Za-z0-9_$]*)
    """,
    re.VERBOSE,
)
_WORDS: Final = {"true": True, "false": False}
_UNSUPPORTED_WORDS: Final = {
    "and": "'and' is not supported; use an interval like [1..5]",
    "or": "'or' is not supported; separate alternatives with a comma",
    "in": "'in' lists are not supported; write the alternatives separated by commas",
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

    def fail(self, reason: str, tok: _Tok | None = None) -> CellSyntaxError:
        return CellSyntaxError(self.text, (tok or self.tok).pos, reason)

    def take(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.tok
        if tok.kind != kind or (text is not None and tok.text != text):
            want = repr(text) if text is not None else kind
            got = repr(tok.text) if tok.kind != "end" else "the end of the cell"
            raise self.fail(f"expected {want} but found {got}")
        self.i += 1
        return tok

    def cell(self) -> Cell:
        alternatives = [self.alternative()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.i += 1
            alternatives.append(self.alternative())
        if self.tok.kind != "end":
            hint = _UNSUPPORTED_WORDS.get(self.tok.text, "separate alternatives with a comma")
            raise self.fail(f"unexpected {self.tok.text!r}; {hint}")
        return Cell(self.text, tuple(alternatives))

    def alternative(self) -> Test:
        tok = self.tok
        if tok.kind == "op":
            self.i += 1
            value = self.literal()
            if tok.text in ORDERING and not _is_number(value):
                raise self.fail(f"{tok.text} needs a number", tok)
            return Compare(tok.text, value)  # type: ignore[arg-type]  # regex guarantees the op
        if tok.kind == "punct" and tok.text in "[(":
            return self.interval()
        if tok.kind == "punct" and tok.text in "])":
            raise self.fail(
                "reversed interval brackets are refused: ZEN reads ]a..b[ as outside a..b; "
                "write (a..b) for an open interval or '< a, > b' for outside"
            )
        if tok.kind == "word" and tok.text == "not":
            self.i += 1
            self.take("punct", "(")
            values = [self.literal()]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.i += 1
                values.append(self.literal())
            self.take("punct", ")")
            return NoneOf(tuple(values))
        return Compare("==", self.literal())

    def interval(self) -> Interval:
        opening = self.take("punct")
        low = self.number()
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
        result = Interval(low, high, opening.text == "[", closing.text == "]")
        if low > high or (low == high and not (result.low_closed and result.high_closed)):
            raise self.fail("the interval is empty", opening)
        return result

    def number(self) -> float:
        tok = self.tok
        value = self.literal()
        if not _is_number(value):
            raise self.fail("an interval bound must be a number", tok)
        assert isinstance(value, float)
        return value

    def literal(self) -> Scalar:
        tok = self.tok
        if tok.kind == "number":
            value = float(tok.text)
            if not math.isfinite(value):
                raise self.fail("the number is too large")
            self.i += 1
            return value
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
            hint = _UNSUPPORTED_WORDS.get(
                tok.text, "names, $ and functions are not supported; quote strings"
            )
            raise self.fail(f"unsupported {tok.text!r}: {hint}")
        found = repr(tok.text) if tok.kind != "end" else "the end of the cell"
        raise self.fail(f"expected a number, a quoted string, true, false or null; found {found}")


def _is_number(value: Scalar) -> bool:
    return isinstance(value, float)


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


@lru_cache(maxsize=4096)
def parse_cell(text: str) -> Cell:
    """Parse one cell; raises CellSyntaxError with the cell text and position of the problem."""
    stripped = text.strip()
    if stripped in ("", "-"):
        return Cell(text, ())
    return _Parser(text).cell()


def cell_text(value: object) -> str:
    """The cell text of a YAML scalar: numbers and booleans written as ZEN literals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"a cell must be text, a number or a boolean, not {type(value).__name__}")
