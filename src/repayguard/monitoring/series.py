"""The daily series read from the store: what ``daily_series`` reads from each capability's
public surface, in chunks of days so memory stays bounded over long ranges."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Final

import polars as pl
import structlog
from sqlalchemy.orm import Session

from repayguard import approvals, complaints, decisions, ingestion, notices, risk
from repayguard.errors import RepayguardError
from repayguard.monitoring.book import day_end
from repayguard.monitoring.errors import MetricRangeInvalid, UnknownMetric
from repayguard.monitoring.metrics import ROLL_DAYS, SERIES_SCHEMA, MetricInputs, compute_series
from repayguard.monitoring.metrics import wanted_metrics as _wanted
from repayguard.monitoring.psi import ScoreReference
from repayguard.platform.uow import UnitOfWork

log = structlog.get_logger(__name__)

LOOKBACK_DAYS: Final = 200
"""How far before a range events and decisions are read: the decision core's default
history window (``decisions.history_days``), so days past due and tiers are known on the
range's first day exactly as a decision that day would know them."""
CHUNK_DAYS: Final = 31
"""Days computed together: a chunk's borrower × day grid bounds the memory a range takes."""
EARLIEST: Final = date(1970, 1, 1)
LATEST: Final = date(2999, 12, 31)
"""The days a range may name: beyond them the history window's arithmetic leaves the calendar."""
MAX_DAYS: Final = 3_660
"""The longest range one request may cover (about ten years)."""


@contextmanager
def _session_of(source: Session | UnitOfWork) -> Iterator[Session]:
    if isinstance(source, UnitOfWork):
        with source:
            yield source.session
    else:
        yield source


def chunks(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive spans of at most CHUNK_DAYS days; a reversed or
    overlong range is refused."""
    if start < EARLIEST or end > LATEST:
        raise MetricRangeInvalid(
            f"monitoring covers days from {EARLIEST} to {LATEST}; {start}..{end} is outside",
            hint="ask for days when the portfolio existed",
        )
    if end < start:
        raise MetricRangeInvalid(
            f"the range ends ({end}) before it starts ({start})", hint="swap --from and --to"
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise MetricRangeInvalid(
            f"a range covers at most {MAX_DAYS} days; {start}..{end} covers more",
            hint="ask for a shorter range",
        )
    spans = []
    first = start
    while first <= end:
        last = min(end, first + timedelta(days=CHUNK_DAYS - 1))
        spans.append((first, last))
        first = last + timedelta(days=1)
    return spans


def daily_series(
    session_or_uow: Session | UnitOfWork,
    *,
    start: date,
    end: date,
    metrics: Sequence[str] | None = None,
    score_reference: ScoreReference | None = None,
    on_chunk: Callable[[date, date], None] | None = None,
) -> pl.DataFrame:
    """The portfolio's DAILY series for every day of [start, end] (UTC days): one row per
    metric, segment and day with its value, numerator and denominator (see
    ``monitoring.metrics`` and docs/monitoring.md). ``metrics`` limits it to those names
    (``market_signal:*`` for every market series); an unknown name is refused.
    ``score_reference`` holds the bins ``score_psi`` compares with (see
    ``production_reference``; None: the range's first day). ``on_chunk`` is told each span of
    days once computed (progress bars)."""
    try:
        _wanted(metrics)
    except ValueError as exc:
        raise UnknownMetric(str(exc), hint="'repayguard monitor catalogue' lists them") from None
    parts = []
    with _session_of(session_or_uow) as session:
        for first, last in chunks(start, end):
            inputs = read_inputs(session, start=first, end=last, score_reference=score_reference)
            parts.append(compute_series(inputs, start=first, end=last, metrics=metrics))
            if on_chunk is not None:
                on_chunk(first, last)
    return pl.concat(parts).sort("metric", "segment", "day") if parts else SERIES_SCHEMA.to_frame()


def read_inputs(
    session: Session, *, start: date, end: date, score_reference: ScoreReference | None
) -> MetricInputs:
    """Everything the metrics of [start, end] are computed from, through each capability's
    public reads."""
    since = day_end(start - timedelta(days=LOOKBACK_DAYS + ROLL_DAYS + 1))
    day_start = day_end(start - timedelta(days=1))
    until = day_end(end)
    return MetricInputs(
        events=ingestion.events_between(session, since=since, until=until),
        decisions=decisions.decision_log_between(session, since=since, until=until),
        notices=notices.created_between(session, since=day_start, until=until),
        complaints=complaints.filed_between(session, since=day_start, until=until),
        approvals=approvals.waiting_spans(session, since=day_start, until=until),
        score_reference=score_reference,
    )


def production_reference(*, uow: UnitOfWork, registry: risk.ModelRegistry) -> ScoreReference | None:
    """The production model's training PD bins, or None when no model has been promoted (the
    shipped expert model has no training data) or its profile cannot be read (logged: PSI
    then falls back to the range's first day rather than failing every metric)."""
    production = risk.list_models(risk.PRODUCTION, uow=uow)
    if not production:
        return None
    version = production[0].version
    try:
        profile = risk.training_profile(version, uow=uow, registry=registry)
    except (RepayguardError, KeyError, ValueError) as exc:  # a damaged artefact: PSI only
        log.warning("monitoring.psi_reference_unreadable", version=version, error=str(exc))
        return None
    return ScoreReference(
        bins=profile.score, model_version=version, source=f"training bins of model {version}"
    )
