"""Risk models behind one interface: features in, probability of default and reasons out.

PD here is the probability that a borrower reaches 30+ days past due within the next 90 days.
Three kinds sit behind the :class:`RiskModel` protocol: the shipped expert points table (the
fallback), the trained WoE **scorecard** (the default) and the **LightGBM** challenger. Trained
kinds also satisfy :class:`TrainedModel` (fit, raw score, card, artefact files).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import polars as pl

from repayguard.core.reasons import Reference
from repayguard.core.scoring.calibration import Calibration, fit_calibration
from repayguard.core.scoring.evaluation import Evaluation, evaluate, evaluate_scores
from repayguard.core.scoring.expert import (
    ExpertModel,
    ExpertModelInvalid,
    FeaturePoints,
    PointsBin,
    dump_expert_model,
    load_expert_model,
)
from repayguard.core.scoring.inputs import (
    InputColumn,
    InputsInvalid,
    feature_inputs,
    reason_texts,
    tabular_inputs,
)
from repayguard.core.scoring.models import (
    KINDS,
    LIGHTGBM,
    SCORECARD,
    ModelKindUnknown,
    TrainedModel,
    fit_model,
    load_model,
)
from repayguard.core.scoring.profile import Profile
from repayguard.core.scoring.training import CrossValidation, Trained, TrainingSettings, train

__all__ = [
    "KINDS",
    "LIGHTGBM",
    "SCORECARD",
    "Calibration",
    "CrossValidation",
    "Evaluation",
    "ExpertModel",
    "ExpertModelInvalid",
    "FeaturePoints",
    "InputColumn",
    "InputsInvalid",
    "ModelKindUnknown",
    "PointsBin",
    "Profile",
    "RiskModel",
    "Trained",
    "TrainedModel",
    "TrainingSettings",
    "dump_expert_model",
    "evaluate",
    "evaluate_scores",
    "feature_inputs",
    "fit_calibration",
    "fit_model",
    "load_expert_model",
    "load_model",
    "reason_texts",
    "tabular_inputs",
    "train",
]


@runtime_checkable
class RiskModel(Protocol):
    """A versioned model that scores a feature frame (one row per borrower).

    Invariants every implementation keeps: outputs have the input's height and row order;
    ``predict_pd`` is a Float64 Series named ``pd`` with values in (0, 1); ``reasons`` is a
    List[String] Series named ``reasons`` holding at most ``top`` catalog reason codes per row,
    most important first, naming only factors that raise that borrower's risk and whose stated
    direction holds for the borrower's value against ``reason_references`` (the decision
    pipeline checks this again before a reason reaches a decision).
    """

    @property
    def version(self) -> str:
        """Published version of the model artefact, recorded on every decision."""
        ...

    @property
    def kind(self) -> str:
        """Model family, for example ``expert-points``, ``scorecard`` or ``lightgbm``."""
        ...

    def predict_pd(self, features: pl.DataFrame) -> pl.Series:
        """Probability of 30+ days past due within 90 days, per row of ``features``."""
        ...

    def reasons(self, features: pl.DataFrame, top: int = 4) -> pl.Series:
        """The factors that raise each row's risk, as reason codes, most important first."""
        ...

    def reason_references(self) -> Mapping[str, Reference]:
        """Input -> where its reasons' "low" and "high" begin (see ``core.reasons``)."""
        ...
