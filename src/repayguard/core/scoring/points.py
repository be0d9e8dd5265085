"""Shared vectorized pieces of models: top-k reason codes from per-input excess, kept only
when the reason's stated direction holds for the borrower's value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl
import pyarrow as pa

from repayguard.core.reasons import Reference

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


@dataclass(frozen=True, slots=True)
class ReasonColumn:
    """One input as reasons see it: its code and stated side (1 high, -1 low, 0 none), the code
    for a missing value ("" for none) and the model's reference for the side."""

    code: str
    side: int
    missing_code: str
    reference: Reference


def checked_reasons(
    excess: FloatArray, values: FloatArray, columns: Sequence[ReasonColumn], top: int
) -> pl.Series:
    """Top reasons whose stated direction holds for the value (see :mod:`repayguard.core.reasons`).

    ``excess`` (rows x columns) is how much each input raised each row's risk and ``values``
    the inputs (NaN where missing; categorical inputs any non-NaN number). A present value
    gives its code only when on the stated side of the reference; a missing value gives the
    input's missing code, or nothing. Inputs sharing a missing code count once, by their
    largest excess.
    """
    if top < 0:
        raise ValueError("top must be at least 0")
    rows = excess.shape[0]
    if not columns:
        return top_reasons(np.zeros((rows, 0)), [], top)
    missing = np.isnan(values)
    side = np.asarray([c.side for c in columns])
    low = np.asarray([c.reference.low_below for c in columns], dtype=np.float64)
    high = np.asarray([c.reference.high_from for c in columns], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        on_side = (side == 0) | ((side > 0) & (values >= high)) | ((side < 0) & (values < low))
    present = np.where(~missing & on_side, excess, 0.0)
    has_missing_code = np.asarray([bool(c.missing_code) for c in columns])
    absent = np.where(missing & has_missing_code, excess, 0.0)
    codes = list(dict.fromkeys([c.code for c in columns] + [c.missing_code for c in columns]))
    merged = np.zeros((rows, len(codes)))
    position = {code: n for n, code in enumerate(codes)}
    for n, c in enumerate(columns):
        at = position[c.code]
        merged[:, at] = np.maximum(merged[:, at], present[:, n])
        if c.missing_code:
            at = position[c.missing_code]
            merged[:, at] = np.maximum(merged[:, at], absent[:, n])
    return top_reasons(merged, codes, top)
