"""Decision tables as Polars expressions: rule masks from the cells, outputs per hit policy.

A first-hit table computes, per row, the index of the rule that hit and takes each output
from that rule (outputs that are constants in every rule are looked up by that index); a
collect table with an output path builds the list of matching rules' objects. ``table_cols``
returns None when the table cannot be computed exactly in columns.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from repayguard.rules.jdm.columns import ROOT, Cols, Leaf, Path, compatible, series_of
from repayguard.rules.jdm.importer import TableIR
from repayguard.rules.jdm.vectorize import ColumnRef, Computed, Workspace, prefix_conflict
from repayguard.rules.zen import ast


def _field_refs(ir: TableIR, space: Workspace) -> list[tuple[ColumnRef, pl.Expr] | None] | None:
    """Per input column, the tested value (``$``) as a readable column and where computing it
    raises (a raising field fails the rule's cell, as in zen-engine)."""
    refs: list[tuple[ColumnRef, pl.Expr] | None] = []
    for k, field in enumerate(ir.fields):
        if field is None:
            refs.append(None)
            continue
        path = _static_path(field.node)
        direct = space.column_of(path) if path is not None else None
        if direct is not None:
            refs.append((direct, pl.lit(False)))
            continue
        found = space.value(field)
        if found is None:
            return None
        computed = space.compute([found.value.alias("\x00v"), found.error.alias("\x00e")])
        space.add(("\x00field", str(k)), computed.get_column("\x00v"))
        space.add(("\x00error", str(k)), computed.get_column("\x00e"))
        refs.append((space.extra[("\x00field", str(k))], space.extra[("\x00error", str(k))][0]))
    return refs


def _static_path(node: ast.Node) -> tuple[str, ...] | None:
    """The path a plain member chain reads (``a.b.c``), else None."""
    steps: list[str] = []
    while isinstance(node, ast.Member) and isinstance(node.property, ast.String):
        steps.append(node.property.value)
        node = node.node
    if isinstance(node, ast.Identifier) and not node.name.startswith("$"):
        return (node.name, *reversed(steps))
    return None


def _rule_masks(ir: TableIR, space: Workspace) -> list[pl.Expr] | None:
    refs = _field_refs(ir, space)
    if refs is None:
        return None
    masks: list[pl.Expr] = []
    for rule in ir.rules:
        mask = pl.lit(True)
        for cell in rule.cells:
            ref = refs[cell.column] if cell.unary else None
            test = space.test(cell.test.node, ref[0] if ref is not None else None)
            if test is None:
                return None
            if ref is not None:
                test = test & ~ref[1]
            mask = mask & test
        masks.append(mask)
    return masks


def table_cols(ir: TableIR, space: Workspace) -> Cols | None:
    """A decision table (single mode, no input field) in columns, its output path applied;
    or None."""
    t = ir.node.transform
    if space.cols is None or t.input_field is not None or t.execution_mode != "single":
        return None
    masks = _rule_masks(ir, space)
    if masks is None:
        return None
    outputs: list[dict[Path, Computed]] = []
    for k, rule in enumerate(ir.rules):
        found: dict[Path, Computed] = {}
        for dotted, compiled in rule.outputs:
            pair = space.value(compiled)
            if pair is None:
                return None
            found[tuple(dotted.split("."))] = pair
        if prefix_conflict(found):
            return None
        error = pl.lit(False)
        for computed in found.values():
            error = error | computed.error
        masks[k] = masks[k] & ~error
        outputs.append(found)
    at = tuple(t.output_path.split(".")) if t.output_path is not None else None
    if ir.node.hit_policy == "first":
        hit = _first_hit(space, masks, outputs)
        return None if hit is None else (hit if at is None else hit.nested(at))
    return None if at is None else _collect(space, masks, outputs, at)


def _first_hit(
    space: Workspace, masks: list[pl.Expr], outputs: list[dict[Path, Computed]]
) -> Cols | None:
    n = space.height
    index: Any = pl.lit(None, dtype=pl.Int32)
    for k in reversed(range(len(masks))):
        index = pl.when(masks[k]).then(pl.lit(k, dtype=pl.Int32)).otherwise(index)
    hit = space.compute([index.alias("\x00hit")]).to_series()
    space.add(("\x00hit",), hit)
    hit_col = space.extra[("\x00hit",)][0]
    paths = sorted({p for found in outputs for p in found}, key=lambda p: (len(p), p))
    if prefix_conflict(paths):
        return None
    exprs: list[pl.Expr] = []
    gathered: dict[Path, Leaf] = {}
    slot = hit.fill_null(len(outputs)).cast(pl.UInt32)
    tables: dict[Path, tuple[pl.Series, tuple[int, ...]]] = {}
    for j, path in enumerate(paths):
        rules = [k for k, found in enumerate(outputs) if path in found]
        table = _lookup_table(outputs, path)
        if table is not None:
            tables[path] = (table, tuple(rules))
            continue
        dtype: Any = pl.Null()
        for k in rules:
            dtype = compatible(dtype, space.dtype(outputs[k][path][0]))
            if dtype is None:
                return None
        value: Any = pl.lit(None, dtype=dtype)
        for k in reversed(rules):
            value = pl.when(hit_col == k).then(outputs[k][path][0].cast(dtype)).otherwise(value)
        exprs += [value.alias(f"v{j}"), hit_col.is_in(rules).fill_null(False).alias(f"p{j}")]
    for j, prefix in enumerate(sorted({p[:i] for p in paths for i in range(1, len(p))})):
        rules = [
            k for k, found in enumerate(outputs) if any(p[: len(prefix)] == prefix for p in found)
        ]
        exprs.append(hit_col.is_in(rules).fill_null(False).alias(f"o{j}"))
    if tables:
        gathered = _gather_tables(tables, len(outputs), slot)
    frame = space.compute(exprs) if exprs else pl.DataFrame(height=n)
    leaves = {
        path: gathered.get(path) or Leaf(frame.get_column(f"v{j}"), frame.get_column(f"p{j}"))
        for j, path in enumerate(paths)
    }
    objects = {
        prefix: frame.get_column(f"o{j}")
        for j, prefix in enumerate(sorted({p[:i] for p in paths for i in range(1, len(p))}))
    }
    objects[ROOT] = hit.is_not_null()
    return Cols(n, leaves, objects)


def _lookup_table(outputs: list[dict[Path, Computed]], path: Path) -> pl.Series | None:
    """An output every rule gives as a constant: its value per rule, then a null slot for rows
    without a hit (None when some rule computes it)."""
    values: list[Any] = []
    for found in outputs:
        if path not in found:
            values.append(None)
            continue
        constant = found[path].constant
        if constant is None:
            return None
        values.append(constant[0])
    return series_of([*values, None])


def _gather_tables(
    tables: dict[Path, tuple[pl.Series, tuple[int, ...]]], rules: int, slot: pl.Series
) -> dict[Path, Leaf]:
    """The constant outputs gathered by the index of the rule that hit, all in one pass (the
    columns gather in parallel); outputs given by the same rules share one presence mask."""
    given = {
        held: pl.Series([k in held for k in range(rules)] + [False])
        for held in dict.fromkeys(r for _, r in tables.values())
    }
    names = {held: f"g{i}" for i, held in enumerate(given)}
    small = pl.DataFrame(
        [t.alias(f"v{i}") for i, (t, _) in enumerate(tables.values())]
        + [g.alias(names[held]) for held, g in given.items()]
    )
    out = small[slot]
    return {
        path: Leaf(out.get_column(f"v{i}"), out.get_column(names[held]))
        for i, (path, (_, held)) in enumerate(tables.items())
    }


def _struct(paths: list[Path], values: dict[Path, pl.Expr], depth: int = 0) -> pl.Expr:
    """Nested structs for dotted output paths."""
    fields: dict[str, list[Path]] = {}
    for p in paths:
        fields.setdefault(p[depth], []).append(p)
    parts = []
    for name, group in fields.items():
        if len(group) == 1 and len(group[0]) == depth + 1:
            parts.append(values[group[0]].alias(name))
        else:
            parts.append(_struct(group, values, depth + 1).alias(name))
    return pl.struct(parts)


def _collect(
    space: Workspace,
    masks: list[pl.Expr],
    outputs: list[dict[Path, Computed]],
    at: Path,
) -> Cols | None:
    """A collect table with an output path: the list of matching rules' objects at that path
    (only when every rule writes the same outputs, so the objects share one shape)."""
    shapes = {tuple(sorted(found)) for found in outputs}
    if len(shapes) != 1 or not outputs or not outputs[0]:
        return None
    paths = list(shapes.pop())
    dtypes: dict[Path, Any] = dict.fromkeys(paths, pl.Null())
    for found in outputs:
        for p in paths:
            dtypes[p] = compatible(dtypes[p], space.dtype(found[p][0]))
            if dtypes[p] is None:
                return None
    items = [
        pl.when(mask).then(_struct(paths, {p: found[p][0].cast(dtypes[p]) for p in paths}))
        for mask, found in zip(masks, outputs, strict=True)
    ]
    listed = pl.concat_list(items).list.drop_nulls()
    series = space.compute([listed.alias("\x00list")]).to_series()
    n = space.height
    everywhere = pl.repeat(True, n, eager=True)
    objects = {at[:i]: everywhere for i in range(len(at))}
    return Cols(n, {at: Leaf(series, everywhere)}, objects)
