"""Registered risk models for a notebook: load the production model or a version, score frames.

The artefact is read from the data directory's registry and verified against the sha256 the
store pinned, exactly as ``repayguard model score`` reads it; scoring needs neither the train
extra nor pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from repayguard import risk
from repayguard.core.reasons import CATALOG, LOCALES, MAX_REASONS
from repayguard.core.scoring import InputColumn, InputsInvalid, TrainedModel, reason_texts
from repayguard.errors import InvalidInput
from repayguard.notebook.frames import to_polars, with_id
from repayguard.notebook.store import read_store
from repayguard.risk.errors import ModelVersionNotFound


@dataclass(frozen=True, slots=True)
class FrameModel:
    """A verified registered model that scores frames (pandas, Polars, …) row by row."""

    model: TrainedModel

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def kind(self) -> str:
        """``scorecard`` or ``lightgbm``."""
        return self.model.kind

    @property
    def inputs(self) -> tuple[InputColumn, ...]:
        """The columns a frame must hold, by name (others are ignored)."""
        return self.model.inputs

    def predict_proba(self, frame: Any) -> Any:
        """The probability of default (30+ days past due within 90 days) of every row, as the
        same kind of frame, row-aligned: ``borrower_id`` when the input has it, then ``pd``.
        A frame, not scikit-learn's two-column array: ``["pd"]`` is its ``[:, 1]``. Raises
        InvalidInput naming the model inputs the frame lacks."""
        native, kind = to_polars(frame, what="frame")
        pd = self._checked(lambda: self.model.predict_pd(native))
        return kind.back(with_id(native, pl.DataFrame([pd.alias("pd")])))

    def reasons(self, frame: Any, *, top: int = MAX_REASONS, locale: str = "en") -> Any:
        """Per row, the (at most ``top``) factors that raise its risk, most important first:
        ``reasons`` (codes) and ``reason_texts`` (in ``locale``: ``en`` or ``zh-CN``), as
        ``repayguard model score`` writes them."""
        if locale not in LOCALES:
            raise InvalidInput(f"unknown locale {locale!r}", hint=f"use one of {LOCALES}")
        if not 0 <= top <= MAX_REASONS:
            raise InvalidInput(f"top must be between 0 and {MAX_REASONS}")
        native, kind = to_polars(frame, what="frame")
        codes = self._checked(lambda: self.model.reasons(native, top=top))
        texts = {**reason_texts(self.model.inputs), **CATALOG}
        lookup = {code: by_locale[locale] for code, by_locale in texts.items()}
        out = pl.DataFrame([codes.alias("reasons")]).with_columns(
            pl.col("reasons")
            .list.eval(pl.element().replace_strict(lookup, default=pl.element()))
            .alias("reason_texts")
        )
        return kind.back(with_id(native, out))

    def _checked(self, score: Any) -> pl.Series:
        try:
            result: pl.Series = score()
        except InputsInvalid as exc:
            raise InvalidInput(
                str(exc),
                hint="score a frame holding every input of the model: "
                + ", ".join(c.name for c in self.model.inputs),
            ) from exc
        return result


def load_model(*, data_dir: str | Path | None = None, version: str | None = None) -> FrameModel:
    """The production model of ``data_dir``'s registry (default: the settings' data
    directory), or the registered ``version``; files verified against their pinned sha256.

    Raises ModelVersionNotFound when no version is in production (or ``version`` is not
    registered), ModelArtefactTampered when a file fails its check.
    """
    with read_store(data_dir) as store:
        registry = risk.default_registry(store.settings.data_dir)
        if version is not None:
            with store.uow() as uow:
                model, _ = risk.load_version(version, session=uow.session, registry=registry)
            return FrameModel(model)
        found = risk.load_production_model(uow=store.uow(), registry=registry)
    if found is None:
        raise ModelVersionNotFound(
            f"no model version is in production in {store.settings.data_dir}",
            hint="promote one ('repayguard model promote VERSION'), or pass version= "
            "('repayguard model list' shows them)",
        )
    return FrameModel(found)
