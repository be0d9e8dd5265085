"""Training and evaluation data: event history at as-of dates, or an analyst's own table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from repayguard.core.events import EVENT_SCHEMA
from repayguard.core.features import FEATURE_NAMES
from repayguard.core.labels import (
    LABEL,
    LabelSpec,
    LabelWindowInvalid,
    build_training_set,
    default_plan,
    plan_out_of_time,
)
from repayguard.core.scoring import InputColumn, InputsInvalid, feature_inputs, tabular_inputs
from repayguard.ingestion.errors import UnreadableFile
from repayguard.risk.errors import ModelTrainingFailed

TABLE_SUFFIXES: Final = (".csv", ".parquet")
WINDOW_UNSTABLE: Final = ("utilization",)
"""Features that decisions cannot compute reliably from their history window: a line's latest
limit and its drawn balance come from events that fall out of the window as the line ages, so
the feature turns null for older lines in production but not in training. Left out of event
training by default until decisions read that state beyond the window."""


@dataclass(frozen=True, slots=True)
class EventHistory:
    """Labelled snapshots of event history: features at each as-of date, the label after it.

    Empty ``train_as_of`` picks monthly dates before an out-of-time validation date as late as
    the data allow. ``history_days`` is the look-back the decision engine reads, so training
    sees exactly what scoring will. ``files`` are Parquet event files (the storage layout);
    none means the event store.
    """

    train_as_of: tuple[datetime, ...] = ()
    validation_as_of: tuple[datetime, ...] = ()
    horizon_days: int = 90
    history_days: int = 200
    files: tuple[Path, ...] = ()
    exclude: tuple[str, ...] = WINDOW_UNSTABLE
    """Declared features not to offer to the model (default: :data:`WINDOW_UNSTABLE`)."""

    @property
    def spec(self) -> LabelSpec:
        return LabelSpec(horizon_days=self.horizon_days)


@dataclass(frozen=True, slots=True)
class TabularFile:
    """A CSV or Parquet file with one row per case and a target column.

    ``positive`` is the target value meaning "bad" (default: the column must hold 0/1 or
    true/false). ``exclude`` names columns that are not inputs (ids, dates).
    """

    path: Path
    target: str
    positive: str | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Dataset:
    """Rows with inputs (and anything else) plus their 0/1 outcomes."""

    name: str
    frame: pl.DataFrame
    target: np.ndarray[Any, np.dtype[np.int8]]
    as_of: tuple[datetime, ...] = ()

    @property
    def events(self) -> int:
        return int(self.target.sum())


@dataclass(frozen=True, slots=True)
class PreparedData:
    """What training needs: the inputs, the training rows and (optionally) validation rows."""

    source: str
    target_name: str
    inputs: tuple[InputColumn, ...]
    train: Dataset
    validation: Dataset | None = None
    window: tuple[datetime, datetime] | None = field(default=None)
    excluded: tuple[str, ...] = ()


def read_table(path: Path) -> pl.DataFrame:
    """A CSV or Parquet file as a frame; clear errors for anything else."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise UnreadableFile(
            f"{path} is neither .csv nor .parquet", hint="save the table as CSV or Parquet"
        )
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=10_000)
        return pl.read_parquet(path)
    except FileNotFoundError as exc:
        raise UnreadableFile(f"there is no file {path}", hint="check the path") from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UnreadableFile(f"{path} cannot be read: {exc}") from exc


def tabular_target(frame: pl.DataFrame, target: str, positive: str | None) -> np.ndarray[Any, Any]:
    """The target column as 0/1 (1 = the event, "bad")."""
    if target not in frame.columns:
        raise ModelTrainingFailed(
            f"the data has no column {target!r}",
            hint=f"name one of its columns with --target: {', '.join(frame.columns[:20])}",
        )
    column = frame.get_column(target)
    if column.null_count():
        raise ModelTrainingFailed(f"the target column {target!r} has {column.null_count()} nulls")
    if positive is not None:
        values = column.cast(pl.String)
        if positive not in set(values.unique().to_list()):
            seen = ", ".join(sorted(map(str, values.unique().to_list()))[:10])
            raise ModelTrainingFailed(
                f"no row of {target!r} has the value {positive!r}", hint=f"values seen: {seen}"
            )
        return np.asarray((values == positive).cast(pl.Int8).to_numpy(), dtype=np.int8)
    distinct = set(column.cast(pl.String).str.to_lowercase().unique().to_list())
    if not distinct <= {"0", "1", "true", "false"}:
        shown = ", ".join(sorted(distinct)[:10])
        raise ModelTrainingFailed(
            f"the target column {target!r} is not 0/1 (values: {shown})",
            hint="say which value is the bad outcome with --positive VALUE",
        )
    text = column.cast(pl.String).str.to_lowercase()
    return np.asarray(text.is_in(["1", "true"]).cast(pl.Int8).to_numpy(), dtype=np.int8)


def prepare_table(source: TabularFile, frame: pl.DataFrame) -> PreparedData:
    """Inputs and outcomes of an analyst's table (every column but target and exclusions)."""
    y = tabular_target(frame, source.target, source.positive)
    unknown = [c for c in source.exclude if c not in frame.columns]
    if unknown:
        raise ModelTrainingFailed(f"--exclude names columns the data lacks: {unknown}")
    try:
        inputs = tabular_inputs(frame.schema, (source.target, *source.exclude))
    except InputsInvalid as exc:
        raise ModelTrainingFailed(str(exc), hint="leave such columns out with --exclude") from exc
    name = source.path.name
    described = f"{source.target} == {source.positive!r}" if source.positive else source.target
    return PreparedData(
        source=str(source.path),
        target_name=described,
        inputs=inputs,
        train=Dataset(name, frame, y),
        excluded=tuple(source.exclude),
    )


def read_event_files(paths: Sequence[Path]) -> pl.DataFrame:
    """Parquet event files in the storage layout (as the generator writes them)."""
    frames = []
    for path in paths:
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        for file in files:
            if file.suffix.lower() != ".parquet":
                raise UnreadableFile(
                    f"{file} is not a Parquet event file",
                    hint="ingest CSV or JSONL events first, then train from the event store",
                )
            frames.append(read_table(file))
    if not frames:
        raise UnreadableFile("no Parquet event files found", hint="point --events at them")
    columns = [c for c in EVENT_SCHEMA.names() if c in frames[0].columns]
    return pl.concat([f.select(columns) for f in frames], how="vertical_relaxed")


def prepare_events(events: pl.DataFrame, source: EventHistory, name: str) -> PreparedData:
    """Out-of-time training data from event history (features as of each date, then labels)."""
    borrowers = events.filter(pl.col("borrower_id").is_not_null())
    if borrowers.height == 0:
        raise ModelTrainingFailed(
            "there are no borrower events to learn from",
            hint="ingest events first (repayguard ingest PATH), or train on a table with --data",
        )
    first = borrowers.get_column("occurred_at").min()
    last = borrowers.get_column("occurred_at").max()
    assert isinstance(first, datetime) and isinstance(last, datetime)  # noqa: PT018
    spec = source.spec
    try:
        if source.train_as_of:
            plan = plan_out_of_time(source.train_as_of, source.validation_as_of, spec=spec)
        else:
            plan = default_plan(first, last, spec=spec)
            if source.validation_as_of:
                plan = plan_out_of_time(plan.train, source.validation_as_of, spec=spec)
        train = _snapshots(borrowers, plan.train, last, source, "training")
        validation = (
            _snapshots(borrowers, plan.validation, last, source, "out-of-time validation")
            if plan.validation
            else None
        )
    except LabelWindowInvalid as exc:
        raise ModelTrainingFailed(
            str(exc), hint="choose other --as-of / --validation-as-of dates"
        ) from exc
    return PreparedData(
        source=name,
        target_name=spec.describe(),
        inputs=_feature_inputs(source.exclude),
        train=train,
        validation=validation,
        window=(plan.train[0], plan.train[-1]),
        excluded=tuple(source.exclude),
    )


def _feature_inputs(exclude: Sequence[str]) -> tuple[InputColumn, ...]:
    unknown = [name for name in exclude if name not in FEATURE_NAMES]
    if unknown:
        raise ModelTrainingFailed(
            f"--exclude names {unknown}, which are not declared features",
            hint=f"declared features: {', '.join(FEATURE_NAMES)}",
        )
    kept = [name for name in FEATURE_NAMES if name not in exclude]
    if not kept:
        raise ModelTrainingFailed("every feature is excluded; keep at least one")
    return feature_inputs(kept)


def event_dataset(events: pl.DataFrame, as_of: datetime, source: EventHistory) -> Dataset:
    """One labelled snapshot, for evaluating models on a later period."""
    borrowers = events.filter(pl.col("borrower_id").is_not_null())
    last = borrowers.get_column("occurred_at").max()
    if not isinstance(last, datetime):
        raise ModelTrainingFailed("there are no borrower events to evaluate on")
    try:
        return _snapshots(borrowers, (as_of,), last, source, "evaluation")
    except LabelWindowInvalid as exc:
        raise ModelTrainingFailed(str(exc), hint="choose an earlier --as-of date") from exc


def _snapshots(
    events: pl.DataFrame,
    dates: Sequence[datetime],
    last: datetime,
    source: EventHistory,
    what: str,
) -> Dataset:
    parts = []
    for as_of in dates:
        since = as_of - timedelta(days=source.history_days)
        window = events.filter(pl.col("occurred_at") >= since)
        parts.append(build_training_set(window, [as_of], observed_until=last, spec=source.spec))
    frame = pl.concat(parts)
    if frame.height == 0:
        raise ModelTrainingFailed(f"no borrower has history before the {what} dates")
    shown = ", ".join(f"{d:%Y-%m-%d}" for d in dates)
    y = np.asarray(frame.get_column(LABEL).to_numpy(), dtype=np.int8)
    return Dataset(f"{what} as of {shown}", frame, y, tuple(dates))
