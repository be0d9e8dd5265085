"""A frame of policy inputs checked against the policy's declarations, column- and row-wise.

The same boundary ``repayguard policy eval`` applies to each JSON line, over a whole frame at
once: a column the policy tests (or declares ``nullable: false``) must be there, each column
must hold its declared type, and each value must fit the declared enum, bounds and
nullability. Offending rows are named by position (from 0) with the reason ``policy eval``
gives, so a frame is never decided on values the policy was not written for.
"""

from __future__ import annotations

import math
from typing import Any, Final

import polars as pl

from repayguard.core.policy import CompiledPolicy, InputSpec
from repayguard.core.policy.inputs import coerce_value
from repayguard.errors import PolicyInputsInvalid

SHOWN: Final = 5
"""Bad rows quoted in an error's message (every one is counted; the first 100 are in detail)."""
_KEPT: Final = 100
_TEXT: Final = (pl.String, pl.Categorical, pl.Enum)


def typed_inputs(compiled: CompiledPolicy, frame: pl.DataFrame) -> pl.DataFrame:
    """Every declared input of ``frame`` in its type (integers Int64, numbers Float64 with NaN
    as null, dates from Date, Datetime or ``YYYY-MM-DD`` text); an input the policy neither
    tests nor requires may be absent (null). Raises PolicyInputsInvalid naming missing
    columns, columns of the wrong type, or each row whose value does not fit."""
    policy = compiled.policy
    used = set(compiled.inputs_used)
    missing = [
        name
        for name, spec in policy.inputs.items()
        if name not in frame.columns and (name in used or not spec.nullable)
    ]
    if missing:
        shown = ", ".join(repr(m) for m in missing)
        raise PolicyInputsInvalid(
            f"the frame lacks column(s) {shown}, which policy {policy.name!r} needs",
            hint="add them (null where a value is unknown), or rename your columns to the "
            f"policy's input names: {', '.join(policy.inputs)}",
            errors=dict.fromkeys(missing, "missing column"),
        )
    wrong = {
        name: f"holds {frame.schema[name]} values; the policy declares it {spec.type}"
        for name, spec in policy.inputs.items()
        if name in frame.columns and not _fits(spec.type, frame.schema[name])
    }
    if wrong:
        shown = "; ".join(f"{name} {why}" for name, why in wrong.items())
        raise PolicyInputsInvalid(
            f"column types do not fit policy {policy.name!r}: {shown}",
            hint="cast the columns (numbers for number/integer inputs, text for strings, "
            "True/False for booleans, dates or YYYY-MM-DD text for dates)",
            errors=wrong,
        )
    typed = frame.select(
        _typed(name, spec, frame.schema.get(name)) for name, spec in policy.inputs.items()
    )
    bad = typed.select(_bad_any(frame, typed, policy.inputs).alias("bad"))["bad"]
    if bad.any():
        raise _rows_rejected(compiled, frame, typed, bad)
    return typed.with_columns(
        pl.col(name).cast(pl.Int64)
        for name, spec in policy.inputs.items()
        if spec.type == "integer"
    )


def _fits(kind: str, dtype: pl.DataType) -> bool:
    if dtype == pl.Null:
        return True
    if kind in ("number", "integer"):
        return dtype.is_numeric()
    if kind == "string":
        return isinstance(dtype, _TEXT)
    if kind == "boolean":
        return dtype == pl.Boolean
    return isinstance(dtype, pl.Date | pl.Datetime) or dtype == pl.String


def _typed(name: str, spec: InputSpec, dtype: pl.DataType | None) -> pl.Expr:
    """The column in its checking type: Float64 for numbers (NaN as null), String, Boolean,
    Date (text parsed leniently: a value that does not parse is caught as a bad row)."""
    column = pl.lit(None) if dtype is None else pl.col(name)
    if spec.type in ("number", "integer"):
        return column.cast(pl.Float64).fill_nan(None).alias(name)
    if spec.type == "date":
        if dtype == pl.String:
            return column.str.to_date("%Y-%m-%d", strict=False).alias(name)
        return column.cast(pl.Date).alias(name)
    return column.cast(pl.String if spec.type == "string" else pl.Boolean).alias(name)


def _bad(given: pl.Expr, typed: pl.Expr, spec: InputSpec) -> pl.Expr:
    """Rows where a value does not fit its declaration (null counts as fitting when the input
    is nullable; a value that did not convert never does)."""
    checks = [given.is_not_null() & typed.is_null()]
    if not spec.nullable:
        checks.append(typed.is_null())
    if spec.type in ("number", "integer"):
        checks.append(typed.is_infinite())
        if spec.type == "integer":
            checks.append(typed.is_finite() & (typed != typed.floor()))
        if spec.minimum is not None:
            checks.append(typed < spec.minimum)
        if spec.maximum is not None:
            checks.append(typed > spec.maximum)
    if spec.enum is not None:
        checks.append(~typed.is_in(list(spec.enum)))
    return pl.any_horizontal(checks).fill_null(False)


def _bad_any(frame: pl.DataFrame, typed: pl.DataFrame, inputs: dict[str, InputSpec]) -> pl.Expr:
    given = {name: _given(frame, name) for name in inputs}
    return pl.any_horizontal(
        [_bad(given[name], pl.col(name), spec) for name, spec in inputs.items()]
    )


def _given(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The caller's value as given (NaN as null), for "given but did not convert"."""
    if name not in frame.columns:
        return pl.lit(None)
    column = pl.lit(frame[name])
    return column.fill_nan(None) if frame.schema[name].is_float() else column


def _rows_rejected(
    compiled: CompiledPolicy, frame: pl.DataFrame, typed: pl.DataFrame, bad: pl.Series
) -> PolicyInputsInvalid:
    """The error naming each bad row (position from 0), input and reason."""
    policy = compiled.policy
    positions = bad.arg_true()
    rows: list[dict[str, Any]] = []
    for position in positions.head(_KEPT).to_list():
        for name, spec in policy.inputs.items():
            value = _value(frame, typed, name, position)
            reason = _reason(spec, value)
            if reason is not None:
                rows.append({"row": position, "input": name, "reason": reason})
    shown = "; ".join(f"row {r['row']} {r['input']}: {r['reason']}" for r in rows[:SHOWN])
    more = f" (and {positions.len() - 1:,} more row(s))" if positions.len() > 1 else ""
    errors: dict[str, str] = {}
    for r in rows:
        errors.setdefault(r["input"], f"row {r['row']}: {r['reason']}")
    return PolicyInputsInvalid(
        f"{positions.len():,} row(s) do not fit policy {policy.name!r}: {shown}{more}",
        hint="fix or drop those rows (positions count from 0) and evaluate again",
        errors=errors,
        rows=rows,
    )


def _value(frame: pl.DataFrame, typed: pl.DataFrame, name: str, position: int) -> Any:
    """A value as the row boundary judges it: the typed one, or the caller's when it did
    not convert (text that is not a date)."""
    value = typed[name][position]
    if value is None and name in frame.columns:
        given = frame[name][position]
        if given is not None and not (isinstance(given, float) and math.isnan(given)):
            return str(given) if frame.schema[name] == pl.String else given
    if value is not None and name in frame.columns and isinstance(value, float):
        original = frame[name][position]
        if isinstance(original, int) and not isinstance(original, bool):
            return original
    return value


def _reason(spec: InputSpec, value: Any) -> str | None:
    try:
        coerce_value(spec, value)
    except ValueError as exc:
        return str(exc)
    return None
