"""The decision core over a frame of events: entitlements per borrower as of a date.

Events are the records ``repayguard ingest`` reads (one flat record per row: ``event_id``,
``type``, ``borrower_id``, ``occurred_at`` and the payload fields of the type) and pass the same
checks: a bad record is refused with its position and every reason, as ingestion would
quarantine it. Then the pure pipeline (``core/pipeline.py``) decides every borrower with the
shipped tier bands, the given (or shipped default) policy and risk model — the decisions
``repayguard decide`` would log for a store holding only these events.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import polars as pl

from repayguard.core.events import EVENT_SCHEMA
from repayguard.core.features import compute_features
from repayguard.core.pipeline import decide as decide_frame
from repayguard.core.pipeline import empty_previous
from repayguard.decisions import load_engine
from repayguard.errors import EventsInvalid
from repayguard.ingestion import EventWindow, Rejection, validate_batch
from repayguard.notebook.frames import to_polars
from repayguard.notebook.policies import FramePolicy, load_policy
from repayguard.notebook.scoring import FrameModel

SHOWN: Final = 5
"""Rejected records quoted in the error's message (all are in its detail)."""
_EARLIEST: Final = datetime(2, 1, 1, tzinfo=UTC)
_LATEST: Final = datetime(9998, 12, 31, tzinfo=UTC)


def as_utc_moment(as_of: date | datetime) -> datetime:
    """``as_of`` as an aware UTC time: a date is 00:00 UTC of that day and a naive time is
    UTC, as ``repayguard decide --as-of`` reads them."""
    if isinstance(as_of, datetime):
        return as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    if isinstance(as_of, date):
        return datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    raise TypeError(f"as_of must be a date or a datetime, not {type(as_of).__name__}")


def decide(
    events: Any,
    *,
    as_of: date | datetime,
    policy: FramePolicy | str | Path | None = None,
    model: FrameModel | None = None,
    previous: Any = None,
) -> Any:
    """Every borrower's repayment methods as of ``as_of``, one row per borrower with an event
    at or before it, as the same kind of frame as ``events``.

    Columns: ``borrower_id``, ``as_of``, ``pd``, ``tier``, ``tier_since``, the lineage
    (``model_version``, ``policy_version``, ``policy_hash``, ``input_hash``, ``inputs``), the
    deciding ``rule_id``, the methods (``auto_debit``, ``early_repayment``, ``manual``,
    ``manual_channels``), ``reasons``, ``requires_approval``, ``notice_days``, ``max_days``,
    ``review_after_days``, ``keep``, ``guardrail`` and ``overlay_id``.

    ``policy``: a :class:`FramePolicy`, or what :func:`load_policy` takes (default: the shipped
    default). ``model``: a :class:`FrameModel` (default: the shipped expert model).
    ``previous``: a frame of current states (``borrower_id``, ``tier``, ``tier_since``,
    ``auto_debit``, ``early_repayment``, ``manual``, ``manual_channels``) for tier hysteresis
    and ``keep`` rows; without it everyone is decided for the first time. Events after
    ``as_of`` are ignored; events are not held to the server clock's plausible window (a
    notebook replays history). Raises EventsInvalid naming each record ingestion would reject.
    """
    at = as_utc_moment(as_of)
    native, kind = to_polars(events, what="events")
    rows = _valid_events(native)
    chosen = policy if isinstance(policy, FramePolicy) else load_policy(policy)
    engine = load_engine(
        policy_path=None,
        model_path=None,
        bands_path=None,
        model=model.model if model is not None else None,
    )
    if previous is None:
        current = empty_previous()
    else:
        current, _ = to_polars(previous, what="previous")
    decided = decide_frame(
        rows,
        as_of=at,
        model=engine.model,
        bands=engine.bands,
        policy=chosen.compiled,
        previous=current,
    )
    return kind.back(decided, row_aligned=False)


def features(events: Any, *, as_of: date | datetime) -> Any:
    """Every borrower's features as of ``as_of`` (what risk models score and policies read,
    one row per borrower with an event at or before it), as the same kind of frame as
    ``events``; checked like :func:`decide`'s."""
    native, kind = to_polars(events, what="events")
    found = compute_features(_valid_events(native), as_utc_moment(as_of))
    return kind.back(found, row_aligned=False)


def _valid_events(frame: pl.DataFrame) -> pl.DataFrame:
    """The events in the storage layout; raises EventsInvalid when any record is bad."""
    now = datetime.now(UTC)
    frame = _whole_numbers(frame)
    # Any time a timestamp can hold: a notebook decides history, not what arrives now.
    window = EventWindow(max_future=_LATEST - now, max_age=now - _EARLIEST - timedelta(days=1))
    checked = validate_batch(frame, now=now, window=window)
    if checked.rejections:
        raise _rejected(checked.rejections, frame.height)
    return checked.rows.select(EVENT_SCHEMA.names())


def _whole_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """Integer event fields pandas held as floats (a column of whole numbers with a missing
    value becomes float64 there) back as integers, so they take the column-wise checks; a
    column with a fractional value is left for the per-record checks to word."""
    whole = [
        name
        for name, dtype in EVENT_SCHEMA.items()
        if dtype.is_integer()
        and name in frame.columns
        and frame.schema[name].is_float()
        and bool(frame.select((pl.col(name) == pl.col(name).floor()).all()).item())
    ]
    return frame.with_columns(pl.col(name).cast(pl.Int64) for name in whole)


def _rejected(rejections: list[Rejection], total: int) -> EventsInvalid:
    def said(r: Rejection) -> str:
        return f"row {r.index}: " + "; ".join(f"{e.field}: {e.reason}" for e in r.errors)

    shown = " | ".join(said(r) for r in rejections[:SHOWN])
    more = f" (and {len(rejections) - SHOWN:,} more)" if len(rejections) > SHOWN else ""
    return EventsInvalid(
        f"{len(rejections):,} of {total:,} event(s) are invalid: {shown}{more}",
        hint="fix or drop those rows (positions count from 0): they are the records "
        "'repayguard ingest' would quarantine",
        rejections=[
            {
                "row": r.index,
                "event_id": r.event_id,
                "errors": [{"field": e.field, "reason": e.reason} for e in r.errors],
            }
            for r in rejections
        ],
    )
