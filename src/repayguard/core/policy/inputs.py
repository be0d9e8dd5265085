"""The evaluation boundary: JSON input objects checked and converted to the declared types.

``eval``, ``explain`` and the API take inputs as JSON; each value must fit its input's declared
type, enum, bounds and nullability before the policy sees it. Names the policy does not declare
pass through untouched (a ``borrower_id`` for instance) and are never evaluated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from repayguard.core.policy.model import InputSpec, Policy

_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InputsInvalid(ValueError):
    """Input values that do not fit the policy's declarations; ``errors`` has one per input."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        shown = "; ".join(f"{name}: {reason}" for name, reason in self.errors.items())
        super().__init__(f"inputs do not fit the policy: {shown}")


def coerce_value(spec: InputSpec, value: Any) -> Any:
    """One value in the input's type; raises ValueError with the reason when it does not fit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if not spec.nullable:
            raise ValueError("is required (the input is declared nullable: false)")
        return None
    kind = spec.type
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        if kind == "integer":
            if not float(value).is_integer():
                raise ValueError(f"expected a whole number, got {value!r}")
            value = int(value)
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(f"{value!r} is below the minimum {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(f"{value!r} is above the maximum {spec.maximum:g}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if kind == "date":
        if type(value) is date:
            return value
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    if spec.enum is not None and value not in spec.enum:
        raise ValueError(f"{value!r} is not one of {list(spec.enum)}")
    return value


def coerce_inputs(policy: Policy, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared input of ``raw`` in its type (missing ones null); raises InputsInvalid
    naming each input that does not fit. Undeclared names are kept as given."""
    out = dict(raw)
    errors: dict[str, str] = {}
    for name, spec in policy.inputs.items():
        try:
            out[name] = coerce_value(spec, raw.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise InputsInvalid(errors)
    return out


def json_value(value: Any) -> Any:
    """A typed input value as JSON (dates as ``YYYY-MM-DD``)."""
    return value.isoformat() if isinstance(value, date) else value
