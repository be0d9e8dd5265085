"""A trained model's input columns: numeric or categorical, each with its reason texts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl

from repayguard.core.features import FEATURE_BY_NAME
from repayguard.core.reasons import CATALOG, stated_side

NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
_CODE_CHARS: Final = re.compile(r"[^A-Z0-9]+")
_NUMERIC_TYPES: Final = (
    pl.Float64, pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.Int64,
    pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64, pl.Boolean, pl.Decimal,
)  # fmt: skip


class InputsInvalid(ValueError):
    """Input columns a model cannot use: missing, of an unsupported type, or duplicated."""


@dataclass(frozen=True, slots=True)
class InputColumn:
    """One input of a trained model and the reason it gives when the input raises risk.

    ``direction`` (1, -1 or 0) is the expected sign of the relation with risk, used as a
    monotone constraint where a model supports one; 0 lets the data decide.
    """

    name: str
    kind: str
    reason_code: str
    reason_en: str
    reason_zh: str
    direction: int = 0

    @property
    def categorical(self) -> bool:
        return self.kind == CATEGORICAL

    @property
    def side(self) -> int:
        """The direction the reason code states about this input (1 high, -1 low, 0 none),
        from the catalog, so stored artefacts of any age read it the same way."""
        return stated_side(self.reason_code, self.name)

    @property
    def missing_code(self) -> str:
        """The code given when this input is missing and that raises risk ("" for none)."""
        spec = FEATURE_BY_NAME.get(self.name)
        return spec.missing_code if spec and spec.reason_code == self.reason_code else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "reason_code": self.reason_code,
            "reason_en": self.reason_en,
            "reason_zh": self.reason_zh,
            "direction": self.direction,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputColumn:
        kind = str(data["kind"])
        if kind not in (NUMERIC, CATEGORICAL):
            raise InputsInvalid(f"input {data.get('name')!r} has unknown kind {kind!r}")
        return cls(
            name=str(data["name"]),
            kind=kind,
            reason_code=str(data["reason_code"]),
            reason_en=str(data["reason_en"]),
            reason_zh=str(data["reason_zh"]),
            direction=int(data.get("direction", 0)),
        )


def feature_inputs(names: Sequence[str]) -> tuple[InputColumn, ...]:
    """Inputs for declared features (event-store models): reasons come with the feature."""
    unknown = [n for n in names if n not in FEATURE_BY_NAME]
    if unknown:
        raise InputsInvalid(f"{unknown} are not declared features")
    return tuple(
        InputColumn(
            name=spec.name,
            kind=NUMERIC,
            reason_code=spec.reason_code,
            reason_en=spec.reason_en,
            reason_zh=spec.reason_zh,
            direction=spec.risk_direction,
        )
        for spec in (FEATURE_BY_NAME[n] for n in names)
    )


def reason_code_for(column: str) -> str:
    """A stable reason code for an analyst's own column: upper snake case, ``COL_`` prefixed
    when it would otherwise clash with the catalog or not start with a letter."""
    code = _CODE_CHARS.sub("_", column.upper()).strip("_") or "COLUMN"
    if code in CATALOG or not code[0].isalpha():
        code = f"COL_{code}"
    return code


def tabular_inputs(
    schema: Mapping[str, pl.DataType], exclude: Sequence[str]
) -> tuple[InputColumn, ...]:
    """Inputs for an analyst's table: numbers and booleans are numeric, strings categorical.

    Raises InputsInvalid naming columns of other types (dates, lists, ...), which should be
    excluded or turned into numbers first.
    """
    inputs, unsupported = [], []
    for name, dtype in schema.items():
        if name in exclude:
            continue
        if isinstance(dtype, (pl.String, pl.Categorical, pl.Enum)):
            kind = CATEGORICAL
        elif isinstance(dtype, _NUMERIC_TYPES):
            kind = NUMERIC
        else:
            unsupported.append(f"{name} ({dtype})")
            continue
        inputs.append(
            InputColumn(
                name=name,
                kind=kind,
                reason_code=reason_code_for(name),
                reason_en=f"The value of '{name}' raises the estimated risk.",
                reason_zh=f"“{name}”的取值提高了风险评估。",
            )
        )
    if unsupported:
        raise InputsInvalid(
            f"columns of types a model cannot use: {', '.join(unsupported)}; exclude them or "
            "convert them to numbers"
        )
    if not inputs:
        raise InputsInvalid("no input columns left besides the target")
    codes = [i.reason_code for i in inputs]
    if len(set(codes)) != len(codes):
        raise InputsInvalid("two columns map to the same reason code; rename one of them")
    return tuple(inputs)


def check_columns(frame: pl.DataFrame, inputs: Sequence[InputColumn], version: str) -> None:
    """Raise InputsInvalid when ``frame`` lacks an input of the model."""
    missing = [i.name for i in inputs if i.name not in frame.columns]
    if missing:
        raise InputsInvalid(f"the data lacks {missing}, needed by model {version}")


def numeric_column(frame: pl.DataFrame, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A numeric input as float64 with NaN for missing (null or NaN)."""
    values = frame.get_column(name).cast(pl.Float64).to_numpy()
    return np.asarray(values, dtype=np.float64)


def reason_texts(inputs: Sequence[InputColumn]) -> dict[str, dict[str, str]]:
    """code -> locale -> text for the inputs' reasons (for codes outside the catalog)."""
    return {i.reason_code: {"en": i.reason_en, "zh-CN": i.reason_zh} for i in inputs}
