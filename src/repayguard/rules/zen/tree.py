"""Walking a ZEN syntax tree: children, context paths read, static member paths."""

from __future__ import annotations

from collections.abc import Callable

from repayguard.rules.zen import ast


def referenced_paths(node: ast.Node) -> set[tuple[str, ...]]:
    """The context paths an expression reads: ``a.b["c"]`` gives ``("a", "b", "c")``, ``$root``
    the empty path (the whole context); ``#`` inside closures is not a context path."""
    found: set[tuple[str, ...]] = set()
    _collect(node, found)
    return found


def _path(node: ast.Node) -> tuple[str, ...] | None:
    match node:
        case ast.Identifier(name):
            return (name,)
        case ast.Root():
            return ()
        case ast.Member(target, ast.String(key)):
            prefix = _path(target)
            return None if prefix is None else (*prefix, key)
    return None


def _collect(node: ast.Node, found: set[tuple[str, ...]]) -> None:
    path = _path(node)
    if path is not None:
        found.add(path)
        return
    match node:
        case ast.Member(target, prop):
            _collect(target, found)
            _collect(prop, found)
        case ast.Slice(target, start, end):
            for child in (target, start, end):
                if child is not None:
                    _collect(child, found)
        case ast.Template(items) | ast.Array(items) | ast.Call(_, items):
            for child in items:
                _collect(child, found)
        case ast.Object(entries):
            for key, value in entries:
                _collect(key, found)
                _collect(value, found)
        case ast.Interval(_, left, right, _):
            _collect(left, found)
            _collect(right, found)
        case ast.Conditional(a, b, c):
            for child in (a, b, c):
                _collect(child, found)
        case ast.Unary(_, child) | ast.Parenthesized(child) | ast.Closure(child):
            _collect(child, found)
        case ast.Binary(_, left, right):
            _collect(left, found)
            _collect(right, found)


def has(
    node: ast.Node, kinds: tuple[type, ...], test: Callable[[ast.Node], bool] | None = None
) -> bool:
    if isinstance(node, kinds) and (test is None or test(node)):
        return True
    return any(has(child, kinds, test) for child in children(node))


def children(node: ast.Node) -> tuple[ast.Node, ...]:
    match node:
        case ast.Template(items) | ast.Array(items) | ast.Call(_, items):
            return items
        case ast.Object(entries):
            return tuple(x for pair in entries for x in pair)
        case ast.Member(a, b) | ast.Binary(_, a, b) | ast.Interval(_, a, b, _):
            return (a, b)
        case ast.Slice(a, b, c):
            return tuple(x for x in (a, b, c) if x is not None)
        case ast.Conditional(a, b, c):
            return (a, b, c)
        case ast.Unary(_, a) | ast.Parenthesized(a) | ast.Closure(a):
            return (a,)
    return ()


def static_path(node: ast.Node) -> tuple[str, ...] | None:
    match node:
        case ast.Identifier(name):
            return (name,)
        case ast.Member(target, ast.String(key)):
            prefix = static_path(target)
            return None if prefix is None else (*prefix, key)
    return None
