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


class ChannelNotDeclared(InvalidInput):
    """An authorize call named a manual channel the policy in force does not declare."""

    code = "channel_not_declared"


class BatchTooLarge(InvalidInput):
    code = "batch_too_large"
    http_status = 413


class UnreadableFile(InvalidInput):
    code = "unreadable_file"


class EventsInvalid(InvalidInput):
    """A frame of events handed to ``repayguard.decide`` holds records ingestion would
    reject; ``detail["rejections"]`` lists each (position, event id, field, reason)."""

    code = "events_invalid"


class ExtraNotInstalled(RepayguardError):
    """A feature needs an optional dependency group (an extra) that is not installed."""

    code = "extra_not_installed"
    http_status = 501


class ConfigurationInvalid(RepayguardError):
    code = "configuration_invalid"
    http_status = 500


class PolicyNotLoadable(ConfigurationInvalid):
    code = "policy_not_loadable"


class DatabaseNotReady(RepayguardError):
    code = "database_not_ready"
    http_status = 503


class SparkUnavailable(RepayguardError):
    """The Spark batch driver cannot start here: the ``spark`` extra (pyspark) or Java is
    missing, or the Spark master did not answer."""

    code = "spark_unavailable"
    http_status = 503


class DatabaseUnavailable(RepayguardError):
    """The database did not serve a request: down or restarting, unreachable, out of disk or
    read-only. Nothing of the request was committed; it can be sent again once the database
    is back (``/readyz`` says when)."""

    code = "database_unavailable"
    http_status = 503


class BusUnavailable(RepayguardError):
    """The shared bus (NATS JetStream) did not answer: at start-up, or for a publish (the
    outbox keeps the message and the relay tries again)."""

    code = "bus_unavailable"
    http_status = 503


class BusMisconfigured(ConfigurationInvalid):
    """The stream or a message name does not fit this deployment's bus settings."""

    code = "bus_misconfigured"


class NotReady(RepayguardError):
    """This process should not get traffic now: its database does not answer, or the state it
    follows from the bus is older than ``bus.max_view_age_seconds``."""

    code = "not_ready"
    http_status = 503


class MetricsTokenInvalid(RepayguardError):
    """GET /metrics was called without the configured ``telemetry.metrics_token``."""

    code = "metrics_token_invalid"
    http_status = 401


class MetricsClosed(RepayguardError):
    """GET /metrics on a server reachable from other machines, with no metrics token set."""

    code = "metrics_closed"
    http_status = 403


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


class LoginFailed(RepayguardError):
    """The username or password is wrong, or the operator cannot log in (one answer for all,
    so a caller learns nothing about which usernames exist)."""

    code = "login_failed"
    http_status = 401


class LoginLocked(RepayguardError):
    """Too many failed logins in a row: the operator's password login is paused for a while."""

    code = "login_locked"
    http_status = 429


class RateLimited(RepayguardError):
    """A caller went over its rate limit (``rate_limit`` settings): retry once the window
    resets (the ``Retry-After`` header says when)."""

    code = "rate_limited"
    http_status = 429


class PasswordRejected(InvalidInput):
    """A new password does not meet the rules (length, not the username)."""

    code = "password_rejected"


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


class PolicyNotInForce(RepayguardError):
    """No published version of the configured policy name (``decisions.policy_name``) exists
    and no development override is set: nothing may decide."""

    code = "policy_not_in_force"
    http_status = 503


class PolicyInputsInvalid(InvalidInput):
    """Inputs that do not fit the policy's declared types; ``detail["errors"]`` per input."""

    code = "policy_inputs_invalid"


# --- maker-checker approvals (issue 6) ------------------------------------------------------


class ApprovalNotFound(NotFound):
    code = "approval_not_found"


class OperatorRequired(RepayguardError):
    """Maker-checker needs to know which operator acts (an operator token, or ``--as``)."""

    code = "operator_required"
    http_status = 401


class ApprovalInitiatorNotAllowed(RepayguardError):
    """The operator's role may not ask for this kind of approval (checkers never initiate)."""

    code = "approval_initiator_not_allowed"
    http_status = 403


class ApprovalCheckerNotAllowed(RepayguardError):
    """The operator's role may not approve or reject requests."""

    code = "approval_checker_not_allowed"
    http_status = 403


class MakerCannotApprove(RepayguardError):
    """The operator who made a request can never approve or reject it."""

    code = "maker_cannot_approve"
    http_status = 403


class ApprovalNotYours(RepayguardError):
    """Only the maker of a request may withdraw it."""

    code = "approval_not_yours"
    http_status = 403


class ApprovalNotPending(RepayguardError):
    """The request was already approved, rejected, withdrawn or expired."""

    code = "approval_not_pending"
    http_status = 409


class ApprovalExpired(RepayguardError):
    """The request's time to be decided has passed; it can only be made again."""

    code = "approval_expired"
    http_status = 409


class PendingApprovalExists(RepayguardError):
    """Another request about the same subject is still pending."""

    code = "pending_approval_exists"
    http_status = 409


class ApprovalPayloadChanged(RepayguardError):
    """What would be applied is no longer exactly what was submitted (the pinned hash differs,
    or the draft, model or entitlement it refers to changed since)."""

    code = "approval_payload_changed"
    http_status = 409


class ApprovalPayloadInvalid(InvalidInput):
    """The payload does not describe something that could be approved (unknown draft, a
    model already in production, an override breaking a guardrail, …)."""

    code = "approval_payload_invalid"


# --- notices and the scheduler (issue 6) ----------------------------------------------------


class NoticesMisconfigured(ConfigurationInvalid):
    """A notice channel or template the settings ask for is missing or unusable."""

    code = "notices_misconfigured"


class JobLeaseLost(RepayguardError):
    """A scheduled job's database lease ran out and another worker took it over; the job
    stops where it is (what it committed stays, the other worker carries on)."""

    code = "job_lease_lost"
    http_status = 409


# --- complaints and appeals (issue 6) -------------------------------------------------------


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


class DecisionNotFound(NotFound):
    """The borrower has no such decision (none yet, or the id names another's)."""

    code = "decision_not_found"


class ComplaintInvalid(InvalidInput):
    """A complaint or its resolution that cannot be accepted as given (an empty statement, an
    unknown method, a reversal without a way to reverse it)."""

    code = "complaint_invalid"


class ComplaintAlreadyOpen(RepayguardError):
    """The borrower already has an open case about this decision."""

    code = "complaint_already_open"
    http_status = 409


class ComplaintNotOpen(RepayguardError):
    """The case is resolved already, or a reversal of it waits for a second person."""

    code = "complaint_not_open"
    http_status = 409


class ComplaintResolverNotAllowed(RepayguardError):
    """The operator's role may not resolve complaints."""

    code = "complaint_resolver_not_allowed"
    http_status = 403


class HardshipCaseNotFound(NotFound):
    code = "hardship_case_not_found"


class HardshipCaseInvalid(InvalidInput):
    """A hardship case or its closing that cannot be accepted as given (an unknown reason, an
    empty evidence note, a close without a note)."""

    code = "hardship_case_invalid"


class HardshipCaseAlreadyOpen(RepayguardError):
    """The borrower already has an open hardship case."""

    code = "hardship_case_already_open"
    http_status = 409


class HardshipCaseNotOpen(RepayguardError):
    """The hardship case is closed already."""

    code = "hardship_case_not_open"
    http_status = 409


class HardshipReviewerNotAllowed(RepayguardError):
    """The operator may not close this hardship case: their role does not review hardship, or
    they opened it themselves (the opener never decides their own case)."""

    code = "hardship_reviewer_not_allowed"
    http_status = 403


class BackupInvalid(RepayguardError):
    """A folder given to restore is not a complete, intact repayguard backup."""

    code = "backup_invalid"
    http_status = 422


class RestoreRefused(RepayguardError):
    """A restore would overwrite a store, key or checkpoint folder that is not empty, or the
    backup is of another kind of database."""

    code = "restore_refused"
    http_status = 409


class BackupToolMissing(RepayguardError):
    """PostgreSQL's pg_dump / pg_restore is not installed where the command runs."""

    code = "backup_tool_missing"
    http_status = 503


class BackupFailed(RepayguardError):
    """PostgreSQL's pg_dump or pg_restore failed; its own message says why."""

    code = "backup_failed"
    http_status = 503


class ThresholdsInvalid(ConfigurationInvalid):
    """The monitoring thresholds file cannot be used as written (the message names the key)."""

    code = "thresholds_invalid"


class IncidentNotFound(NotFound):
    code = "incident_not_found"


class IncidentStateInvalid(RepayguardError):
    """The incident cannot take that step from where it is (acknowledging a resolved one,
    resolving one twice)."""

    code = "incident_state_invalid"
    http_status = 409


class IncidentAlreadyOpen(RepayguardError):
    """The metric and segment already have an open incident (one at a time)."""

    code = "incident_already_open"
    http_status = 409


# --- emergency playbooks and overlays (issue 15) ---------------------------------------------


class PlaybookRefused(InvalidInput):
    """A playbook document that does not load or breaks a guardrail; ``detail["findings"]``
    names the offending key each."""

    code = "playbook_refused"


class PlaybookNotFound(NotFound):
    code = "playbook_not_found"


class PlaybookVersionConflict(RepayguardError):
    """This name and version hold another document already (a version never changes)."""

    code = "playbook_version_conflict"
    http_status = 409


class PlaybookNotApproved(RepayguardError):
    """Only a playbook a second person approved in advance can be armed."""

    code = "playbook_not_approved"
    http_status = 409


class OverlayNotFound(NotFound):
    code = "overlay_not_found"


class OverlayNotActive(RepayguardError):
    """The overlay was lifted, expired or lapsed already (or reviewed, for a second review)."""

    code = "overlay_not_active"
    http_status = 409


class OverlayReviewerNotAllowed(RepayguardError):
    """Whoever armed an overlay never reviews it, and a review after the deadline is too late
    (the overlay lapses)."""

    code = "overlay_reviewer_not_allowed"
    http_status = 403


# --- portfolio monitoring (issue 15) --------------------------------------------------------


class UnknownMetric(InvalidInput):
    """A metrics request named a metric the catalogue does not hold."""

    code = "unknown_metric"


class MetricRangeInvalid(InvalidInput):
    """A metrics request's date range is reversed or longer than one request may cover."""

    code = "metric_range_invalid"
