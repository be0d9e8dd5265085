"""Access control over HTTP: every endpoint × every role × own/other borrower, 0 unexpected
allows; tokens that are missing, revoked or belong to a disabled operator get nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.console import PREFIX as CONSOLE_PREFIX
from repayguard.identity import (
    ROLES,
    ROUTES,
    AddOperator,
    CreateToken,
    DisableOperator,
    Principal,
    RevokeToken,
    add_operator,
    allows,
    create_token,
    disable_operator,
    revoke_token,
)
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings

OWN, OTHER = "B-OWN", "B-OTHER"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, dict[str, str]]]:
    """One SQLite-backed app with auth required and a token per kind of caller."""
    tmp = tmp_path_factory.mktemp("access")
    settings = make_settings(f"sqlite:///{tmp / 'r.db'}", Path(tmp), auth="required")
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        events = failing_debits_history(OWN, NOW) + healthy_history(OTHER, NOW)
        ingest_events(
            IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest
        )
        tokens: dict[str, str] = {}
        for role in ROLES:
            add_operator(AddOperator(f"op-{role}", role), uow=container.uow())
            tokens[role] = create_token(
                CreateToken("operator", f"op-{role}"), uow=container.uow()
            ).secret
        tokens["service"] = create_token(CreateToken("service", "app"), uow=container.uow()).secret
        tokens["borrower"] = create_token(CreateToken("borrower", OWN), uow=container.uow()).secret
        yield container, tokens


def _principal(name: str) -> Principal:
    if name == "service":
        return Principal("service", "t")
    if name == "borrower":
        return Principal("borrower", "t", borrower_id=OWN)
    return Principal("operator", "t", role=name)  # type: ignore[arg-type]


def _endpoints(app: FastAPI) -> list[tuple[str, str]]:
    """(METHOD, path template) of every endpoint the application publishes: the API (its
    OpenAPI document) and the console's pages (kept out of that document)."""
    paths: dict[str, dict[str, object]] = app.openapi()["paths"]
    published = [(method.upper(), path) for path, item in paths.items() for method in item]
    pages = [
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path is not None and route.path.startswith(CONSOLE_PREFIX)
        for method in sorted(route.methods or ())
    ]
    return published + pages


def _refused(response: Response) -> bool:
    """401/403, or a console page sending the caller to log in."""
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code == 303 and location.startswith("/console/login?next=")


def _calls(path: str) -> Iterator[tuple[str, str | None]]:
    """Concrete URLs for a route: about the caller's own borrower and about another one."""
    if "{borrower_id}" in path:
        for borrower in (OWN, OTHER):
            yield _fill(path).replace("{borrower_id}", borrower), borrower
    else:
        yield _fill(path), None


ENDS_OWN_TOKEN = {("DELETE", "/v1/sessions/current"), ("POST", "/console/logout")}
"""Routes that revoke the token that calls them: each role calls them with a token of its own."""


def _throwaway(container: Container, role: str) -> str:
    return create_token(CreateToken("operator", f"op-{role}"), uow=container.uow()).secret


def _fill(path: str) -> str:
    return re.sub(r"\{(?!borrower_id)[^}]+\}", "x1", path)


def test_every_endpoint_is_in_the_permission_map(secured: tuple[Container, dict[str, str]]) -> None:
    container, _ = secured
    missing = [e for e in _endpoints(create_app(container)) if e not in ROUTES]
    assert missing == []


def test_no_role_reaches_an_endpoint_it_is_not_allowed(
    secured: tuple[Container, dict[str, str]],
) -> None:
    container, tokens = secured
    app = create_app(container)
    client = TestClient(app, follow_redirects=False)
    unexpected: list[str] = []
    checked = 0
    for method, path in _endpoints(app):
        permission = ROUTES[(method, path)]
        for url, borrower in _calls(path):
            for name, token in [*tokens.items(), ("anonymous", "")]:
                if (method, path) in ENDS_OWN_TOKEN and name in ROLES:
                    token = _throwaway(container, name)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = client.request(method, url, headers=headers, json={})
                expected = (
                    permission == "public"
                    if name == "anonymous"
                    else allows(_principal(name), permission, borrower_id=borrower)
                )
                refused = _refused(response)
                checked += 1
                if refused == expected:
                    unexpected.append(f"{name} {method} {url} → {response.status_code}")
    assert checked >= 8 * len(ROUTES)
    assert unexpected == []


def test_borrower_a_never_reads_borrower_b(secured: tuple[Container, dict[str, str]]) -> None:
    container, tokens = secured
    client = TestClient(create_app(container))
    own = {"Authorization": f"Bearer {tokens['borrower']}"}

    mine = client.get(f"/v1/borrowers/{OWN}/repayment-methods", headers=own)
    theirs = client.get(f"/v1/borrowers/{OTHER}/repayment-methods", headers=own)

    assert mine.status_code == 200
    assert theirs.status_code == 403
    assert OTHER not in theirs.text or "another borrower" in theirs.text


def test_revoked_tokens_and_disabled_operators_are_refused(
    secured: tuple[Container, dict[str, str]],
) -> None:
    container, _ = secured
    add_operator(AddOperator("leaver", "cs_agent"), uow=container.uow())
    leaver = create_token(CreateToken("operator", "leaver"), uow=container.uow())
    app_token = create_token(CreateToken("service", "old-app"), uow=container.uow())
    client = TestClient(create_app(container))
    url = f"/v1/borrowers/{OWN}/repayment-methods"

    def status(secret: str) -> int:
        return client.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code

    assert (status(leaver.secret), status(app_token.secret)) == (200, 200)
    disable_operator(DisableOperator("leaver"), uow=container.uow(), tokens=container.tokens)
    revoke_token(RevokeToken(app_token.token_id), uow=container.uow(), tokens=container.tokens)

    assert (status(leaver.secret), status(app_token.secret)) == (401, 401)
    assert status("rg_0000_not-a-token") == 401


def test_makers_and_checkers_hold_separate_approval_permissions() -> None:
    """Maker-checker in the map: approvers decide and never initiate; makers never decide
    (admins hold both, and the approvals service refuses their own requests)."""
    request, decide = "approvals:request", "approvals:decide"

    def holds(role: str, permission: str) -> bool:
        return allows(_principal(role), permission, borrower_id=None)

    assert [r for r in ROLES if holds(r, decide)] == ["admin", "approver"]
    assert [r for r in ROLES if holds(r, request)] == ["admin", "analyst", "cs_agent"]
    for kind_permission, makers in (
        ("policies:write", ["admin", "analyst"]),
        ("models:write", ["admin", "analyst"]),
        ("overrides:request", ["admin", "cs_agent"]),
        ("emergencies:request", ["admin", "analyst"]),
    ):
        assert [r for r in ROLES if holds(r, kind_permission)] == makers
    assert not any(
        allows(p, decide, borrower_id=None) or allows(p, request, borrower_id=None)
        for p in (_principal("service"), _principal("borrower"))
    )
