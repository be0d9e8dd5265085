"""Training a model honestly: stratified cross-validation, calibration on out-of-fold scores.

Each fold refits everything (binning, selection, regression or trees) on the other folds, so the
cross-validated AUC measures the whole procedure. The final model is fitted on all rows and its
calibration is fitted on the out-of-fold log-odds (on the training log-odds when ``cv`` < 2,
which flatters a flexible model — the card says which).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from repayguard.core.scoring.calibration import fit_calibration
from repayguard.core.scoring.inputs import InputColumn
from repayguard.core.scoring.metrics import auc
from repayguard.core.scoring.models import TrainedModel, fit_model
from repayguard.core.scoring.points import FloatArray
from repayguard.core.scoring.profile import Profile, build_profile

Progress = Callable[[str], None]
"""Called with a short label after each unit of work (one fold, the final fit)."""


@dataclass(frozen=True, slots=True)
class TrainingSettings:
    """How to train: the kind, folds for cross-validation, calibration, seed, kind params."""

    kind: str
    cv: int = 5
    calibration: str = "platt"
    seed: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Units of work reported through ``Progress``: folds plus the final fit."""
        return (self.cv if self.cv >= 2 else 0) + 1


@dataclass(frozen=True, slots=True)
class CrossValidation:
    """AUC per fold of a stratified k-fold cross-validation."""

    folds: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.folds))

    @property
    def sd(self) -> float:
        return float(np.std(self.folds, ddof=1)) if len(self.folds) > 1 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"folds": list(self.folds), "auc_mean": self.mean, "auc_sd": self.sd}


@dataclass(frozen=True, slots=True)
class Trained:
    """A calibrated model, how it cross-validated, its training profile and calibration rows.

    ``holdout_pd`` is the calibrated PD of each training row from the model that did not see
    it (out-of-fold), or None without cross-validation.
    """

    model: TrainedModel
    cross_validation: CrossValidation | None
    holdout_pd: FloatArray | None
    profile: Profile
    calibrated_on: str


def train(
    frame: pl.DataFrame,
    target: Any,
    inputs: Sequence[InputColumn],
    settings: TrainingSettings,
    *,
    version: str,
    target_name: str,
    progress: Progress | None = None,
) -> Trained:
    """Cross-validate, fit on all rows, calibrate, and profile the training distribution."""
    y = np.asarray(target, dtype=np.int8)
    note = progress or (lambda _: None)
    params = {**settings.params, "version": version, "target_name": target_name}
    if settings.kind == "lightgbm":
        params.setdefault("seed", settings.seed)
    cv: CrossValidation | None = None
    oof: FloatArray | None = None
    if settings.cv >= 2:
        cv, oof = _cross_validate(frame, y, inputs, settings, params, note)
    model = fit_model(settings.kind, frame, y, inputs, **params)
    note("final fit")
    raw = model.raw_score(frame)
    calibration = fit_calibration(oof if oof is not None else raw, y, settings.calibration)
    model = model.with_calibration(calibration)
    pd = calibration.apply(raw)
    return Trained(
        model=model,
        cross_validation=cv,
        holdout_pd=calibration.apply(oof) if oof is not None else None,
        profile=build_profile(frame, model.inputs, pd),
        calibrated_on="out-of-fold scores" if oof is not None else "training scores",
    )


def _cross_validate(
    frame: pl.DataFrame,
    y: np.ndarray[Any, Any],
    inputs: Sequence[InputColumn],
    settings: TrainingSettings,
    params: Mapping[str, Any],
    note: Progress,
) -> tuple[CrossValidation, FloatArray]:
    from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

    minority = int(min(y.sum(), y.size - y.sum()))
    if minority < settings.cv:
        raise ValueError(
            f"{settings.cv}-fold cross-validation needs at least {settings.cv} rows of each "
            f"outcome; the smaller class has {minority}"
        )
    folds = StratifiedKFold(settings.cv, shuffle=True, random_state=settings.seed)
    oof = np.zeros(frame.height)
    aucs = []
    for number, (fit_rows, test_rows) in enumerate(folds.split(np.zeros(y.size), y), start=1):
        model = fit_model(settings.kind, frame[fit_rows], y[fit_rows], inputs, **params)
        raw = model.raw_score(frame[test_rows])
        oof[test_rows] = raw
        aucs.append(auc(y[test_rows], raw))
        note(f"fold {number} of {settings.cv}")
    if any(math.isnan(a) for a in aucs):
        raise ValueError("a fold held a single outcome; use fewer folds")
    return CrossValidation(tuple(aucs)), oof
