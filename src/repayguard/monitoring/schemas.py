"""API DTOs of portfolio monitoring: a daily series, and a sliding-window snapshot."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from repayguard.monitoring.snapshot import PortfolioSnapshot, WindowValue
from repayguard.platform.dto import Schema


class PointRead(Schema):
    """One metric in one segment on one day: value = numerator / denominator."""

    metric: str
    segment: str
    day: date
    value: float
    numerator: float
    denominator: float


class SeriesRead(Schema):
    """The daily series of [start, end]; ``psi_reference`` says what score_psi compares with."""

    start: date
    end: date
    psi_reference: str
    points: list[PointRead]

    @classmethod
    def of(cls, series: pl.DataFrame, *, start: date, end: date, reference: str) -> SeriesRead:
        return cls(
            start=start,
            end=end,
            psi_reference=reference,
            points=[PointRead.model_validate(row) for row in series.iter_rows(named=True)],
        )


class SnapshotRead(Schema):
    """The portfolio over sliding windows ending ``day``, as computed at ``computed_at``."""

    day: date
    computed_at: datetime
    windows: list[int]
    values: list[WindowValue]

    @classmethod
    def of(cls, snapshot: PortfolioSnapshot) -> SnapshotRead:
        return cls(
            day=snapshot.day,
            computed_at=snapshot.computed_at,
            windows=list(snapshot.windows),
            values=list(snapshot.values),
        )
