"""Trained model kinds behind one interface: fit, score, explain, describe, store, load."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol, Self, runtime_checkable

import polars as pl

from repayguard.core.reasons import Reference
from repayguard.core.scoring.calibration import Calibration
from repayguard.core.scoring.inputs import InputColumn
from repayguard.core.scoring.points import FloatArray

SCORECARD: Final = "scorecard"
LIGHTGBM: Final = "lightgbm"
KINDS: Final = (SCORECARD, LIGHTGBM)
FIT_NEEDS: Final[Mapping[str, tuple[str, ...]]] = {SCORECARD: ("optbinning",)}
"""Packages fitting a kind needs beyond the base install: the ``train`` extra. Scoring a
stored model of any kind never needs them."""
TRAIN_EXTRA_HINT: Final = "pip install 'repayguard[train]' (or: uv sync --extra train)"


def missing_for_fitting(kind: str) -> tuple[str, ...]:
    """The packages fitting ``kind`` needs that are not installed (empty: it can be fitted)."""
    return tuple(p for p in FIT_NEEDS.get(kind, ()) if importlib.util.find_spec(p) is None)


class ModelKindUnknown(ValueError):
    """A model kind this version of repayguard does not know."""


@runtime_checkable
class TrainedModel(Protocol):
    """A model fitted on data: a :class:`RiskModel` plus what training and storage need.

    ``raw_score`` is the uncalibrated log-odds; ``predict_pd`` applies ``calibration`` to it.
    ``files`` are the artefact (file name -> text, safe formats only: JSON, LightGBM text);
    ``card`` describes the model itself for its model card.
    """

    @property
    def version(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def inputs(self) -> tuple[InputColumn, ...]: ...

    @property
    def calibration(self) -> Calibration: ...

    def raw_score(self, frame: pl.DataFrame) -> FloatArray: ...

    def predict_pd(self, features: pl.DataFrame) -> pl.Series: ...

    def reasons(self, features: pl.DataFrame, top: int = 4) -> pl.Series: ...

    def reason_references(self) -> Mapping[str, Reference]: ...

    def card(self) -> dict[str, Any]: ...

    def files(self) -> dict[str, str]: ...

    def with_version(self, version: str) -> Self: ...

    def with_calibration(self, calibration: Calibration) -> Self: ...


def fit_model(
    kind: str,
    frame: pl.DataFrame,
    target: Any,
    inputs: Sequence[InputColumn],
    **params: Any,
) -> TrainedModel:
    """Fit a model of ``kind`` on ``frame`` and 0/1 ``target`` (fitting libraries load here)."""
    if kind == SCORECARD:
        from repayguard.core.scoring.scorecard_fit import fit_scorecard

        return fit_scorecard(frame, target, inputs, **params)
    if kind == LIGHTGBM:
        from repayguard.core.scoring.gbm import GbmModel

        return GbmModel.fit(frame, target, inputs, **params)
    raise ModelKindUnknown(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")


def load_model(kind: str, files: Mapping[str, str]) -> TrainedModel:
    """Rebuild a stored model of ``kind`` from its artefact files (name -> text)."""
    if kind == SCORECARD:
        from repayguard.core.scoring.scorecard import FILE, load_scorecard

        return load_scorecard(_file(files, FILE))
    if kind == LIGHTGBM:
        from repayguard.core.scoring.gbm import BOOSTER_FILE, META_FILE, load_gbm

        return load_gbm(_file(files, BOOSTER_FILE), _file(files, META_FILE))
    raise ModelKindUnknown(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")


def _file(files: Mapping[str, str], name: str) -> str:
    if name not in files:
        raise ValueError(f"the artefact lacks its file {name!r}")
    return files[name]
