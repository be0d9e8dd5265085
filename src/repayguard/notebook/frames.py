"""Frames in, frames out: any eager DataFrame narwhals knows in, Polars inside, the same kind out.

The decision core works on Polars. A caller's frame (pandas, Polars, PyArrow, Modin, cuDF…) is
read through narwhals, so none of those libraries is needed unless the caller uses it, and a
result goes back as the caller's kind: pandas in, pandas out (with the input's index, list
columns as Python lists); Polars in, Polars out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import narwhals as nw
import polars as pl
from narwhals.dependencies import is_pandas_like_dataframe


@dataclass(frozen=True, slots=True)
class FrameKind:
    """Where a frame came from, so a result can go back as the same kind."""

    frame: nw.DataFrame[Any]

    def back(self, result: pl.DataFrame, *, row_aligned: bool = True) -> Any:
        """``result`` as a frame of the caller's kind; a ``row_aligned`` pandas-like result
        takes the input's index (so ``df.join(result)`` lines up)."""
        if isinstance(self.frame.to_native(), pl.DataFrame):
            return result
        backend = nw.get_native_namespace(self.frame)
        out = nw.from_arrow(result.to_arrow(), backend=backend)
        native = out.to_native()
        if not is_pandas_like_dataframe(native):
            return native
        for name, dtype in result.schema.items():
            if isinstance(dtype, pl.List):  # numpy arrays per cell would surprise a pandas user
                native[name] = [None if v is None else list(v) for v in native[name]]
        if row_aligned:
            index = nw.maybe_get_index(self.frame)
            if index is not None and len(index) == len(native):
                native.index = index
        return native


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
