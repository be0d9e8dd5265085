"""The refusals of model registry, training and promotion.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import InvalidInput, NotFound, RepayguardError


class ModelVersionNotFound(NotFound):
    """No registered model version has this name."""

    code = "model_version_not_found"


class ModelVersionExists(RepayguardError):
    """A model version with this name is already registered."""

    code = "model_version_exists"
    http_status = 409


class ModelArtefactTampered(RepayguardError):
    """A stored model file no longer matches the sha256 recorded for it (or is missing)."""

    code = "model_artefact_tampered"
    http_status = 409


class ModelTrainingFailed(InvalidInput):
    """The data cannot train a model: one outcome only, no usable input, a bad window."""

    code = "model_training_failed"


class ModelNotUsableForDecisions(RepayguardError):
    """The production model needs inputs the decision pipeline does not compute."""

    code = "model_not_usable_for_decisions"
    http_status = 409


class ModelPromotionRefused(RepayguardError):
    """The version cannot be promoted from its current state."""

    code = "model_promotion_refused"
    http_status = 409
