"""Model cards: what a model-risk reviewer reads about a version, written next to its files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from repayguard.core.scoring import Evaluation, Trained, TrainingSettings
from repayguard.risk.datasets import Dataset, PreparedData

FORMAT: Final = "repayguard.model-card/1"
INTENDED_USE: Final = (
    "Estimate each borrower's probability of reaching 30+ days past due within 90 days, to "
    "place borrowers in risk tiers that repayment-method policies read. Not for credit "
    "approval or pricing decisions without a separate validation."
)


def dataset_summary(data: Dataset) -> dict[str, Any]:
    return {
        "name": data.name,
        "rows": data.frame.height,
        "events": data.events,
        "event_rate": data.events / data.frame.height if data.frame.height else None,
        "as_of": [d.isoformat() for d in data.as_of],
    }


def build_card(
    *,
    version: str,
    trained: Trained,
    prepared: PreparedData,
    settings: TrainingSettings,
    created_at: datetime,
    created_by: str,
    evaluation: Evaluation,
    evaluated_on: str,
    training: Evaluation,
    compared_with: Mapping[str, float],
) -> dict[str, Any]:
    """The card of one trained version (the registry adds the sha256 of every file)."""
    model = trained.model
    cv = trained.cross_validation
    limitations = [
        "Trained on the data named below only; monitor PSI of the PD and of each input.",
        f"Calibration fitted on {trained.calibrated_on}.",
    ]
    if prepared.validation is None:
        limitations.append("No out-of-time validation: the data has no time dimension.")
    if prepared.excluded:
        limitations.append(f"Not offered as inputs: {', '.join(prepared.excluded)}.")
    return {
        "format": FORMAT,
        "version": version,
        "kind": model.kind,
        "created_at": created_at.isoformat(),
        "created_by": created_by,
        "target": prepared.target_name,
        "source": prepared.source,
        "intended_use": INTENDED_USE,
        "limitations": limitations,
        "training": {
            **dataset_summary(prepared.train),
            "window": [d.isoformat() for d in prepared.window] if prepared.window else None,
        },
        "validation": dataset_summary(prepared.validation) if prepared.validation else None,
        "inputs": [i.as_dict() for i in model.inputs],
        "metrics": {
            "evaluated_on": evaluated_on,
            **{k: v for k, v in evaluation.as_dict().items() if k in _HEADLINE},
            "cross_validation": cv.as_dict() if cv else None,
            "training": training.headline(),
        },
        "calibration": {**model.calibration.as_dict(), "fitted_on": trained.calibrated_on},
        "settings": {
            "cv": settings.cv,
            "seed": settings.seed,
            "calibration": settings.calibration,
            "params": dict(settings.params),
        },
        "model": model.card(),
        "compared_with": dict(compared_with),
    }


_HEADLINE: Final = ("rows", "events", "event_rate", "mean_pd", "auc", "ks", "gini", "brier",
                    "log_loss", "psi")  # fmt: skip


def summary_metrics(card: Mapping[str, Any]) -> dict[str, Any]:
    """The figures kept in the database row (shown by ``model list``)."""
    metrics = card["metrics"]
    cv = metrics.get("cross_validation") or {}
    return {
        "evaluated_on": metrics["evaluated_on"],
        "auc": metrics.get("auc"),
        "ks": metrics.get("ks"),
        "gini": metrics.get("gini"),
        "cv_auc": cv.get("auc_mean"),
    }
