"""Scoring a file with a registered version: one PD per input row, in order, with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import polars as pl

from repayguard.core.reasons import CATALOG, LOCALES, MAX_REASONS
from repayguard.core.scoring import InputsInvalid, reason_texts
from repayguard.errors import InvalidInput
from repayguard.ingestion.errors import UnreadableFile
from repayguard.platform.uow import UnitOfWork
from repayguard.risk.datasets import TABLE_SUFFIXES, read_table
from repayguard.risk.lifecycle import load_version
from repayguard.risk.registry import ModelRegistry

TEXT_SEPARATOR: Final = " | "


@dataclass(frozen=True, slots=True)
class ScoreFile:
    """Score every row of ``data`` (CSV or Parquet holding the model's inputs) into ``out``.

    ``out`` gets, per input row and in input order: ``row`` (position from 0) or the
    ``id_column``, ``pd``, ``reasons`` (codes, most important first) and ``reason_texts`` in
    ``locale``. CSV joins codes with ";" and texts with " | "; Parquet keeps lists.
    """

    version: str
    data: Path
    out: Path
    id_column: str | None = None
    reasons: bool = True
    top: int = MAX_REASONS
    locale: str = "en"


@dataclass(frozen=True, slots=True)
class ScoreOutcome:
    rows: int
    mean_pd: float | None
    out: Path


def score_file(cmd: ScoreFile, *, uow: UnitOfWork, registry: ModelRegistry) -> ScoreOutcome:
    """Load the verified version and score the file; nothing is committed."""
    if cmd.out.suffix.lower() not in TABLE_SUFFIXES:
        raise UnreadableFile(f"cannot write {cmd.out}: use a .csv or .parquet file name")
    if cmd.locale not in LOCALES:
        raise InvalidInput(f"unknown locale {cmd.locale!r}", hint=f"use one of {LOCALES}")
    if not 0 <= cmd.top <= MAX_REASONS:
        raise InvalidInput(f"top must be between 0 and {MAX_REASONS}")
    with uow:
        model, _ = load_version(cmd.version, session=uow.session, registry=registry)
    frame = read_table(cmd.data)
    if cmd.id_column is not None and cmd.id_column not in frame.columns:
        raise InvalidInput(f"the data has no column {cmd.id_column!r} (--id-column)")
    try:
        pd = model.predict_pd(frame)
        codes = model.reasons(frame, top=cmd.top) if cmd.reasons else None
    except InputsInvalid as exc:
        raise InvalidInput(str(exc), hint="score a file holding every input of the model") from exc
    key = (
        frame.get_column(cmd.id_column)
        if cmd.id_column is not None
        else pl.Series("row", range(frame.height), dtype=pl.Int64)
    )
    out = pl.DataFrame([key, pd])
    if codes is not None:
        texts = {**reason_texts(model.inputs), **CATALOG}
        lookup = {code: by_locale[cmd.locale] for code, by_locale in texts.items()}
        out = out.with_columns(
            codes.alias("reasons"),
            codes.list.eval(pl.element().replace_strict(lookup, default=pl.element())).alias(
                "reason_texts"
            ),
        )
    _write(out, cmd.out)
    values = pd.to_numpy()
    mean = float(values.mean()) if values.size else None
    return ScoreOutcome(rows=frame.height, mean_pd=mean, out=cmd.out)


def _write(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    if path.suffix.lower() == ".csv":
        flat = frame.with_columns(
            pl.col(c).list.join(";" if c == "reasons" else TEXT_SEPARATOR)
            for c in ("reasons", "reason_texts")
            if c in frame.columns
        )
        flat.write_csv(partial)
    else:
        frame.write_parquet(partial)
    partial.replace(path)
