"""Shared vectorized pieces of trained models: top-k reason codes from per-input excess."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import polars as pl
import pyarrow as pa

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
REASONS_DTYPE: Final = pl.List(pl.String())


def top_reasons(excess: FloatArray, codes: Sequence[str], top: int) -> pl.Series:
    """Reason codes of the columns with positive ``excess``, largest first, at most ``top``.

    ``excess`` is rows x columns (how much each column raised each row's risk); ties keep
    column order. Rows without a positive excess get an empty list.
    """
    if top < 0:
        raise ValueError("top must be at least 0")
    rows, cols = excess.shape
    k = min(top, cols)
    if rows == 0 or k == 0:
        return pl.Series("reasons", [[]] * rows, dtype=REASONS_DTYPE)
    order = np.argsort(-excess, axis=1, kind="stable")[:, :k]
    keep = np.take_along_axis(excess, order, axis=1) > 0  # positives come first in each row
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=offsets[1:])
    values = pl.Series("code", list(codes), dtype=pl.String).gather(
        pl.Series(order[keep].astype(np.uint32))
    )
    array = pa.LargeListArray.from_arrays(pa.array(offsets), values.to_arrow())
    out = pl.Series("reasons", array)
    return out.cast(REASONS_DTYPE)
