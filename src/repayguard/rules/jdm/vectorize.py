"""Expression nodes and switch conditions as Polars expressions, and the workspace every
vectorized node reads its input from (decision tables: :mod:`.tables`).

Each builder returns None when a node cannot be computed exactly in columns; the batch
evaluator then runs that node row by row. ``to_polars`` (the ZEN package) translates what it
can reproduce exactly and gives null where the row-wise evaluation raises; to tell such a null
from a legitimate one, the error mask of an expression ``e`` is read from ``e == null``, which
is null exactly where ``e`` raises. Constants (expressions reading nothing) are evaluated once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import polars as pl

from repayguard.rules.jdm.columns import ROOT, Cols, Leaf, Path
from repayguard.rules.jdm.importer import Compiled, ExpressionIR, SwitchIR, TableIR
from repayguard.rules.jdm.values import NODES_KEY, to_json
from repayguard.rules.zen import CLOCK_FUNCTIONS, ZenError, ast, referenced_paths, to_polars

ColumnRef = tuple[pl.Expr, pl.DataType]
SCOPE = "\x00scope"  # stands for ``$`` (the node's earlier results) in an expression node


def _children(node: Any) -> Iterable[Any]:
    if isinstance(node, tuple):
        yield from node
    elif hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            yield getattr(node, name)


def _any(node: Any, test: Callable[[Any], bool]) -> bool:
    return test(node) or any(_any(child, test) for child in _children(node))


def mentions_nodes(node: ast.Node) -> bool:
    """Whether an expression can see ``$nodes`` (by name, or through ``$root``)."""
    return _any(
        node,
        lambda n: (
            isinstance(n, ast.Root) or (isinstance(n, ast.Identifier) and n.name == NODES_KEY)
        ),
    )


def node_expressions(ir: Any) -> list[Compiled]:
    """Every compiled expression of a node."""
    found: list[Compiled | None] = []
    if isinstance(ir, TableIR):
        found += [ir.input_field, *ir.fields]
        for rule in ir.rules:
            found += [c.test for c in rule.cells] + [o for _, o in rule.outputs]
    elif isinstance(ir, ExpressionIR):
        found += [ir.input_field] + [e for _, e in ir.assignments]
    elif isinstance(ir, SwitchIR):
        found += [c for _, c in ir.statements]
    return [c for c in found if c is not None]


def reads_whole_input(ir: Any) -> bool:
    """Whether a node's expressions can see ``$nodes``."""
    return any(mentions_nodes(c.node) for c in node_expressions(ir))


def _constant(compiled: Compiled) -> tuple[bool, Any]:
    """(True, value) for an expression that reads nothing, uses no clock and cannot fail."""
    node = compiled.node
    if referenced_paths(node) or _any(node, lambda n: isinstance(n, ast.Pointer | ast.Root)):
        return False, None
    if _any(node, lambda n: isinstance(n, ast.Identifier) and n.name.startswith("$")):
        return False, None
    if _any(node, lambda n: isinstance(n, ast.Call) and n.name in CLOCK_FUNCTIONS):
        return False, None
    try:
        return True, to_json(compiled.run.evaluate_value({}))
    except ZenError:
        return False, None


def _scoped(node: Any) -> Any:
    """``$.a.b`` rewritten to read the node's own earlier results (see ``SCOPE``)."""
    if isinstance(node, ast.Identifier) and node.name == "$":
        return ast.Identifier(SCOPE)
    if isinstance(node, tuple):
        return tuple(_scoped(x) for x in node)
    if hasattr(node, "__dataclass_fields__") and not isinstance(node, ast.Closure):
        return type(node)(**{k: _scoped(getattr(node, k)) for k in node.__dataclass_fields__})
    return node


def _literal(value: Any) -> pl.Expr | None:
    """A host value as a Polars literal (None for objects and mixed lists)."""
    if isinstance(value, dict):
        return None
    if isinstance(value, list):
        try:
            return pl.lit(pl.Series([value], strict=True)).first()
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            return None
    return pl.lit(value)


def _masked(leaf: Leaf) -> pl.Series:
    """A leaf's values with null where the key is absent."""
    if leaf.present.all():
        return leaf.values
    frame = pl.DataFrame({"p": leaf.present, "v": leaf.values})
    return frame.select(pl.when(pl.col("p")).then(pl.col("v"))).to_series()


class Computed(NamedTuple):
    """An expression in columns: its value, where it raises, and ``(value,)`` when it is a
    constant."""

    value: pl.Expr
    error: pl.Expr
    constant: tuple[Any] | None = None


class Workspace:
    """A node's incoming data as a frame of leaf columns, read through ``column_of``.

    Reading a path gives its value (null where absent); a path holding an object in some row
    is not a column (None: the node runs row by row). Extra columns (a table's field values,
    an expression node's earlier results) are added with ``add``.
    """

    def __init__(self, data: Cols | list[Any], height: int) -> None:
        self.height = height
        self.cols = data if isinstance(data, Cols) else None
        self.names: dict[Path, str] = {}
        self.extra: dict[Path, ColumnRef] = {}
        columns: dict[str, pl.Series] = {}
        if self.cols is not None:
            for k, (path, leaf) in enumerate(self.cols.leaves.items()):
                self.names[path] = f"c{k}"
                columns[f"c{k}"] = _masked(leaf).alias(f"c{k}")
        self.frame = (
            pl.DataFrame(columns, height=height)
            if columns
            else pl.DataFrame({"_": pl.repeat(None, height, eager=True)})
        )

    def column_of(self, path: tuple[str, ...]) -> ColumnRef | None:
        if path in self.extra:
            return self.extra[path]
        if self.cols is None or not path or path[0] in (NODES_KEY, SCOPE):
            return None
        if any(p[: len(path)] == path for p in self.cols.objects):
            return None
        name = self.names.get(path)
        if name is not None:
            return pl.col(name), self.frame.schema[name]
        return pl.lit(None), pl.Null()

    def compute(self, exprs: list[pl.Expr]) -> pl.DataFrame:
        """Expressions over the workspace, one value per row (literals are broadcast)."""
        names = [e.meta.output_name() for e in exprs]
        return self.frame.with_columns(exprs).select(names)

    def add(self, path: Path, series: pl.Series) -> None:
        """Make ``series`` readable at ``path`` (a name no request can use)."""
        name = f"x{len(self.frame.columns)}"
        self.frame = self.frame.with_columns(series.alias(name))
        self.extra[path] = (pl.col(name), series.dtype)

    def dtype(self, expr: pl.Expr) -> pl.DataType:
        return self.frame.head(0).select(expr.alias("x")).schema["x"]

    def value(self, compiled: Compiled, node: ast.Node | None = None) -> Computed | None:
        """An expression's value and where it raises, or None when not vectorizable."""
        known, constant = _constant(compiled)
        if known:
            literal = _literal(constant)
            return None if literal is None else Computed(literal, pl.lit(False), (constant,))
        tree = compiled.node if node is None else node
        value = to_polars(tree, self.column_of)
        probe = to_polars(ast.Binary("==", tree, ast.Null()), self.column_of)
        if value is None or probe is None:
            return None
        return Computed(value, probe.is_null())

    def test(self, node: ast.Node, dollar: ColumnRef | None) -> pl.Expr | None:
        """A cell or condition as a mask: an error, a null or a non-boolean is false."""
        expr = to_polars(node, self.column_of, dollar=dollar)
        if expr is None:
            return None
        if self.dtype(expr) != pl.Boolean:
            return pl.lit(False)
        return expr.fill_null(False)

    def condition(self, compiled: Compiled) -> pl.Series | None:
        """A switch condition per row (None when not vectorizable)."""
        if self.cols is None or mentions_nodes(compiled.node):
            return None
        expr = self.test(compiled.node, None)
        if expr is None:
            return None
        return self.compute([expr.alias("\x00cond")]).to_series()


def prefix_conflict(paths: Iterable[Path]) -> bool:
    seen = sorted(set(paths), key=len)
    return any(a != b and b[: len(a)] == a for a in seen for b in seen)


# -- expression nodes -------------------------------------------------------------------------


def expression_cols(ir: ExpressionIR, space: Workspace) -> tuple[Cols, pl.Series] | None:
    """An expression node (single mode, no input field) in columns, with the rows on which it
    raises; or None."""
    t = ir.node.transform
    if space.cols is None or t.input_field is not None or t.execution_mode != "single":
        return None
    keys = [tuple(key.split(".")) for key, _ in ir.assignments]
    if prefix_conflict(keys) or len(set(keys)) != len(keys):
        return None
    n = space.height
    leaves: dict[Path, Leaf] = {}
    failed = pl.repeat(False, n, eager=True)
    everywhere = pl.repeat(True, n, eager=True)
    for path, (_, compiled) in zip(keys, ir.assignments, strict=True):
        if mentions_nodes(compiled.node):
            return None
        pair = space.value(compiled, _scoped(compiled.node))
        if pair is None:
            return None
        computed = space.compute([pair[0].alias("\x00v"), pair[1].alias("\x00e")])
        value = computed.get_column("\x00v")
        if value.dtype == pl.Object or isinstance(value.dtype, pl.Struct):
            return None
        failed = failed | computed.get_column("\x00e")
        leaves[path] = Leaf(value, everywhere)
        space.add((SCOPE, *path), value)
    objects = {p[:i]: everywhere for p in keys for i in range(len(p))}
    objects[ROOT] = everywhere
    out = Cols(n, leaves, objects)
    if t.output_path is not None:
        out = out.nested(tuple(t.output_path.split(".")))
    return out, failed
