"""One error tree: every expected refusal has a stable code, a message and an HTTP status.

Business code raises these; the API maps them to ``application/problem+json`` in one place
and the CLI prints the message and the hint. Anything else reaching a user is a bug.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RepayguardError(Exception):
    """Base of every expected refusal."""

    code: ClassVar[str] = "repayguard_error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, hint: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail


class NotFound(RepayguardError):
    code = "not_found"
    http_status = 404


class BorrowerNotFound(NotFound):
    code = "borrower_not_found"


class InvalidInput(RepayguardError):
    code = "invalid_input"
    http_status = 422


class BatchTooLarge(InvalidInput):
    code = "batch_too_large"
    http_status = 413


class UnreadableFile(InvalidInput):
    code = "unreadable_file"


class ConfigurationInvalid(RepayguardError):
    code = "configuration_invalid"
    http_status = 500


class PolicyNotLoadable(ConfigurationInvalid):
    code = "policy_not_loadable"


class DatabaseNotReady(RepayguardError):
    code = "database_not_ready"
    http_status = 503


# --- audit trail, personal data, idempotency keys (issue 6) ---------------------------------


class KeyringInvalid(ConfigurationInvalid):
    code = "keyring_invalid"


class SigningKeyInvalid(ConfigurationInvalid):
    code = "signing_key_invalid"


class PersonalDataUnreadable(RepayguardError):
    """A ciphertext failed authentication or names a key the keyring lacks (never expected)."""

    code = "personal_data_unreadable"
    http_status = 500


class AuditChainUnavailable(RepayguardError):
    """The audit chain cannot take records (its head row is missing): writes are refused."""

    code = "audit_chain_unavailable"
    http_status = 503


class BorrowerProfileNotFound(NotFound):
    code = "borrower_profile_not_found"


class IdempotencyKeyInvalid(RepayguardError):
    code = "idempotency_key_invalid"
    http_status = 400


class IdempotencyKeyRequired(RepayguardError):
    code = "idempotency_key_required"
    http_status = 428


class IdempotencyKeyReused(InvalidInput):
    """The same Idempotency-Key came with a different request."""

    code = "idempotency_key_reused"


class IdempotentRequestInFlight(RepayguardError):
    """The first request with this Idempotency-Key has not finished yet."""

    code = "idempotent_request_in_flight"
    http_status = 409


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


class TokenInvalid(RepayguardError):
    """No usable API token was presented (missing, unknown, revoked or expired)."""

    code = "token_invalid"
    http_status = 401


class PermissionDenied(RepayguardError):
    """The caller's role or token kind does not allow this action."""

    code = "permission_denied"
    http_status = 403


class OperatorExists(RepayguardError):
    """An operator with this username already exists."""

    code = "operator_exists"
    http_status = 409


# --- policies: drafts, published versions, evaluation inputs (issue 4) ----------------------


class PolicyRejected(InvalidInput):
    """A policy that fails its static checks; ``detail["problems"]`` lists every finding."""

    code = "policy_rejected"


class PolicyDraftNotFound(NotFound):
    code = "policy_draft_not_found"


class PolicyVersionNotFound(NotFound):
    code = "policy_version_not_found"


class PolicyVersionConflict(RepayguardError):
    """Publishing would not make a new, next version (already published, stale number, no
    change since the latest version)."""

    code = "policy_version_conflict"
    http_status = 409


class PolicyVersionTampered(RepayguardError):
    """A stored policy version no longer matches the content hash recorded when published."""

    code = "policy_version_tampered"
    http_status = 409


class PolicyInputsInvalid(InvalidInput):
    """Inputs that do not fit the policy's declared types; ``detail["errors"]`` per input."""

    code = "policy_inputs_invalid"
