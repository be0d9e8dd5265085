"""Collects generated events as column arrays and turns them into one sorted event frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from repayguard.core.events import EVENT_SCHEMA, MANUAL_CHANNELS, REPAYMENT_METHODS, SCHEMA_VERSION
from repayguard.simulation._timeline import MARKET_SERIES, Calendar, Market

# (type, kind) of each event code; codes index these tuples.
EVENT_KINDS: Final = (
    ("credit_report", "report"),
    ("behaviour", "login"),
    ("behaviour", "device_change"),
    ("behaviour", "contact_change"),
    ("transaction", "inflow"),
    ("transaction", "outflow"),
    ("transaction", "balance"),
    ("repayment", "due"),
    ("repayment", "paid"),
    ("repayment", "auto_debit_attempt"),
    ("loan", "drawdown"),
    ("loan", "limit_change"),
    ("market_signal", "value"),
)
CODE: Final = {f"{t}/{k}": i for i, (t, k) in enumerate(EVENT_KINDS)}
STATUSES: Final = ("succeeded", "failed")
SEQ_WIDTH: Final = 6
_LOAN_KINDS: Final = ("due", "paid", "auto_debit_attempt", "drawdown", "limit_change")
_LOAN_CODES: Final = [i for i, (t, k) in enumerate(EVENT_KINDS) if k in _LOAN_KINDS]
"""Codes of events that belong to the credit line and so carry its loan_id."""
FloatCol = NDArray[np.float64] | float
IntCol = NDArray[np.int64] | NDArray[np.int8] | NDArray[np.int32] | int


@dataclass(frozen=True, slots=True)
class _Group:
    code: int
    who: NDArray[np.int64]
    t_us: NDArray[np.int64]
    floats: dict[str, FloatCol]
    ints: dict[str, IntCol]


_FLOAT_COLS: Final = ("amount", "balance", "score", "external_debt")
_INT_COLS: Final = ("method", "channel", "status", "early", "inquiries")


class EventLog:
    """Events of one borrower chunk in emission order; money in currency units, -1/NaN = null."""

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        self._groups: list[_Group] = []

    def add(
        self,
        code: int,
        who: NDArray[np.int64],
        t_us: NDArray[np.int64],
        *,
        floats: dict[str, FloatCol] | None = None,
        ints: dict[str, IntCol] | None = None,
    ) -> None:
        """Record one event of kind ``code`` for each borrower index in ``who`` at ``t_us``."""
        if who.size:
            self._groups.append(_Group(code, who, t_us, floats or {}, ints or {}))

    def to_frame(
        self,
        *,
        borrower_ids: pl.Series,
        calendar: Calendar,
        seq_offset: NDArray[np.int64] | None = None,
        by_borrower: bool = False,
    ) -> pl.DataFrame:
        """The chunk's events in EVENT_SCHEMA layout, sorted by occurred_at then event_id, or
        with ``by_borrower`` by borrower_id, occurred_at, event_id (the decision core's order).

        Event ids are ``<borrower_id>-<seq>`` where seq numbers a borrower's events in time
        order; with fixed-width ids, (time, borrower, seq) order is the event-id order.
        ``seq_offset`` (per borrower) continues the numbering of an earlier log, so a log
        written month by month yields the ids of one log over the whole window.
        """
        sizes = [g.who.size for g in self._groups]
        n = int(sum(sizes))
        who = np.empty(n, dtype=np.int64)
        t_us = np.empty(n, dtype=np.int64)
        code = np.empty(n, dtype=np.int8)
        floats = {c: np.full(n, np.nan) for c in _FLOAT_COLS}
        ints = {c: np.full(n, -1, dtype=np.int32) for c in _INT_COLS}
        at = 0
        for g, size in zip(self._groups, sizes, strict=True):
            part = slice(at, at + size)
            who[part], t_us[part], code[part] = g.who, g.t_us, g.code
            for name, f in g.floats.items():
                floats[name][part] = f
            for name, i in g.ints.items():
                ints[name][part] = i
            at += size
        # Rank each borrower's events by time (stable: emission order breaks ties) ...
        borrower_order = np.lexsort((t_us, who))
        sorted_who = who[borrower_order]
        first = np.r_[True, sorted_who[1:] != sorted_who[:-1]]
        starts = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        seq = np.empty(n, dtype=np.int64)
        seq[borrower_order] = np.arange(n) - starts + 1
        if seq_offset is not None:
            seq += seq_offset[who]
        if n and int(seq.max()) >= 10**SEQ_WIDTH:
            raise ValueError("a borrower has too many events for the event-id width")
        # ... then order by time, keeping (borrower, seq) order among equal times; by borrower,
        # (borrower, seq) is already (borrower_id, occurred_at, event_id) order.
        order = (
            borrower_order
            if by_borrower
            else borrower_order[np.argsort(t_us[borrower_order], kind="stable")]
        )
        raw = pl.DataFrame(
            {
                "who": who[order],
                "seq": seq[order],
                "t": t_us[order] + calendar.start_us,
                "code": code[order],
                **{c: np.round(v[order], 2) for c, v in floats.items()},
                **{c: v[order] for c, v in ints.items()},
            }
        )
        return _finish(raw, borrower_ids)


def _lookup(values: tuple[str, ...], column: str) -> pl.Expr:
    """Strings for small integer codes; a negative code means null."""
    index = pl.when(pl.col(column) >= 0).then(pl.col(column))
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(index)


def _finish(raw: pl.DataFrame, borrower_ids: pl.Series) -> pl.DataFrame:
    borrower = pl.lit(borrower_ids).gather(pl.col("who"))
    seq = pl.col("seq").cast(pl.String).str.zfill(SEQ_WIDTH)
    types = tuple(t for t, _ in EVENT_KINDS)
    kinds = tuple(k for _, k in EVENT_KINDS)
    frame = raw.select(
        event_id=pl.concat_str([borrower, pl.lit("-"), seq]),
        type=pl.lit(pl.Series(types, dtype=pl.String)).gather(pl.col("code")),
        schema_version=pl.lit(SCHEMA_VERSION, dtype=pl.Int16),
        borrower_id=borrower,
        loan_id=pl.when(pl.col("code").is_in(_LOAN_CODES)).then(
            pl.concat_str([borrower, pl.lit("-L1")])
        ),
        occurred_at=pl.col("t").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        kind=pl.lit(pl.Series(kinds, dtype=pl.String)).gather(pl.col("code")),
        amount=pl.col("amount").fill_nan(None),
        balance=pl.col("balance").fill_nan(None),
        method=_lookup(REPAYMENT_METHODS, "method"),
        channel=_lookup(MANUAL_CHANNELS, "channel"),
        status=_lookup(STATUSES, "status"),
        early=pl.when(pl.col("early") >= 0).then(pl.col("early") == 1),
        score=pl.col("score").fill_nan(None),
        inquiries=pl.when(pl.col("inquiries") >= 0).then(pl.col("inquiries")),
        external_debt=pl.col("external_debt").fill_nan(None),
        series=pl.lit(None, dtype=pl.String),
        value=pl.lit(None, dtype=pl.Float64),
    )
    return frame.cast(EVENT_SCHEMA)


def market_frame(market: Market, calendar: Calendar) -> pl.DataFrame:
    """One ``market_signal`` event per series and month, at the month's first instant."""
    values = {
        "funding_spread": market.funding_spread,
        "unemployment_rate": market.unemployment_rate,
    }
    months = calendar.month_start_day.size
    rows = pl.DataFrame(
        {
            "series": np.repeat(np.array(MARKET_SERIES), months),
            "month": np.tile(np.arange(months), len(MARKET_SERIES)),
            "value": np.concatenate([values[s] for s in MARKET_SERIES]),
            "t": np.tile(calendar.month_start_day.astype(np.int64), len(MARKET_SERIES))
            * 86_400_000_000
            + calendar.start_us,
        }
    )
    frame = rows.select(
        event_id=pl.concat_str(
            [
                pl.lit("M-"),
                pl.col("series"),
                pl.lit("-"),
                pl.col("month").cast(pl.String).str.zfill(4),
            ]
        ),
        type=pl.lit("market_signal"),
        schema_version=pl.lit(SCHEMA_VERSION, dtype=pl.Int16),
        borrower_id=pl.lit(None, dtype=pl.String),
        loan_id=pl.lit(None, dtype=pl.String),
        occurred_at=pl.col("t").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        kind=pl.lit("value"),
        **{c: pl.lit(None) for c in EVENT_SCHEMA.names()[7:16]},
        series=pl.col("series"),
        value=pl.col("value"),
    )
    return frame.cast(EVENT_SCHEMA).sort("occurred_at", "event_id")
