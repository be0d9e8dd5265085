"""The published OpenAPI contract: what a client generator reads is complete and true — no
console page in it, public routes without security, every refusal problem+json with its codes,
hand-named unique operationIds, the event types published, every field described."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from repayguard.api.app import create_app
from repayguard.api.openapi import DOMAIN_ERRORS, OPERATION_IDS, PROBLEM_MEDIA
from repayguard.bootstrap import bootstrap
from repayguard.console import PREFIX as CONSOLE_PREFIX
from repayguard.core.events import EVENT_TYPES
from repayguard.identity import PUBLIC, ROUTES
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.common import NOW, make_settings

UNDESCRIBED_ALLOWED: Final[dict[tuple[str, str], str]] = {}
"""(schema, property) → why it has no description. Empty: every published field says what
it is."""

HAND_NAMED: Final = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)+$")
"""camelCase: FastAPI's generated ids (``post_events_v1_events_post``) have underscores."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Any]]:
    """The document as the application serves it (access control on), and the app."""
    tmp = tmp_path_factory.mktemp("openapi")
    settings = make_settings(f"sqlite:///{tmp / 'r.db'}", Path(tmp), auth="required")
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        app = create_app(container)
        document = TestClient(app).get("/openapi.json").json()
        yield document, app


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_no_console_page_is_in_the_contract_and_every_page_is_still_served(
    served: tuple[dict[str, Any], Any],
) -> None:
    document, app = served
    paths = list(document["paths"])
    assert [p for p in paths if p.startswith(CONSOLE_PREFIX)] == []
    assert "console" not in {t for _, _, op in _operations(document) for t in op.get("tags", [])}
    pages = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path is not None and route.path.startswith(CONSOLE_PREFIX)
        for method in route.methods or ()
    }
    assert pages == {key for key in ROUTES if key[1].startswith(CONSOLE_PREFIX)}


def test_security_follows_the_permission_map(served: tuple[dict[str, Any], Any]) -> None:
    document, _ = served
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    public, secured = [], []
    for method, path, operation in _operations(document):
        (public if ROUTES[(method, path)] == PUBLIC else secured).append(operation["security"])
    assert public
    assert all(s == [] for s in public)
    assert secured
    assert all(s == [{"bearerAuth": []}] for s in secured)
    assert document["paths"]["/healthz"]["get"]["security"] == []
    assert document["paths"]["/v1/sessions"]["post"]["security"] == []


def test_every_refusal_is_problem_json_with_its_codes(served: tuple[dict[str, Any], Any]) -> None:
    document, _ = served
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "code"}
    assert "errors" in schemas["ValidationProblem"]["properties"]
    wrong: list[str] = []
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        for status, response in responses.items():
            if int(status) < 400:
                continue
            content = response.get("content", {})
            codes = response.get("x-error-codes", [])
            expected = "ValidationProblem" if status == "422" else "Problem"
            schema = content.get(PROBLEM_MEDIA, {}).get("schema", {})
            if list(content) != [PROBLEM_MEDIA] or schema != {
                "$ref": f"#/components/schemas/{expected}"
            }:
                wrong.append(f"{method} {path} {status}: {list(content)} {schema}")
            if not codes or any(f"`{c}`" not in response["description"] for c in codes):
                wrong.append(f"{method} {path} {status}: codes {codes} not described")
        secured = ROUTES[(method, path)] != PUBLIC
        if secured and not {"401", "403"} <= set(responses):
            wrong.append(f"{method} {path}: a secured route without 401/403")
        if path.startswith("/v1/") and not {"429", "503"} <= set(responses):
            wrong.append(f"{method} {path}: no 429/503")
        if "requestBody" in operation and "413" not in responses:
            wrong.append(f"{method} {path}: a body without 413")
        for error in DOMAIN_ERRORS.get((method, path), ()):
            if error.code not in responses[str(error.http_status)]["x-error-codes"]:
                wrong.append(f"{method} {path}: {error.code} not documented")
    assert wrong == []


def test_the_statuses_are_the_ones_each_kind_of_route_answers(
    served: tuple[dict[str, Any], Any],
) -> None:
    document, _ = served
    paths = document["paths"]
    methods = paths["/v1/borrowers/{borrower_id}/repayment-methods"]["get"]["responses"]
    assert set(methods) == {"200", "401", "403", "404", "422", "429", "503"}
    assert methods["404"]["x-error-codes"] == ["borrower_not_found"]
    assert paths["/healthz"]["get"]["responses"].keys() == {"200"}
    ready = paths["/readyz"]["get"]["responses"]
    assert ready["503"]["x-error-codes"] == ["not_ready"]
    login = paths["/v1/sessions"]["post"]["responses"]
    assert login["401"]["x-error-codes"] == ["login_failed"]
    assert login["429"]["x-error-codes"] == ["login_locked", "rate_limited"]
    limited = login["429"]["headers"]
    assert {"Retry-After", "RateLimit-Reset", "X-Request-ID"} <= set(limited)
    ingest = paths["/v1/events"]["post"]
    assert {"body_too_large", "batch_too_large"} <= set(ingest["responses"]["413"]["x-error-codes"])
    assert {"RateLimit-Limit", "X-Request-ID"} <= set(ingest["responses"]["200"]["headers"])


def test_idempotency_key_is_declared_on_the_writes_that_honour_it(
    served: tuple[dict[str, Any], Any],
) -> None:
    document, _ = served
    declared = {
        (method, path)
        for method, path, operation in _operations(document)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    writes = {
        (method, path)
        for method, path, _ in _operations(document)
        if method in {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert declared == writes - {("POST", "/v1/authorize")}
    conflict = document["paths"]["/v1/approvals"]["post"]["responses"]["409"]
    assert "idempotent_request_in_flight" in conflict["x-error-codes"]


def test_operation_ids_are_hand_named_and_unique(served: tuple[dict[str, Any], Any]) -> None:
    document, _ = served
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not HAND_NAMED.match(i)] == []
    assert set(ids) <= set(OPERATION_IDS.values())
    assert len(set(OPERATION_IDS.values())) == len(OPERATION_IDS)
    assert document["paths"]["/v1/events"]["post"]["operationId"] == "ingestEvents"
    assert document["paths"]["/v1/authorize"]["post"]["operationId"] == "authorizeRepayment"


def test_the_event_types_are_published_as_the_batch_items(
    served: tuple[dict[str, Any], Any],
) -> None:
    document, _ = served
    schemas = document["components"]["schemas"]
    items = schemas["EventBatch"]["properties"]["events"]["items"]
    mapping = items["discriminator"]["mapping"]
    assert sorted(mapping) == sorted(EVENT_TYPES)
    for event_type, ref in mapping.items():
        schema = schemas[ref.rsplit("/", 1)[1]]
        assert schema["properties"]["type"]["const"] == event_type
        assert "occurred_at" in schema["required"]


def test_every_published_field_is_described(served: tuple[dict[str, Any], Any]) -> None:
    document, _ = served
    undescribed = sorted(
        (name, field)
        for name, schema in document["components"]["schemas"].items()
        for field, definition in schema.get("properties", {}).items()
        if not definition.get("description") and (name, field) not in UNDESCRIBED_ALLOWED
    )
    assert undescribed == []


def test_no_model_is_named_by_its_module_path(served: tuple[dict[str, Any], Any]) -> None:
    """Client generators name classes by title; two models of one class name would clash."""
    document, _ = served
    schemas = document["components"]["schemas"]
    assert [n for n in schemas if n.startswith("repayguard__")] == []
    titles = [s.get("title", n) for n, s in schemas.items()]
    assert len(titles) == len(set(titles))
