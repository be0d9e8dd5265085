"""How data moves between JDM nodes: dotted-path writes and the merge of node outputs.

These are the rules zen-engine applies, which a graph's results depend on:

* ``dot_insert(obj, "a.b.c", v)`` creates the missing objects on the way; if something on the
  way is not an object the write is silently dropped.
* ``merge(doc, patch)``: a list patch replaces the whole document; any other non-object
  patch (null included) changes nothing; objects merge key by key -- a null value *removes*
  the key, two objects merge recursively, anything else replaces.
* a node's input is its first predecessor's output itself (nulls and all) when that is an
  object or a list, with the other predecessors' outputs merged over it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from repayguard.rules.zen import to_host

NODES_KEY = "$nodes"


def copy_value(value: Any) -> Any:
    """A deep copy of a JSON value (lists and objects are never shared between nodes)."""
    if isinstance(value, dict):
        return {k: copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_value(v) for v in value]
    return value


def dot_insert(target: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at a dotted ``path`` inside ``target`` (see the module notes)."""
    parts = path.split(".")
    head: Any = target
    for part in parts[:-1]:
        if not isinstance(head, dict):
            return
        head = head.setdefault(part, {})
    if isinstance(head, dict):
        head[parts[-1]] = value


def dot_get(source: Any, path: str) -> Any:
    """The value at a dotted path, or None when any step is missing or not an object."""
    for part in path.split("."):
        if not isinstance(source, dict):
            return None
        source = source.get(part)
    return source


def same_value(a: Any, b: Any) -> bool:
    """The engine's value equality: numbers by value, lists and objects by content."""
    if a is b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    if a is None or b is None:
        return a is b
    return type(a) is type(b) and bool(a == b)


def _merge_value(doc: Any, patch: Any) -> tuple[Any, bool]:
    """``patch`` merged into ``doc`` below the top level, and whether anything changed.

    Unchanged values keep their identity and an object merged with itself is left alone, as
    in zen-engine (whose objects are shared references): so a null inside an object that two
    branches both passed through unchanged survives their merge.
    """
    if isinstance(doc, dict) and isinstance(patch, dict):
        if doc is patch:
            return doc, False
        out = dict(doc)
        changed = False
        for key, value in patch.items():
            if value is None:
                if key in out:
                    del out[key]
                    changed = True
                continue
            merged, moved = _merge_value(out.get(key), value)
            if moved or key not in out:
                out[key] = merged
                changed = True
        return (out, True) if changed else (doc, False)
    if same_value(doc, patch):
        return doc, False
    return patch, True


def merge(doc: Any, patch: Any) -> Any:
    """``patch`` merged over ``doc`` (see the module notes); neither argument changes."""
    if isinstance(patch, list):
        return patch
    if not isinstance(patch, dict):
        return doc
    return _merge_value(doc, patch)[0]


def merge_incoming(parts: list[Any]) -> Any:
    """A node's input from its predecessors' outputs, in merge order: the first output itself
    when it is an object or a list (else ``{}``), with each further one merged over it."""
    if not parts:
        return {}
    head = parts[0] if isinstance(parts[0], dict | list) else {}
    for part in parts[1:]:
        head = merge(head, part)
    return head


def to_json(value: Any) -> Any:
    """A graph result as zen-engine's Python binding hands it back: a whole number that fits
    64 bits as ``int``, any other number as the nearest ``float``."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and -(2**63) <= value < 2**64:
            return int(value)
        return float(value)  # correctly rounded, as the graph result's JSON numbers are
    if value is None or isinstance(value, bool | str | int | float):
        return value
    return to_host(value)
