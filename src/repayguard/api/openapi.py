"""The published OpenAPI contract: what a client generator reads.

FastAPI's own document knows the routes and their models; this module completes it once, from
the places that already hold the truth, instead of a dict per endpoint:

- security from the permission map (``identity.ROUTES``): a ``public`` route has
  ``security: []``, every other one needs ``bearerAuth``;
- the refusals each route can answer, as ``application/problem+json`` (:class:`Problem`,
  :class:`ValidationProblem` for 422), from the route's permission, parameters, body, the
  middleware in front of it and the :class:`~repayguard.errors.RepayguardError` classes
  :data:`DOMAIN_ERRORS` declares for it — each response lists its codes in ``x-error-codes``;
- a hand-chosen ``operationId`` per route (:data:`OPERATION_IDS`), so generated clients get
  stable method names;
- the six event schemas of ``core/events.py`` as the items of ``POST /v1/events`` (documentation
  and client typing only: the endpoint still takes any element and rejects bad records one by
  one);
- the ``Idempotency-Key`` request header, and the ``X-Request-ID`` and rate-limit response
  headers.

``/docs`` is served from the Swagger UI files installed with the ``fastapi-offline`` package:
the page loads nothing from another host. There is no ``/redoc``: ReDoc's page fetches its
logo from its vendor's CDN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from repayguard.api import error_tree as errors
from repayguard.api.idempotency import WRITE_METHODS, IdempotencyMiddleware
from repayguard.core.events import EVENT_ADAPTER
from repayguard.errors import ConfigurationInvalid, RepayguardError
from repayguard.identity import PUBLIC, ROUTES

PROBLEM_MEDIA: Final = "application/problem+json"
BEARER: Final = "bearerAuth"
DOCS_ASSETS: Final = "/docs/assets"
_ASSETS_DIR: Final = Path(fastapi_offline.__file__).parent / "static"

OPERATION_IDS: Final[dict[tuple[str, str], str]] = {
    ("GET", "/healthz"): "getHealth",
    ("GET", "/readyz"): "getReadiness",
    ("GET", "/livez"): "getLiveness",
    ("POST", "/v1/sessions"): "startSession",
    ("DELETE", "/v1/sessions/current"): "endSession",
    ("POST", "/v1/events"): "ingestEvents",
    ("POST", "/v1/authorize"): "authorizeRepayment",
    ("GET", "/v1/borrowers/{borrower_id}/repayment-methods"): "listRepaymentMethods",
    ("GET", "/v1/borrowers/{borrower_id}/what-would-change"): "getWhatWouldChange",
    ("PUT", "/v1/borrowers/{borrower_id}/profile"): "putBorrowerProfile",
    ("GET", "/v1/borrowers/{borrower_id}/profile"): "getBorrowerProfile",
    ("GET", "/v1/borrowers/{borrower_id}/notices"): "listBorrowerNotices",
    ("GET", "/v1/policies/schema"): "getPolicySchema",
    ("POST", "/v1/policies/check"): "checkPolicy",
    ("POST", "/v1/policies/drafts"): "submitPolicyDraft",
    ("GET", "/v1/policies/drafts/{draft_id}"): "getPolicyDraft",
    ("POST", "/v1/policies/drafts/{draft_id}/publish"): "requestPolicyPublish",
    ("GET", "/v1/policies/versions"): "listPolicyVersions",
    ("GET", "/v1/policies/versions/{name}"): "getLatestPolicyVersion",
    ("GET", "/v1/policies/versions/{name}/{version}"): "getPolicyVersion",
    ("POST", "/v1/policies/diff"): "diffPolicies",
    ("POST", "/v1/policies/impact"): "previewPolicyImpact",
    ("POST", "/v1/policies/explain"): "explainPolicy",
    ("GET", "/v1/shadow/summary"): "getShadowSummary",
    ("GET", "/v1/shadow/disagreements"): "listShadowDisagreements",
    ("GET", "/v1/monitoring/metrics"): "getMetricSeries",
    ("GET", "/v1/monitoring/snapshot"): "getMonitoringSnapshot",
    ("GET", "/v1/models"): "listModels",
    ("GET", "/v1/models/{version}"): "getModel",
    ("GET", "/v1/models/{version}/report"): "getModelReport",
    ("GET", "/v1/models/{version}/report.html"): "getModelReportHtml",
    ("GET", "/v1/approvals"): "listApprovals",
    ("POST", "/v1/approvals"): "requestApproval",
    ("GET", "/v1/approvals/{request_id}"): "getApproval",
    ("POST", "/v1/approvals/{request_id}/approve"): "approveRequest",
    ("POST", "/v1/approvals/{request_id}/reject"): "rejectRequest",
    ("POST", "/v1/approvals/{request_id}/withdraw"): "withdrawRequest",
    ("POST", "/v1/approvals/bulk-approve"): "bulkApprove",
    ("POST", "/v1/borrowers/{borrower_id}/complaints"): "fileComplaint",
    ("GET", "/v1/borrowers/{borrower_id}/complaints"): "listBorrowerComplaints",
    ("GET", "/v1/complaints"): "listComplaints",
    ("GET", "/v1/complaints/{complaint_id}"): "getComplaint",
    ("POST", "/v1/complaints/{complaint_id}/resolve"): "resolveComplaint",
    ("GET", "/v1/complaints/{complaint_id}/remedies"): "listComplaintRemedies",
    ("POST", "/v1/borrowers/{borrower_id}/hardship"): "openHardshipCase",
    ("GET", "/v1/borrowers/{borrower_id}/hardship"): "listBorrowerHardshipCases",
    ("GET", "/v1/hardship"): "listHardshipCases",
    ("GET", "/v1/hardship/{case_id}"): "getHardshipCase",
    ("POST", "/v1/hardship/{case_id}/close"): "closeHardshipCase",
    ("GET", "/v1/incidents"): "listIncidents",
    ("GET", "/v1/incidents/{incident_id}"): "getIncident",
    ("POST", "/v1/incidents/{incident_id}/acknowledge"): "acknowledgeIncident",
    ("POST", "/v1/incidents/{incident_id}/resolve"): "resolveIncident",
    ("GET", "/v1/playbooks"): "listPlaybooks",
    ("POST", "/v1/playbooks"): "submitPlaybook",
    ("GET", "/v1/playbooks/{name}/{version}"): "getPlaybook",
    ("GET", "/v1/overlays"): "listOverlays",
    ("POST", "/v1/overlays"): "armOverlay",
    ("POST", "/v1/overlays/{overlay_id}/lift"): "liftOverlay",
    ("POST", "/v1/overlays/{overlay_id}/review"): "reviewOverlay",
}
"""(method, path template) → the operationId generated clients name their method after. A
route published without an entry fails the schema (and its test): name it here."""

_E = errors
DOMAIN_ERRORS: Final[dict[tuple[str, str], tuple[type[RepayguardError], ...]]] = {
    ("GET", "/readyz"): (_E.NotReady,),
    ("POST", "/v1/sessions"): (_E.LoginFailed, _E.LoginLocked),
    ("DELETE", "/v1/sessions/current"): (_E.InvalidInput,),
    ("POST", "/v1/events"): (_E.BatchTooLarge,),
    ("POST", "/v1/authorize"): (_E.ChannelNotDeclared,),
    ("GET", "/v1/borrowers/{borrower_id}/repayment-methods"): (_E.BorrowerNotFound,),
    ("GET", "/v1/borrowers/{borrower_id}/what-would-change"): (
        _E.BorrowerNotFound,
        _E.PolicyNotInForce,
    ),
    ("GET", "/v1/borrowers/{borrower_id}/profile"): (_E.BorrowerProfileNotFound,),
    ("POST", "/v1/policies/drafts"): (_E.PolicyRejected,),
    ("GET", "/v1/policies/drafts/{draft_id}"): (_E.PolicyDraftNotFound,),
    ("POST", "/v1/policies/drafts/{draft_id}/publish"): (
        _E.PolicyDraftNotFound,
        _E.PolicyVersionConflict,
        _E.PendingApprovalExists,
        _E.OperatorRequired,
        _E.ApprovalInitiatorNotAllowed,
    ),
    ("GET", "/v1/policies/versions/{name}"): (_E.PolicyVersionNotFound,),
    ("GET", "/v1/policies/versions/{name}/{version}"): (
        _E.PolicyVersionNotFound,
        _E.PolicyVersionTampered,
    ),
    ("POST", "/v1/policies/diff"): (_E.PolicyDraftNotFound, _E.PolicyVersionNotFound),
    ("POST", "/v1/policies/impact"): (
        _E.PolicyDraftNotFound,
        _E.PolicyVersionNotFound,
        _E.PolicyRejected,
    ),
    ("POST", "/v1/policies/explain"): (
        _E.PolicyDraftNotFound,
        _E.PolicyVersionNotFound,
        _E.PolicyInputsInvalid,
    ),
    ("GET", "/v1/monitoring/metrics"): (_E.UnknownMetric, _E.MetricRangeInvalid, _E.NotReady),
    ("GET", "/v1/monitoring/snapshot"): (_E.NotReady,),
    ("GET", "/v1/models/{version}"): (_E.ModelVersionNotFound,),
    ("GET", "/v1/models/{version}/report"): (_E.ModelVersionNotFound,),
    ("GET", "/v1/models/{version}/report.html"): (_E.ModelVersionNotFound,),
    ("POST", "/v1/approvals"): (
        _E.ApprovalPayloadInvalid,
        _E.PendingApprovalExists,
        _E.ApprovalInitiatorNotAllowed,
        _E.OperatorRequired,
    ),
    ("GET", "/v1/approvals/{request_id}"): (_E.ApprovalNotFound,),
    ("POST", "/v1/approvals/{request_id}/approve"): (
        _E.ApprovalNotFound,
        _E.ApprovalNotPending,
        _E.ApprovalExpired,
        _E.ApprovalPayloadChanged,
        _E.MakerCannotApprove,
        _E.ApprovalCheckerNotAllowed,
        _E.OperatorRequired,
    ),
    ("POST", "/v1/approvals/{request_id}/reject"): (
        _E.ApprovalNotFound,
        _E.ApprovalNotPending,
        _E.ApprovalExpired,
        _E.MakerCannotApprove,
        _E.ApprovalCheckerNotAllowed,
        _E.OperatorRequired,
    ),
    ("POST", "/v1/approvals/{request_id}/withdraw"): (
        _E.ApprovalNotFound,
        _E.ApprovalNotPending,
        _E.ApprovalNotYours,
        _E.OperatorRequired,
    ),
    ("POST", "/v1/approvals/bulk-approve"): (_E.ApprovalCheckerNotAllowed, _E.OperatorRequired),
    ("POST", "/v1/borrowers/{borrower_id}/complaints"): (
        _E.DecisionNotFound,
        _E.ComplaintInvalid,
        _E.ComplaintAlreadyOpen,
    ),
    ("GET", "/v1/complaints/{complaint_id}"): (_E.ComplaintNotFound,),
    ("POST", "/v1/complaints/{complaint_id}/resolve"): (
        _E.ComplaintNotFound,
        _E.ComplaintNotOpen,
        _E.ComplaintInvalid,
        _E.ComplaintResolverNotAllowed,
        _E.PendingApprovalExists,
        _E.OperatorRequired,
    ),
    ("GET", "/v1/complaints/{complaint_id}/remedies"): (_E.ComplaintNotFound,),
    ("POST", "/v1/borrowers/{borrower_id}/hardship"): (
        _E.BorrowerNotFound,
        _E.HardshipCaseInvalid,
        _E.HardshipCaseAlreadyOpen,
    ),
    ("GET", "/v1/hardship/{case_id}"): (_E.HardshipCaseNotFound,),
    ("POST", "/v1/hardship/{case_id}/close"): (
        _E.HardshipCaseNotFound,
        _E.HardshipCaseNotOpen,
        _E.HardshipCaseInvalid,
        _E.HardshipReviewerNotAllowed,
        _E.OperatorRequired,
    ),
    ("GET", "/v1/incidents/{incident_id}"): (_E.IncidentNotFound,),
    ("POST", "/v1/incidents/{incident_id}/acknowledge"): (
        _E.IncidentNotFound,
        _E.IncidentStateInvalid,
        _E.OperatorRequired,
    ),
    ("POST", "/v1/incidents/{incident_id}/resolve"): (
        _E.IncidentNotFound,
        _E.IncidentStateInvalid,
        _E.OperatorRequired,
    ),
    ("POST", "/v1/playbooks"): (_E.PlaybookRefused, _E.PlaybookVersionConflict),
    ("GET", "/v1/playbooks/{name}/{version}"): (_E.PlaybookNotFound,),
    ("POST", "/v1/overlays"): (_E.PlaybookNotFound, _E.PlaybookNotApproved, _E.OperatorRequired),
    ("POST", "/v1/overlays/{overlay_id}/lift"): (
        _E.OverlayNotFound,
        _E.OverlayNotActive,
        _E.OperatorRequired,
    ),
    ("POST", "/v1/overlays/{overlay_id}/review"): (
        _E.OverlayNotFound,
        _E.OverlayNotActive,
        _E.OverlayReviewerNotAllowed,
        _E.OperatorRequired,
    ),
}
"""The domain refusals (beyond the ones every route of its kind shares) each route's use-case
raises; the shared ones are derived in :func:`_refusals`."""


# --- the problem bodies ----------------------------------------------------------------------


class Problem(BaseModel):
    """An RFC 9457 problem: every refusal of the API has this body, with a stable ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="A URI naming the kind of problem; ends with the code.",
        examples=["https://repayguard.dev/problems/borrower_not_found"],
    )
    title: str = Field(
        description="The code in words; the same for every problem of this kind.",
        examples=["borrower not found"],
    )
    status: int = Field(description="The HTTP status of the response.", examples=[404])
    detail: str = Field(
        description="What went wrong with this request, in words.",
        examples=["no borrower B-1042 in the entitlement view"],
    )
    code: str = Field(
        description="Stable, machine-readable problem code; the response's x-error-codes list "
        "the ones this route can answer.",
        examples=["borrower_not_found"],
    )
    hint: str | None = Field(
        default=None,
        description="What to do next, when the API can say.",
        examples=["check the borrower id, or ingest the borrower's events first"],
    )
    extra: dict[str, Any] | None = Field(
        default=None,
        description="Details specific to the code (for example the findings of a refused policy).",
        examples=[{"problems": []}],
    )


class FieldProblem(BaseModel):
    """One input that does not match the API schema."""

    field: str = Field(
        description="Where the input is: body, query, path or header, then the field's path, "
        "dot-separated.",
        examples=["body.borrower_id"],
    )
    reason: str = Field(description="Why it was refused.", examples=["Field required"])


class ValidationProblem(Problem):
    """A 422 problem: the request does not match the schema (code ``invalid_request``, with
    ``errors``), or its values are refused by the use-case (another code, no ``errors``)."""

    errors: list[FieldProblem] | None = Field(
        default=None,
        description="Every field that does not match the schema (code invalid_request only).",
        examples=[[{"field": "body.borrower_id", "reason": "Field required"}]],
    )


# --- refusals a route can answer -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """One problem code a route can answer with."""

    status: int
    code: str
    meaning: str

    @classmethod
    def of(cls, error: type[RepayguardError]) -> Refusal:
        doc = (error.__doc__ or "").strip()
        meaning = re.split(r"(?<=\.)\s", " ".join(doc.split()), maxsplit=1)[0] if doc else ""
        return cls(error.http_status, error.code, meaning or error.code.replace("_", " "))


INVALID_REQUEST: Final = Refusal(
    422, "invalid_request", "The parameters or body do not match this schema (see errors)."
)
BODY_TOO_LARGE: Final = Refusal(
    413, "body_too_large", "The request body is larger than this route takes."
)
RATE_LIMITED: Final = Refusal(
    429, "rate_limited", "Too many requests in the current window; retry after Retry-After."
)

_STATUS_TEXT: Final = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    503: "Unavailable; nothing of the request was saved",
}


@dataclass(frozen=True, slots=True)
class _Idempotency:
    exempt: frozenset[str]
    required: bool


def _idempotency(app: FastAPI) -> _Idempotency | None:
    for middleware in app.user_middleware:
        factory: object = middleware.cls
        if factory is IdempotencyMiddleware:
            options: dict[str, Any] = dict(middleware.kwargs)
            exempt: Iterable[str] = options.get("exempt", ("/v1/authorize",))
            return _Idempotency(
                frozenset(exempt),
                bool(options.get("required", False)),
            )
    return None


def _refusals(
    method: str,
    path: str,
    *,
    validated: bool,
    has_body: bool,
    idempotent: _Idempotency | None,
) -> list[Refusal]:
    """Every code the route can answer: the shared ones from its kind, then its own."""
    found: list[Refusal] = []
    if ROUTES[(method, path)] != PUBLIC:
        found += [Refusal.of(errors.TokenInvalid), Refusal.of(errors.PermissionDenied)]
    if validated:
        found.append(INVALID_REQUEST)
    if has_body:
        found.append(BODY_TOO_LARGE)
    if idempotent is not None:
        found += [
            Refusal.of(errors.IdempotencyKeyInvalid),
            Refusal.of(errors.IdempotencyKeyReused),
            Refusal.of(errors.IdempotentRequestInFlight),
        ]
        if idempotent.required:
            found.append(Refusal.of(errors.IdempotencyKeyRequired))
    if path.startswith("/v1/"):
        found += [RATE_LIMITED, Refusal.of(errors.DatabaseUnavailable)]
    found += [Refusal.of(e) for e in DOMAIN_ERRORS.get((method, path), ())]
    unique = {r.code: r for r in found}
    return sorted(unique.values(), key=lambda r: (r.status, r.code))


# --- the document ----------------------------------------------------------------------------

_HEADERS: Final[dict[str, dict[str, Any]]] = {
    "X-Request-ID": {
        "description": "The request's id: the caller's X-Request-ID when it is a sane token "
        "(up to 128 of A-Z a-z 0-9 . _ -), otherwise one generated; it is in every log line "
        "about the request.",
        "schema": {"type": "string", "maxLength": 128, "examples": ["req-7f3a9c"]},
    },
    "RateLimit-Limit": {
        "description": "Requests this caller may make on this route per window.",
        "schema": {"type": "integer", "examples": [600]},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer", "examples": [599]},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the current window resets.",
        "schema": {"type": "integer", "examples": [42]},
    },
    "Retry-After": {
        "description": "Seconds to wait before sending the request again.",
        "schema": {"type": "integer", "examples": [42]},
    },
    "Idempotent-Replayed": {
        "description": "Present (true) when this is the stored response of an earlier request "
        "with the same Idempotency-Key.",
        "schema": {"type": "boolean"},
    },
}

IDEMPOTENCY_KEY: Final[dict[str, Any]] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A unique key (a UUID) per logical request: the request runs once, and a "
    "retry with the same key and the same request gets the stored response. The same key with "
    "another request is refused (422 idempotency_key_reused).",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[!-~]+$",
        "examples": ["0f8fad5b-d9cb-469f-a165-70867728950e"],
    },
}


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _event_union(schemas: dict[str, Any]) -> dict[str, Any]:
    """The six event types as component schemas; returns the discriminated union over them."""
    union = EVENT_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
    for name, schema in union.pop("$defs", {}).items():
        if name in schemas:
            raise ConfigurationInvalid(f"the event schema {name} clashes with an API schema")
        for field in schema["properties"].values():
            # ``schema_version: 1`` as a one-value enum: generators type a numeric ``const``
            # badly (openapi-python-client 0.29 writes code that does not parse).
            if isinstance(field.get("const"), int):
                field["enum"] = [field.pop("const")]
        schemas[name] = schema
    return union


def build_contract(app: FastAPI) -> dict[str, Any]:
    """The application's OpenAPI document, completed as this module's docstring says."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = document.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    for fastapi_default in ("HTTPValidationError", "ValidationError"):
        schemas.pop(fastapi_default, None)
    schemas.update(_model_schemas(Problem, ValidationProblem))
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from 'repayguard token create', or an operator "
            "session from POST /v1/sessions.",
        }
    }
    components["headers"] = _HEADERS
    document["security"] = [{BEARER: []}]
    _name_clashing_models(document)
    if "EventBatch" in schemas:
        events = schemas["EventBatch"]["properties"]["events"]
        events["items"] = _event_union(schemas)
    idempotency = _idempotency(app)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            _complete(operation, method.upper(), path, idempotency)
    return document


_QUALIFIED: Final = re.compile(r"^repayguard__(?P<package>[a-z]+)__(?:\w+__)?(?P<model>\w+)$")


def _name_clashing_models(document: dict[str, Any]) -> None:
    """FastAPI names two models of the same class name by their module path
    (``repayguard__complaints__schemas__ResolveIn``), and client generators name classes by
    title, where the two still clash: name each after its package (``ComplaintsResolveIn``)."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    renamed: dict[str, str] = {}
    for name in list(schemas):
        match = _QUALIFIED.match(name)
        if match is None:
            continue
        new = f"{match['package'].title()}{match['model']}"
        if new in schemas:
            raise ConfigurationInvalid(f"the API schema {name} cannot be named {new}: taken")
        schemas[new] = {**schemas.pop(name), "title": new}
        renamed[f"#/components/schemas/{name}"] = f"#/components/schemas/{new}"

    def rewrite(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref in renamed:
                node["$ref"] = renamed[ref]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for value in node:
                rewrite(value)

    if renamed:
        rewrite(document)


def _complete(
    operation: dict[str, Any], method: str, path: str, idempotency: _Idempotency | None
) -> None:
    key = (method, path)
    if key not in ROUTES:
        raise ConfigurationInvalid(f"{method} {path} is not in the permission map")
    if key not in OPERATION_IDS:
        raise ConfigurationInvalid(
            f"{method} {path} has no operationId",
            hint="name it in OPERATION_IDS in repayguard/api/openapi.py",
        )
    operation["operationId"] = OPERATION_IDS[key]
    operation["security"] = [] if ROUTES[key] == PUBLIC else [{BEARER: []}]
    responses: dict[str, Any] = operation.setdefault("responses", {})
    validated = responses.pop("422", None) is not None
    idempotent = (
        idempotency
        if idempotency is not None and method in WRITE_METHODS and path not in idempotency.exempt
        else None
    )
    if idempotent is not None:
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    limited = path.startswith("/v1/")
    success = ("X-Request-ID", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
    for answered, response in responses.items():
        if answered.startswith("2"):
            names = success if limited else success[:1]
            if idempotent is not None:
                names = (*names, "Idempotent-Replayed")
            response["headers"] = _header_refs(*names)
    refusals = _refusals(
        method,
        path,
        validated=validated,
        has_body="requestBody" in operation,
        idempotent=idempotent,
    )
    by_status: dict[int, list[Refusal]] = {}
    for refusal in refusals:
        by_status.setdefault(refusal.status, []).append(refusal)
    for code, group in sorted(by_status.items()):
        status: int = code
        model = "ValidationProblem" if status == 422 else "Problem"
        headers = ["X-Request-ID"]
        if status == 429:
            headers += ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"]
        elif status in (409, 503):
            headers.append("Retry-After")
        lines = "\n".join(f"- `{r.code}`: {r.meaning}" for r in group)
        responses[str(status)] = {
            "description": f"{_STATUS_TEXT.get(status, 'Refused')}. Problem codes:\n\n{lines}",
            "headers": _header_refs(*headers),
            "content": {PROBLEM_MEDIA: {"schema": {"$ref": f"#/components/schemas/{model}"}}},
            "x-error-codes": [r.code for r in group],
        }


def install(app: FastAPI) -> None:
    """Publish the completed contract at the app's ``openapi_url`` and serve ``/docs`` from
    local assets. The app is created with ``docs_url=None, redoc_url=None``."""

    def contract() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_contract(app)
        return app.openapi_schema

    app.openapi = contract  # type: ignore[method-assign]
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(DOCS_ASSETS, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")

    async def swagger(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            # No badge from the public validator: the page talks to this server only.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_route("/docs", swagger, include_in_schema=False)


__all__ = [
    "DOMAIN_ERRORS",
    "OPERATION_IDS",
    "PROBLEM_MEDIA",
    "FieldProblem",
    "Problem",
    "ValidationProblem",
    "build_contract",
    "install",
]
