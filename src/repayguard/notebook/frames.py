"""Frames in, frames out: any eager DataFrame narwhals knows in, Polars inside, the same kind out.

The decision core works on Polars. A caller's frame (pandas, Polars, PyArrow, Modin, cuDF…) is
read through narwhals, so none of those libraries is needed unless the caller uses it, and a
result goes back as the caller's kind: pandas in, pandas out (with the input's index; list
columns Arrow-backed, each cell a Python list); Polars in, Polars out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import narwhals as nw
import polars as pl
import pyarrow as pa
from narwhals.dependencies import is_pandas_dataframe


@dataclass(frozen=True, slots=True)
class FrameKind:
    """Where a frame came from, so a result can go back as the same kind."""

    frame: nw.DataFrame[Any]

    def back(self, result: pl.DataFrame, *, row_aligned: bool = True) -> Any:
        """``result`` as a frame of the caller's kind; a ``row_aligned`` pandas result takes
        the input's index (so ``df.join(result)`` lines up)."""
        native_in = self.frame.to_native()
        if isinstance(native_in, pl.DataFrame):
            return result
        backend = nw.get_native_namespace(self.frame)
        if not is_pandas_dataframe(native_in):
            return nw.from_arrow(result.to_arrow(), backend=backend).to_native()
        # List columns stay Arrow-backed (each cell reads as a Python list): converting them to
        # numpy arrays per cell costs seconds a million rows, and would surprise a pandas user.
        out = result.to_arrow().to_pandas(
            types_mapper=lambda t: backend.ArrowDtype(t) if _is_list(t) else None
        )
        if row_aligned and len(native_in.index) == len(out):
            out.index = native_in.index
        return out


def _is_list(dtype: pa.DataType) -> bool:
    return bool(pa.types.is_list(dtype) or pa.types.is_large_list(dtype))


ID = "borrower_id"
"""A column echoed at the front of each row-aligned result when the input frame has it."""


def with_id(native: pl.DataFrame, result: pl.DataFrame) -> pl.DataFrame:
    """``result`` with the input's ``borrower_id`` in front (when it has one)."""
    if ID in native.columns and ID not in result.columns:
        return result.insert_column(0, native[ID])
    return result


def to_polars(frame: Any, *, what: str) -> tuple[pl.DataFrame, FrameKind]:
    """``frame`` as a Polars frame, and its kind to convert results back to.

    ``what`` names the argument in the error a caller sees for anything but an eager frame.
    """
    if isinstance(frame, pl.DataFrame):
        return frame, FrameKind(nw.from_native(frame, eager_only=True))
    if isinstance(frame, pl.LazyFrame):
        raise TypeError(f"{what} is a Polars LazyFrame: call .collect() on it first")
    try:
        wrapped = nw.from_native(frame, eager_only=True)
    except TypeError:
        raise TypeError(
            f"{what} must be a DataFrame (pandas, Polars, PyArrow or any eager frame narwhals "
            f"supports), not {type(frame).__name__}"
        ) from None
    return wrapped.to_polars(), FrameKind(wrapped)
