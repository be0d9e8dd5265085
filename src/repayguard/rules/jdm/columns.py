"""JSON objects as columns: how the batch evaluator holds the data flowing between nodes.

A ``Cols`` is one JSON object per row, held as Polars series: a *leaf* per path whose values
are scalars or lists, and an *object* mask per path where rows hold an object (the root
included). Every series has a presence mask, because zen-engine tells a missing key from a
null one when merging (a null removes the key). In a row:

* a present leaf at ``p`` means the object at ``p``'s parent has the key with that value
  (possibly null), and nothing else is present at or under ``p``;
* an object at ``p`` means every ancestor is an object too.

``merge`` is ``values.merge`` (see there) computed with masks; ``to_rows`` gives per-row
Python values to nodes that cannot be vectorized, and ``to_frame``/``rows_to_frame`` build the
result frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

Path = tuple[str, ...]
ROOT: Path = ()


@dataclass(frozen=True, slots=True)
class Leaf:
    """Values at one path (scalars or lists) and where the key is present."""

    values: pl.Series
    present: pl.Series


@dataclass(slots=True)
class Cols:
    """One JSON object per row (see the module notes); ``objects[ROOT]`` says which rows hold
    an object at all (a table that matched nothing gives null)."""

    height: int
    leaves: dict[Path, Leaf] = field(default_factory=dict)
    objects: dict[Path, pl.Series] = field(default_factory=dict)

    def take(self, rows: pl.Series) -> Cols:
        """The rows at the given indices, in that order."""
        return Cols(
            len(rows),
            {
                p: Leaf(x.values.gather(rows), x.present.gather(rows))
                for p, x in self.leaves.items()
            },
            {p: m.gather(rows) for p, m in self.objects.items()},
        )

    def leaf(self, path: Path) -> Leaf | None:
        return self.leaves.get(path)

    def object_mask(self, path: Path) -> pl.Series:
        found = self.objects.get(path)
        return found if found is not None else _false(self.height)

    def nested(self, prefix: Path) -> Cols:
        """``{prefix: this}`` in every row (a row without an object here holds null there)."""
        objects = {(*prefix, *p): m for p, m in self.objects.items()}
        leaves = {(*prefix, *p): x for p, x in self.leaves.items()}
        for k in range(len(prefix)):
            objects[prefix[:k]] = _true(self.height)
        missing = ~self.object_mask(ROOT)
        if missing.any():
            leaves[prefix] = Leaf(pl.repeat(None, self.height, eager=True), missing)
        return Cols(self.height, leaves, objects)


def _true(n: int) -> pl.Series:
    return pl.repeat(True, n, eager=True, dtype=pl.Boolean)


def _false(n: int) -> pl.Series:
    return pl.repeat(False, n, eager=True, dtype=pl.Boolean)


def empty_object(n: int) -> Cols:
    """``{}`` in every row."""
    return Cols(n, {}, {ROOT: _true(n)})


def _numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def compatible(a: pl.DataType, b: pl.DataType) -> pl.DataType | None:
    """The dtype two leaves at one path can share, or None when they hold different JSON
    kinds (then the data is kept per row)."""
    if a == b:
        return a
    if a == pl.Null:
        return b
    if b == pl.Null:
        return a
    if _numeric(a) and _numeric(b):
        return pl.Float64()
    return None


def _combine(pick: pl.Series, first: pl.Series, second: pl.Series) -> pl.Series | None:
    """``first`` where ``pick``, else ``second`` (None when their kinds differ)."""
    dtype = compatible(first.dtype, second.dtype)
    if dtype is None:
        return None
    frame = pl.DataFrame({"p": pick, "a": first.cast(dtype), "b": second.cast(dtype)})
    return frame.select(pl.when(pl.col("p")).then(pl.col("a")).otherwise(pl.col("b"))).to_series()


def merge(doc: Cols, patch: Cols) -> Cols | None:
    """``values.merge(doc, patch)`` per row, or None when a path would hold values of
    different kinds in different rows (the caller then merges per row)."""
    n = doc.height
    false = _false(n)  # one all-false mask, only read, for every path a side lacks

    def d_obj(path: Path) -> pl.Series:
        return doc.objects.get(path, false)

    def p_obj(path: Path) -> pl.Series:
        return patch.objects.get(path, false)

    merged: dict[Path, pl.Series] = {ROOT: d_obj(ROOT) & p_obj(ROOT)}
    whole = p_obj(ROOT) & ~d_obj(ROOT)
    replace: dict[Path, pl.Series] = {ROOT: whole}
    drop: dict[Path, pl.Series] = {ROOT: whole}
    paths = sorted({*doc.leaves, *patch.leaves, *doc.objects, *patch.objects} - {ROOT}, key=len)
    for q in paths:
        reach = merged.get(q[:-1], false)
        leaf = patch.leaf(q)
        p_leaf = leaf.present if leaf is not None else false
        non_null = p_leaf & leaf.values.is_not_null() if leaf is not None else false
        obj_replace = reach & p_obj(q) & ~d_obj(q)
        replace[q] = (reach & non_null) | obj_replace
        drop[q] = (reach & p_leaf) | obj_replace
        merged[q] = reach & p_obj(q) & d_obj(q)

    def any_ancestor(masks: dict[Path, pl.Series], s: Path) -> pl.Series:
        out = masks[ROOT]
        for k in range(1, len(s) + 1):
            m = masks.get(s[:k])
            if m is not None:
                out = out | m
        return out

    leaves: dict[Path, Leaf] = {}
    for s in {*doc.leaves, *patch.leaves}:
        from_patch = any_ancestor(replace, s)
        keep_doc = ~any_ancestor(drop, s)
        a, b = patch.leaf(s), doc.leaf(s)
        if a is None and b is not None:
            leaves[s] = Leaf(b.values, keep_doc & b.present & ~from_patch)
        elif b is None and a is not None:
            leaves[s] = Leaf(a.values, from_patch & a.present)
        elif a is not None and b is not None:
            values = _combine(from_patch, a.values, b.values)
            if values is None:
                return None
            leaves[s] = Leaf(
                values, (from_patch & a.present) | (~from_patch & keep_doc & b.present)
            )
    objects: dict[Path, pl.Series] = {}
    for s in {*doc.objects, *patch.objects}:
        objects[s] = (any_ancestor(replace, s) & p_obj(s)) | (~any_ancestor(drop, s) & d_obj(s))
    objects[ROOT] = d_obj(ROOT) | p_obj(ROOT)
    return Cols(n, leaves, objects)


# -- frames and rows --------------------------------------------------------------------------


def from_frame(frame: pl.DataFrame) -> Cols:
    """The request frame as objects: one key per column, struct columns as nested objects."""
    n = frame.height
    out = empty_object(n)
    for name in frame.columns:
        _add_series(out, (name,), frame.get_column(name), _true(n))
    return out


def _add_series(out: Cols, path: Path, series: pl.Series, present: pl.Series) -> None:
    if isinstance(series.dtype, pl.Struct):
        here = present & series.is_not_null()
        out.objects[path] = here
        is_null = present & series.is_null()
        if is_null.any():
            out.leaves[path] = Leaf(pl.Series(path[-1], [None] * out.height), is_null)
        for child in series.struct.fields:
            _add_series(out, (*path, child), series.struct.field(child), here)
    else:
        out.leaves[path] = Leaf(series, present)


def to_rows(cols: Cols) -> list[Any]:
    """Each row's JSON object as Python values (None where the row holds no object)."""
    rows: list[Any] = [{} if ok else None for ok in cols.object_mask(ROOT).to_list()]
    for path in sorted(cols.objects, key=len):
        if not path:
            continue
        for i, ok in enumerate(cols.objects[path].to_list()):
            if ok:
                _ensure(rows[i], path)
    for path, leaf in cols.leaves.items():
        values = leaf.values.to_list()
        for i, ok in enumerate(leaf.present.to_list()):
            if ok:
                parent = _ensure(rows[i], path[:-1])
                if parent is not None:
                    parent[path[-1]] = values[i]
    return rows


def _ensure(row: Any, path: Path) -> Any:
    head = row
    for step in path:
        if not isinstance(head, dict):
            return None
        head = head.setdefault(step, {})
    return head


def _floats(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _held(given: Any, held: Any) -> bool:
    """Whether a series kept a value (a struct may add null fields; numbers by value)."""
    if isinstance(given, dict):
        return isinstance(held, dict) and all(_held(v, held.get(k)) for k, v in given.items())
    if isinstance(given, list):
        return (
            isinstance(held, list)
            and len(given) == len(held)
            and all(_held(a, b) for a, b in zip(given, held, strict=True))
        )
    if isinstance(given, bool) or isinstance(held, bool):
        return given is held
    return bool(given == held)


def series_of(values: Sequence[Any], name: str = "v") -> pl.Series | None:
    """A typed series holding exactly these host values, or None when they mix JSON kinds.
    (Polars may narrow numbers inside nested lists; every value is checked after building.)"""
    for attempt in (list(values), [_floats(v) for v in values]):
        try:
            series = pl.Series(name, attempt, strict=True)
        except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
            continue
        if all(_held(v, h) for v, h in zip(values, series.to_list(), strict=True)):
            return series
    return None


def all_true(n: int) -> pl.Series:
    """A mask true in every row."""
    return _true(n)


def _masked_values(leaf: Leaf) -> pl.Series:
    if leaf.present.all():
        return leaf.values
    frame = pl.DataFrame({"p": leaf.present, "v": leaf.values})
    return frame.select(pl.when(pl.col("p")).then(pl.col("v"))).to_series()


def _column(cols: Cols, path: Path) -> pl.Series | None:
    """The values at ``path`` as one series (structs for objects), or None when rows mix an
    object there with another value, or an object has no keys at all."""
    leaf = cols.leaves.get(path)
    obj = cols.objects.get(path)
    if leaf is not None and obj is not None and obj.any():
        return None
    if obj is None or not obj.any():
        return _masked_values(leaf).alias(path[-1]) if leaf is not None else None
    children = sorted(
        {
            p[len(path)]
            for p in (*cols.leaves, *cols.objects)
            if len(p) > len(path) and p[: len(path)] == path
        }
    )
    fields = []
    for child in children:
        series = _column(cols, (*path, child))
        if series is None:
            return None
        fields.append(series.alias(child))
    if not fields:
        return None
    frame = pl.DataFrame({"o": obj, **{f"f{k}": s for k, s in enumerate(fields)}})
    struct = pl.struct([pl.col(f"f{k}").alias(s.name) for k, s in enumerate(fields)])
    return frame.select(pl.when(pl.col("o")).then(struct).alias(path[-1])).to_series()


def to_frame(cols: Cols) -> pl.DataFrame | None:
    """One column per top-level key (None when some key cannot be one typed column)."""
    if not cols.object_mask(ROOT).all():
        return None
    keys = list(dict.fromkeys(p[0] for p in (*cols.leaves, *cols.objects) if p))
    out: list[pl.Series] = []
    for key in keys:
        series = _column(cols, (key,))
        if series is None:
            return None
        out.append(series)
    return pl.DataFrame(out, height=cols.height) if out else pl.DataFrame(height=cols.height)


def _series(name: str, values: list[Any]) -> pl.Series:
    found = series_of(values, name)
    return found if found is not None else pl.Series(name, values, dtype=pl.Object)


def rows_to_frame(values: list[Any]) -> pl.DataFrame:
    """Per-row results (plain JSON) as a frame: a column per key of the objects, or a single
    ``result`` column when some result is not an object."""
    if all(isinstance(v, dict) for v in values):
        keys = list(dict.fromkeys(k for v in values for k in v))
        return pl.DataFrame(
            [_series(k, [v.get(k) for v in values]) for k in keys], height=len(values)
        )
    return pl.DataFrame([_series("result", values)])
