"""Risk models: train, evaluate, register (sha256-pinned artefacts), promote and score."""

from repayguard.risk.datasets import WINDOW_UNSTABLE, EventHistory, TabularFile
from repayguard.risk.lifecycle import (
    ModelDetails,
    PromoteModel,
    RegisteredModel,
    StateChange,
    check_promotable,
    list_models,
    load_production_model,
    load_version,
    missing_decision_inputs,
    promote_model,
    promote_model_within,
    read_report,
    show_model,
    training_profile,
)
from repayguard.risk.messages import (
    MODEL_PROMOTED,
    MODEL_REGISTERED,
    ModelPromoted,
    ModelRegistered,
)
from repayguard.risk.registry import ModelRegistry, default_registry
from repayguard.risk.repository import CANDIDATE, PRODUCTION, RETIRED
from repayguard.risk.scoring import ScoreFile, ScoreOutcome, score_file
from repayguard.risk.service import (
    EvaluateModel,
    EvaluationOutcome,
    TrainModel,
    TrainOutcome,
    evaluate_models,
    train_model,
)

__all__ = [
    "CANDIDATE",
    "MODEL_PROMOTED",
    "MODEL_REGISTERED",
    "PRODUCTION",
    "RETIRED",
    "WINDOW_UNSTABLE",
    "EvaluateModel",
    "EvaluationOutcome",
    "EventHistory",
    "ModelDetails",
    "ModelPromoted",
    "ModelRegistered",
    "ModelRegistry",
    "PromoteModel",
    "RegisteredModel",
    "ScoreFile",
    "ScoreOutcome",
    "StateChange",
    "TabularFile",
    "TrainModel",
    "TrainOutcome",
    "check_promotable",
    "default_registry",
    "evaluate_models",
    "list_models",
    "load_production_model",
    "load_version",
    "missing_decision_inputs",
    "promote_model",
    "promote_model_within",
    "read_report",
    "score_file",
    "show_model",
    "train_model",
    "training_profile",
]
