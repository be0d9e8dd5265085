"""The JSON Schema an input or output node may carry: checked at import, applied per request.

zen-engine validates the request against the input node's schema (and what reaches an output
node against its schema) and fails the evaluation when it does not fit. repayguard applies the
same checks for the keywords below; a schema using any other keyword is refused at import
rather than half-applied.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

ANNOTATIONS = frozenset(
    {"description", "title", "default", "examples", "$schema", "$id", "$comment", "readOnly"}
)
CHECKED = frozenset(
    {
        "type",
        "properties",
        "required",
        "enum",
        "const",
        "items",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "additionalProperties",
    }
)
_TYPES = frozenset({"null", "boolean", "number", "integer", "string", "array", "object"})


def unsupported_keywords(schema: Any, path: str = "") -> list[str]:
    """Every keyword (with its place) this validator does not apply; empty when all are."""
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, Mapping):
        return [f"{path or '(root)'}: a schema must be an object"]
    found: list[str] = []
    for key, value in schema.items():
        where = f"{path}/{key}"
        if key in ANNOTATIONS:
            continue
        if key not in CHECKED:
            found.append(where)
        elif key == "properties" and isinstance(value, Mapping):
            for name, sub in value.items():
                found += unsupported_keywords(sub, f"{where}/{name}")
        elif key in ("items", "additionalProperties") and not isinstance(value, bool):
            found += unsupported_keywords(value, where)
        elif key == "type":
            names = value if isinstance(value, list) else [value]
            found += [f"{where}: {n!r}" for n in names if n not in _TYPES]
    return found


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_ok(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "number":
        return _is_number(value)
    if name == "integer":
        return _is_number(value) and float(value).is_integer()
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def _json_equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if type(a) is not type(b) and not (_is_number(a) and _is_number(b)):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def violations(schema: Any, value: Any, path: str = "") -> list[str]:
    """Where ``value`` does not fit ``schema`` (empty when it fits)."""
    if schema is True or schema is None:
        return []
    if schema is False:
        return [f"{path or '/'}: no value is allowed here"]
    out: list[str] = []
    here = path or "/"
    kind = schema.get("type")
    if kind is not None:
        names = kind if isinstance(kind, list) else [kind]
        if not any(_type_ok(value, n) for n in names):
            out.append(f"{here}: {value!r} is not of type {' or '.join(names)}")
            return out
    if "enum" in schema and not any(_json_equal(value, v) for v in schema["enum"]):
        out.append(f"{here}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and not _json_equal(value, schema["const"]):
        out.append(f"{here}: {value!r} is not {schema['const']!r}")
    if _is_number(value):
        for key, ok in (
            ("minimum", operator.ge),
            ("maximum", operator.le),
            ("exclusiveMinimum", operator.gt),
            ("exclusiveMaximum", operator.lt),
        ):
            bound = schema.get(key)
            if _is_number(bound) and not ok(value, bound):
                out.append(f"{here}: {value!r} breaks {key} {bound!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{here}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{here}: longer than {schema['maxLength']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{here}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"{here}: more than {schema['maxItems']} items")
        items = schema.get("items")
        if items is not None:
            for k, item in enumerate(value):
                out += violations(items, item, f"{path}/{k}")
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{here}: {name!r} is a required property")
        required = set(schema.get("required", []))
        for name, item in value.items():
            if item is None and name not in required:
                continue  # zen-engine lets an optional property be null
            if name in props:
                out += violations(props[name], item, f"{path}/{name}")
            elif "additionalProperties" in schema:
                out += violations(schema["additionalProperties"], item, f"{path}/{name}")
    return out
