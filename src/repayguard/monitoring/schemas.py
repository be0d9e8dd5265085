"""API DTOs of portfolio monitoring: a daily series, and a sliding-window snapshot."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from pydantic import Field

from repayguard.monitoring.snapshot import PortfolioSnapshot, WindowValue
from repayguard.platform.dto import Schema


class PointRead(Schema):
    """One metric in one segment on one day: value = numerator / denominator."""

    metric: str = Field(description="The metric.", examples=["auto_debit_failure_rate"])
    segment: str = Field(description="The borrower segment (all for the whole book).")
    day: date = Field(description="The day.")
    value: float = Field(description="The metric's value that day.")
    numerator: float = Field(description="What the value divides (for rates).")
    denominator: float = Field(description="What it is divided by (for rates).")


class SeriesRead(Schema):
    """The daily series of [start, end]; ``psi_reference`` says what score_psi compares with."""

    start: date = Field(description="The first day.")
    end: date = Field(description="The last day.")
    psi_reference: str = Field(description="What the stability index compares with.")
    points: list[PointRead] = Field(description="One point per metric, segment and day.")

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

    day: date = Field(description="The day it is as of.")
    computed_at: datetime = Field(description="When it was computed.")
    windows: list[int] = Field(description="The windows, in days.", examples=[[7, 30]])
    values: list[WindowValue] = Field(description="Each metric per segment and window.")

    @classmethod
    def of(cls, snapshot: PortfolioSnapshot) -> SnapshotRead:
        return cls(
            day=snapshot.day,
            computed_at=snapshot.computed_at,
            windows=list(snapshot.windows),
            values=list(snapshot.values),
        )
