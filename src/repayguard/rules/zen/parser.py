"""Pratt parser for ZEN expressions and unary tests, mirroring zen-engine's grammar.

Precedence, lowest first: ``or`` < ``and`` < comparisons and ``in`` < ``+ -`` < ``!``/``not``
(prefix) < ``* / %`` < ``^`` (right-associative) < ``??`` < prefix ``+ -``; ``a ? b : c`` binds
loosest. In a unary test the top level is a list of tests joined by ``,``/``or``/``and`` from
left to right without precedence; a test starting with a comparison operator compares ``$``,
and a bare value is compared with ``$`` (``==``, or ``in`` for lists, ranges, ``map``...) or,
for a boolean-valued expression (``contains($, "x")``, ``a > 1``), is the test itself.
"""

from __future__ import annotations

from typing import Final

from repayguard.rules.zen import ast
from repayguard.rules.zen.errors import ZenSyntaxError, ZenUnsupported
from repayguard.rules.zen.lexer import Token, tokenize
from repayguard.rules.zen.numbers import parse_literal
from repayguard.rules.zen.signatures import ARITY, CLOSURES, unary_behaviour

# operator -> (precedence, right-associative)
_BINARY: Final[dict[str, tuple[int, bool]]] = {
    "or": (10, False), "and": (15, False),
    "==": (20, False), "!=": (20, False), "<": (20, False), ">": (20, False),
    "<=": (20, False), ">=": (20, False), "in": (20, False), "not in": (20, False),
    "+": (30, False), "-": (30, False),
    "*": (60, False), "/": (60, False), "%": (60, False),
    "^": (70, True), "??": (80, False),
}  # fmt: skip
_PREFIX: Final[dict[str, int]] = {"!": 50, "not": 50, "+": 200, "-": 200}
_COMPARISONS: Final = frozenset({"==", "!=", "<", ">", "<=", ">=", "in", "not in"})
_JOINS: Final = frozenset({",", "and", "or"})
_PROPERTY_OPERATORS: Final = frozenset({"and", "or", "not", "!", "??", "in"})
_DOLLAR: Final = ast.Identifier("$")


def parse_expression(source: str) -> ast.Node:
    """The syntax tree of a standard expression; raises ZenSyntaxError or ZenUnsupported."""
    parser = _Parser(source, unary=False)
    node = parser.binary(0)
    parser.expect_end()
    return node


def parse_unary(source: str) -> ast.Node:
    """The syntax tree of a unary test (``$`` is the tested value), rewritten to a boolean
    expression the way zen-engine rewrites it."""
    parser = _Parser(source, unary=True)
    node = parser.test_list()
    parser.expect_end()
    return node


class _Parser:
    def __init__(self, source: str, *, unary: bool) -> None:
        self.source = source
        self.tokens = tokenize(source)
        for tok in self.tokens:
            if tok.kind == "operator" and tok.value in ("=", ";"):
                raise ZenUnsupported(
                    "assignment (=) and statement lists (;)",
                    "only single expressions are supported",
                    source=source,
                )
        self.i = 0
        self.depth = 0
        self.unary = unary
        self.has_range = any(t.kind == "operator" and t.value == ".." for t in self.tokens)

    # -- token helpers --------------------------------------------------------------------

    @property
    def tok(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.tok
        return tok is not None and tok.kind == kind and (value is None or tok.value == value)

    def position(self) -> int:
        tok = self.tok
        if tok is not None:
            return tok.start
        return self.tokens[-1].end if self.tokens else 0

    def fail(self, message: str, expected: str | None = None) -> ZenSyntaxError:
        return ZenSyntaxError(
            message, position=self.position(), expected=expected, source=self.source
        )

    def expect(self, kind: str, value: str) -> None:
        if not self.at(kind, value):
            found = f"{self.tok.value!r}" if self.tok is not None else "the end"
            raise self.fail(f"unexpected {found}", expected=repr(value))
        self.i += 1

    def expect_end(self) -> None:
        if self.tok is not None:
            raise self.fail(f"unexpected {self.tok.value!r}", expected="the end of the expression")

    # -- unary tests ----------------------------------------------------------------------

    def test_list(self) -> ast.Node:
        node = self.test()
        while self.tok is not None:
            tok = self.tok
            if tok.kind != "operator" or tok.value not in _JOINS:
                raise self.fail(f"unexpected {tok.value!r}", expected="',', 'or' or 'and'")
            self.i += 1
            join: ast.BinaryOp = "and" if tok.value == "and" else "or"
            node = ast.Binary(join, node, self.test())
        return node

    def test(self) -> ast.Node:
        left: ast.Node = _DOLLAR
        if not (self.at("operator") and self.tok is not None and self.tok.value in _COMPARISONS):
            left = self.binary(0)
        tok = self.tok
        if tok is not None and tok.kind == "operator" and tok.value in _COMPARISONS:
            self.i += 1
            operator: ast.BinaryOp = tok.value  # type: ignore[assignment]  # a comparison
            return ast.Binary(operator, left, self.binary(0))
        behaviour = unary_behaviour(left)
        if behaviour == "test":
            return ast.Call("bool", (left,))
        return ast.Binary(behaviour, _DOLLAR, left)

    # -- expressions ----------------------------------------------------------------------

    def binary(self, precedence: int, *, joins_end: bool = True) -> ast.Node:
        """An expression with operators of at least ``precedence``. In a unary test ``,``,
        ``and`` and ``or`` end the expression (they join tests), except at the top level of a
        closure body (``joins_end`` False) -- the engine's exact, if surprising, rule."""
        left = self.prefix()
        while (tok := self.tok) is not None and tok.kind == "operator":
            if self.unary and joins_end and tok.value in _JOINS:
                break
            entry = _BINARY.get(tok.value)
            if entry is None or entry[0] < precedence:
                break
            self.i += 1
            op_precedence, right_assoc = entry
            right = self.binary(op_precedence if right_assoc else op_precedence + 1)
            operator: ast.BinaryOp = tok.value  # type: ignore[assignment]  # from _BINARY
            left = ast.Binary(operator, left, right)
        if precedence == 0 and self.at("operator", "?"):
            self.i += 1
            on_true = self.binary(0)
            self.expect("operator", ":")
            on_false = self.binary(0)
            left = ast.Conditional(left, on_true, on_false)
        return left

    def nested(self) -> ast.Node:
        return self.binary(0)

    def prefix(self) -> ast.Node:
        tok = self.tok
        if tok is None:
            if self.unary:
                raise self.fail("expected a value", expected="a literal")
            raise self.fail("unexpected end of expression", expected="a value")
        if self.depth > 0 and tok.kind == "word" and tok.value == "#":
            self.i += 1
            return self.postfix(ast.Pointer())
        if tok.kind == "operator":
            prefix_precedence = _PREFIX.get(tok.value)
            if prefix_precedence is None:
                raise self.fail(f"unexpected operator {tok.value!r}", expected="a value")
            self.i += 1
            operand = self.binary(prefix_precedence)
            operator: ast.UnaryOp = "!" if tok.value in ("!", "not") else tok.value  # type: ignore[assignment]
            return ast.Unary(operator, operand)
        interval = self.interval()
        if interval is not None:
            return interval
        if tok.kind == "bracket" and tok.value == "(":
            self.i += 1
            inner = self.binary(0)
            self.expect("bracket", ")")
            return self.postfix(ast.Parenthesized(inner))
        return self.literal()

    def literal(self) -> ast.Node:
        tok = self.tok
        assert tok is not None
        if tok.kind == "word":
            if tok.value == "null":
                self.i += 1
                return ast.Null()
            return self.identifier()
        if tok.kind == "bool":
            self.i += 1
            return ast.Bool(tok.value == "true")
        if tok.kind == "number":
            value = parse_literal(tok.value)
            if value is None:
                raise self.fail(
                    f"invalid number {tok.value!r}",
                    expected="a number of at most 28 decimals that fits 96 bits",
                )
            self.i += 1
            return ast.Number(value)
        if tok.kind == "string":
            self.i += 1
            return ast.String(tok.value)
        if tok.kind == "backtick":
            return self.template()
        if tok.kind == "bracket":
            if tok.value == "[":
                return self.array()
            if tok.value == "{":
                return self.object()
            raise self.fail(f"unexpected {tok.value!r}", expected="a value")
        raise self.fail(f"unexpected {tok.value!r}", expected="a value")

    def identifier(self) -> ast.Node:
        tok = self.tok
        assert tok is not None
        self.i += 1
        if not self.at("bracket", "("):
            node: ast.Node = ast.Root() if tok.value == "$root" else ast.Identifier(tok.value)
            return self.postfix(node)
        return self.postfix(self.call(tok))

    def call(self, name_tok: Token) -> ast.Node:
        name = name_tok.value
        if name not in ARITY:
            raise ZenSyntaxError(
                f"unknown function {name!r}", position=name_tok.start, source=self.source
            )
        self.i += 1  # (
        arguments: list[ast.Node] = []
        while not self.at("bracket", ")"):
            if self.tok is None:
                raise self.fail("unterminated function call", expected="')'")
            if arguments:
                self.expect("operator", ",")
            if name in CLOSURES and len(arguments) == 1:
                self.depth += 1
                try:  # only a closure body's own top level keeps ',', 'and', 'or' in a test
                    arguments.append(ast.Closure(self.binary(0, joins_end=False)))
                finally:
                    self.depth -= 1
            else:
                arguments.append(self.nested())
        self.i += 1  # )
        fewest, most = ARITY[name]
        if not fewest <= len(arguments) <= most:
            raise ZenSyntaxError(
                f"invalid number of arguments for {name}(): {len(arguments)}",
                position=name_tok.start,
                expected=f"{fewest}" if fewest == most else f"{fewest} to {most}",
                source=self.source,
            )
        if name in CLOSURES and not isinstance(arguments[1], ast.Closure):
            raise ZenSyntaxError(
                f"{name}() needs an expression as second argument",
                position=name_tok.start,
                source=self.source,
            )
        return ast.Call(name, tuple(arguments))

    def postfix(self, node: ast.Node) -> ast.Node:
        while True:
            tok = self.tok
            if tok is None:
                return node
            if tok.kind == "operator" and tok.value == ".":
                self.i += 1
                prop = self.tok
                if prop is None:
                    raise self.fail("expected a property name after '.'", expected="a property")
                self.i += 1
                if not (
                    prop.kind == "word"
                    or (prop.kind == "operator" and prop.value in _PROPERTY_OPERATORS)
                ):
                    raise ZenSyntaxError(
                        f"invalid property {prop.value!r}", position=prop.start, source=self.source
                    )
                if self.at("bracket", "("):
                    raise ZenUnsupported(
                        f"method call .{prop.value}()",
                        "method calls (date methods) are not supported",
                        source=self.source,
                    )
                node = ast.Member(node, ast.String(prop.value))
            elif tok.kind == "bracket" and tok.value == "[":
                node = self.index(node)
            else:
                return node

    def index(self, node: ast.Node) -> ast.Node:
        self.i += 1  # [
        if self.tok is None:
            raise self.fail("expected a property", expected="an index")
        if self.at("operator", ":"):
            self.i += 1
            end = None if self.at("bracket", "]") else self.nested()
            self.expect("bracket", "]")
            return ast.Slice(node, None, end)
        start = self.nested()
        if self.at("operator", ":"):
            self.i += 1
            end = None if self.at("bracket", "]") else self.nested()
            self.expect("bracket", "]")
            return ast.Slice(node, start, end)
        self.expect("bracket", "]")
        return ast.Member(node, start)

    def interval(self) -> ast.Node | None:
        """``[a..b]`` and friends; tried first and abandoned (position restored) when the
        brackets do not hold a ``..`` range."""
        tok = self.tok
        if not self.has_range or tok is None or tok.kind != "bracket" or tok.value in "{}":
            return None
        start = self.i
        try:
            self.i += 1
            left = self.nested()
            if not self.at("operator", ".."):
                raise self.fail("not an interval")
            self.i += 1
            right = self.nested()
        except ZenSyntaxError:
            self.i = start
            return None
        closing = self.tok
        if closing is None or closing.kind != "bracket" or closing.value in "{}":
            self.i = start
            return None
        self.i += 1
        return self.postfix(ast.Interval(tok.value, left, right, closing.value))

    def array(self) -> ast.Node:
        self.i += 1  # [
        items: list[ast.Node] = []
        while not self.at("bracket", "]"):
            if self.tok is None:
                raise self.fail("unterminated list", expected="']'")
            if items:
                self.expect("operator", ",")
                if self.at("bracket", "]"):
                    break
            items.append(self.nested())
        self.i += 1  # ]
        return self.postfix(ast.Array(tuple(items)))

    def object(self) -> ast.Node:
        self.i += 1  # {
        entries: list[tuple[ast.Node, ast.Node]] = []
        if self.at("bracket", "}"):
            self.i += 1
            return ast.Object(())
        while True:
            key = self.object_key()
            self.expect("operator", ":")
            entries.append((key, self.nested()))
            if self.at("operator", ","):
                self.i += 1
                continue
            if self.tok is None or self.at("bracket", "}"):
                break
            raise self.fail("invalid object syntax", expected="',' or '}'")
        self.expect("bracket", "}")
        return ast.Object(tuple(entries))

    def object_key(self) -> ast.Node:
        tok = self.tok
        if tok is None:
            raise self.fail("expected an object key", expected="a key")
        if tok.kind in ("word", "bool", "number", "string"):
            self.i += 1
            return ast.String(tok.value)
        if tok.kind == "bracket" and tok.value == "[":
            self.i += 1
            key = self.nested()
            self.expect("bracket", "]")
            return key
        raise self.fail(f"{tok.value!r} cannot be an object key", expected="a key")

    def template(self) -> ast.Node:
        self.i += 1  # opening backtick
        parts: list[ast.Node] = []
        while not self.at("backtick"):
            tok = self.tok
            if tok is None:
                raise self.fail("unterminated template string", expected="'`'")
            if tok.kind == "template_start":
                self.i += 1
                parts.append(self.nested())
            elif tok.kind == "template_end":
                self.i += 1
            elif tok.kind == "template_text":
                self.i += 1
                parts.append(ast.String(tok.value))
            else:
                raise self.fail(f"unexpected {tok.value!r} in template string", expected="'}'")
        self.i += 1
        return ast.Template(tuple(parts))
