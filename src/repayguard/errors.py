"""One error tree: every expected refusal has a stable code, a message and an HTTP status.

Business code raises these; the API maps them to ``application/problem+json`` in one place
and the CLI prints the message and the hint. Anything else reaching a user is a bug.

This module holds the base and the refusals several layers share (input, configuration,
availability, access, idempotency); each feature defines its own in ``<feature>/errors.py``
under this base, and ``api/error_tree.py`` lists the whole tree for the API's documentation.
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


class InvalidInput(RepayguardError):
    code = "invalid_input"
    http_status = 422


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


class DatabaseNotReady(RepayguardError):
    code = "database_not_ready"
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


class UnknownMessage(RepayguardError):
    """A message name (or version of it) no fact of this process declares: a producer newer
    than this process, or a typo."""

    code = "unknown_message"
    http_status = 500


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


class PersonalDataUnreadable(RepayguardError):
    """A ciphertext failed authentication or names a key the keyring lacks (never expected)."""

    code = "personal_data_unreadable"
    http_status = 500


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


class RateLimited(RepayguardError):
    """A caller went over its rate limit (``rate_limit`` settings): retry once the window
    resets (the ``Retry-After`` header says when)."""

    code = "rate_limited"
    http_status = 429


class PermissionDenied(RepayguardError):
    """The caller's role or token kind does not allow this action."""

    code = "permission_denied"
    http_status = 403


# --- policies: drafts, published versions, evaluation inputs (issue 4) ----------------------


class PolicyInputsInvalid(InvalidInput):
    """Inputs that do not fit the policy's declared types; ``detail["errors"]`` per input."""

    code = "policy_inputs_invalid"


# --- maker-checker approvals (issue 6) ------------------------------------------------------


class ApprovalPayloadChanged(RepayguardError):
    """What would be applied is no longer exactly what was submitted (the pinned hash differs,
    or the draft, model or entitlement it refers to changed since)."""

    code = "approval_payload_changed"
    http_status = 409


# --- notices and the scheduler (issue 6) ----------------------------------------------------


class JobLeaseLost(RepayguardError):
    """A scheduled job's database lease ran out and another worker took it over; the job
    stops where it is (what it committed stays, the other worker carries on)."""

    code = "job_lease_lost"
    http_status = 409


# --- complaints and appeals (issue 6) -------------------------------------------------------


# --- emergency playbooks and overlays (issue 15) ---------------------------------------------


# --- portfolio monitoring (issue 15) --------------------------------------------------------
