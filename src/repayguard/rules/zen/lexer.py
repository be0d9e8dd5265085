"""Tokens of a ZEN expression, split the way zen-engine splits them.

Notable rules (each mirrors the engine): strings have no escapes (a string ends at the next
matching quote); a number is digits, ``_`` and one ``.``, optionally followed by ``e``, a sign
and digits (``1E3`` is not a number); ``not`` followed by exactly `` in `` is one ``not in``
token; inside a template string ``}`` always closes the ``${...}`` expression, a backtick always
closes the template, and a template still open at the end of the text counts as closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from repayguard.rules.zen.errors import ZenSyntaxError

TokenKind = Literal[
    "number", "string", "word", "bool", "operator", "bracket",
    "backtick", "template_text", "template_start", "template_end",
]  # fmt: skip

_SPACE: Final = frozenset(" \n\t")
_DIGITS: Final = frozenset("0123456789")
_ALPHA: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$_#")
_ALNUM: Final = _ALPHA | _DIGITS
_BRACKETS: Final = frozenset("()[]{}")
_SINGLE_OPS: Final = frozenset(",:+-/*^%;")
_COMPARE_STARTS: Final = frozenset("><!=")
_COMPARE_OPS: Final = frozenset({">", "<", "!", ">=", "<=", "!=", "==", "="})
KEYWORD_OPERATORS: Final = frozenset({"and", "or", "in", "not", "not in"})


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind``, its ``value`` (text without quotes for strings) and position."""

    kind: TokenKind
    value: str
    start: int
    end: int


def tokenize(source: str) -> list[Token]:
    """The tokens of an expression; raises ZenSyntaxError for characters the engine rejects."""
    return _Scanner(source).scan()


class _Scanner:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.tokens: list[Token] = []

    def fail(self, message: str, position: int) -> ZenSyntaxError:
        return ZenSyntaxError(message, position=position, source=self.source)

    def scan(self) -> list[Token]:
        while self.pos < len(self.source):
            self.scan_one()
        return self.tokens

    def push(self, kind: TokenKind, value: str, start: int, end: int) -> None:
        self.tokens.append(Token(kind, value, start, end))

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.source[index] if index < len(self.source) else ""

    def scan_one(self) -> None:
        c = self.source[self.pos]
        if c in _SPACE:
            self.pos += 1
        elif c in "'\"":
            self.string(c)
        elif c in _DIGITS:
            self.number()
        elif c in _BRACKETS:
            self.push("bracket", c, self.pos, self.pos + 1)
            self.pos += 1
        elif c in _COMPARE_STARTS:
            self.compare()
        elif c in _SINGLE_OPS:
            self.push("operator", c, self.pos, self.pos + 1)
            self.pos += 1
        elif c == "?":
            width = 2 if self.peek(1) == "?" else 1
            self.push(
                "operator", self.source[self.pos : self.pos + width], self.pos, self.pos + width
            )
            self.pos += width
        elif c == "`":
            self.template()
        elif c == ".":
            width = 2 if self.peek(1) == "." else 1
            self.push("operator", "." * width, self.pos, self.pos + width)
            self.pos += width
        elif c in _ALPHA:
            self.word()
        else:
            raise self.fail(f"unexpected character {c!r}", self.pos)

    def string(self, quote: str) -> None:
        start = self.pos
        end = self.source.find(quote, start + 1)
        if end < 0:
            raise self.fail(f"unterminated string (missing closing {quote})", start)
        self.push("string", self.source[start + 1 : end], start, end + 1)
        self.pos = end + 1

    def number(self) -> None:
        start = self.pos
        self.pos += 1
        fraction = False
        while self.peek() and (self.peek() in _DIGITS or self.peek() in "_."):
            c = self.peek()
            if c == ".":
                if fraction or self.peek(1) == ".":
                    break
                fraction = True
            self.pos += 1
        if self.peek() == "e":
            self.pos += 1
            if self.peek() in ("+", "-") and self.peek():
                self.pos += 1
            while self.peek() and self.peek() in _DIGITS:
                self.pos += 1
        self.push("number", self.source[start : self.pos], start, self.pos)

    def compare(self) -> None:
        start = self.pos
        width = 2 if self.peek(1) == "=" else 1
        text = self.source[start : start + width]
        if text not in _COMPARE_OPS:
            raise self.fail(f"unexpected operator {text!r}", start)
        self.push("operator", text, start, start + width)
        self.pos += width

    def word(self) -> None:
        start = self.pos
        self.pos += 1
        while self.peek() and self.peek() in _ALNUM:
            self.pos += 1
        text = self.source[start : self.pos]
        if text in ("true", "false"):
            self.push("bool", text, start, self.pos)
        elif text == "not" and self.source.startswith(" in ", self.pos):
            self.pos += 3
            self.push("operator", "not in", start, self.pos)
            self.pos += 1
        elif text in KEYWORD_OPERATORS:
            self.push("operator", text, start, self.pos)
        else:
            self.push("word", text, start, self.pos)

    def template(self) -> None:
        start = self.pos
        self.push("backtick", "`", start, start + 1)
        self.pos += 1
        text_start = self.pos
        in_expression = False
        while True:
            if self.pos >= len(self.source):
                if in_expression:
                    raise self.fail("unterminated ${...} in template string", start)
                # The engine reads a template left open at the very end as closed there.
                if text_start < self.pos:
                    self.push("template_text", self.source[text_start:], text_start, self.pos)
                self.push("backtick", "`", self.pos, self.pos)
                return
            c = self.source[self.pos]
            if c == "`":  # closes the template even inside ${...}, as in the engine
                if text_start < self.pos:
                    self.push(
                        "template_text", self.source[text_start : self.pos], text_start, self.pos
                    )
                self.push("backtick", "`", self.pos, self.pos + 1)
                self.pos += 1
                return
            if not in_expression and c == "$" and self.peek(1) == "{":
                self.push("template_text", self.source[text_start : self.pos], text_start, self.pos)
                self.push("template_start", "${", self.pos, self.pos + 2)
                self.pos += 2
                in_expression = True
            elif in_expression and c == "}":
                self.push("template_end", "}", self.pos, self.pos + 1)
                self.pos += 1
                text_start = self.pos
                in_expression = False
            elif in_expression:
                self.scan_one()
            else:
                self.pos += 1
