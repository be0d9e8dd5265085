"""One way to copy a record: a dataclass or pydantic model built from an object by field name.

Rows read through SQLAlchemy become the frozen records features hand out, and those records
become API bodies; both copies are the same operation — every field of the target taken from
the source's attribute of that name — so it is written once here instead of a ``x=row.x``
line per field in every feature.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

_MISSING = object()


def record_of(cls: type[T], source: object, /, **computed: Any) -> T:
    """``cls`` built from ``source``: each of its fields from ``computed`` when given there,
    else from the source's attribute of the same name, else the field's default.

    ``computed`` holds the fields that are not a plain copy (a conversion, a value from
    elsewhere). A field with neither a value nor a default is refused by ``cls`` itself, with
    its name, as any constructor would.
    """
    values: dict[str, Any] = {}
    for name in _field_names(cls):
        if name in computed:
            values[name] = computed.pop(name)
            continue
        value = getattr(source, name, _MISSING)
        if value is not _MISSING:
            values[name] = value
    if computed:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(computed))}")
    return cls(**values)


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls) if f.init)
    if issubclass(cls, BaseModel):
        return tuple(cls.model_fields)
    raise TypeError(f"{cls.__name__} is neither a dataclass nor a pydantic model")
