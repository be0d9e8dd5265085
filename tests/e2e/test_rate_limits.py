"""Rate limits over HTTP: a token over its budget gets 429 with the RateLimit headers on the
authorize fast path and on framework routes while other tokens go on; the window resets with
the clock; password logins are limited by address; the refusals are counted for Prometheus."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from repayguard.api.app import create_server
from repayguard.api.fastpath import AuthorizeFastPath
from repayguard.bootstrap import Container, bootstrap
from repayguard.config import RateLimitSettings
from repayguard.identity import (
    AddOperator,
    CreateToken,
    SetPassword,
    add_operator,
    create_token,
    set_password,
)
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import healthy_history
from support.common import NOW, make_settings
from support.fastpath import Framework

# NOW is on the hour: an hourly window opened at NOW resets in exactly 3600 s.
LIMITS = RateLimitSettings(authorize="3/hour", api="2/hour", login="2/hour")
AUTHORIZE = {"borrower_id": "B-1", "method": "auto_debit"}
METHODS = "/v1/borrowers/B-1/repayment-methods"


@dataclass
class Served:
    container: Container
    clock: FixedClock
    server: AuthorizeFastPath
    framework: Framework
    tokens: dict[str, str]

    def client(self, address: str = "testclient") -> TestClient:
        # No ``with``: the lifespan would close the shared container.
        return TestClient(self.server, client=(address, 50_000))

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def refused(self, route_class: str) -> float | None:
        return self.container.telemetry.registry.get_sample_value(
            "repayguard_rate_limited_total", {"route_class": route_class}
        )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    clock = FixedClock(NOW)
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    settings = settings.model_copy(update={"rate_limit": LIMITS})
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        ingest_events(
            IngestEvents(healthy_history("B-1", NOW), source="test"),
            uow=container.uow(),
            setup=container.ingest,
        )
        add_operator(AddOperator("ana", "analyst"), uow=container.uow())
        set_password(SetPassword("ana", "correct horse battery staple"), uow=container.uow())
        tokens = {
            name: create_token(CreateToken("service", name), uow=container.uow()).secret
            for name in ("app-a", "app-b")
        }
        server = create_server(container)
        framework = Framework(server.app)
        server.app = framework
        yield Served(container, clock, server, framework, tokens)


def _budget(response: Response) -> tuple[str | None, ...]:
    h = response.headers
    return (h.get("ratelimit-limit"), h.get("ratelimit-remaining"), h.get("ratelimit-reset"))


def test_a_token_over_its_authorize_budget_is_refused_on_the_fast_path_alone(
    served: Served,
) -> None:
    client = served.client()
    answers = [
        client.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a")) for _ in range(3)
    ]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [_budget(r) for r in answers] == [("3", n, "3600") for n in ("2", "1", "0")]
    # The first call resolved the token through the framework; the others were answered
    # before it, headers and all.
    assert served.framework.seen == ["/v1/authorize"]
    assert served.server.answered == 2

    over = client.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a"))
    assert over.status_code == 429
    assert served.framework.seen == ["/v1/authorize"]  # refused by the fast path itself
    assert over.headers["content-type"] == "application/problem+json"
    assert _budget(over) == ("3", "0", "3600")
    assert over.headers["retry-after"] == "3600"
    problem = over.json()
    assert (problem["code"], problem["status"]) == ("rate_limited", 429)
    assert problem["detail"] == "this token is over its authorize rate limit (3 per 1 hour)"
    assert problem["hint"].startswith("retry in 3600 s (Retry-After)")
    assert problem["extra"] == {"route_class": "authorize", "limit": 3, "retry_after_seconds": 3600}
    assert served.refused("authorize") == 1

    other = client.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-b"))
    assert other.status_code == 200
    assert _budget(other) == ("3", "2", "3600")


def test_the_framework_refuses_authorize_as_the_fast_path_does(served: Served) -> None:
    bare = TestClient(served.framework.app)  # the API alone, without the fast path
    for _ in range(3):
        assert bare.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a")).is_success
    over = bare.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a"))
    assert over.status_code == 429
    assert over.json()["code"] == "rate_limited"
    assert _budget(over) == ("3", "0", "3600")
    assert over.headers["retry-after"] == "3600"
    # The budget is one: the fast path sees it spent too.
    fast = served.client().post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a"))
    assert fast.status_code == 429


def test_a_token_over_its_api_budget_is_refused_on_framework_routes_only(served: Served) -> None:
    client = served.client()
    answers = [client.get(METHODS, headers=served.auth("app-a")) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [_budget(r) for r in answers] == [
        ("2", "1", "3600"),
        ("2", "0", "3600"),
        ("2", "0", "3600"),
    ]
    assert answers[2].headers["retry-after"] == "3600"
    assert answers[2].json()["detail"] == "this token is over its api rate limit (2 per 1 hour)"
    assert "REPAYGUARD_RATE_LIMIT__API" in answers[2].json()["hint"]
    assert served.refused("api") == 1
    assert client.get(METHODS, headers=served.auth("app-b")).status_code == 200
    # Authorize has a budget of its own.
    assert client.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a")).is_success


def test_the_budget_comes_back_when_the_window_resets(served: Served) -> None:
    client = served.client()
    for _ in range(3):
        client.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a"))
        client.get(METHODS, headers=served.auth("app-a"))
    served.clock.advance(timedelta(minutes=59, seconds=59))
    late = client.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a"))
    assert late.status_code == 429
    assert late.headers["retry-after"] == "1"
    served.clock.advance(timedelta(seconds=1))
    again = client.post("/v1/authorize", json=AUTHORIZE, headers=served.auth("app-a"))
    assert again.status_code == 200
    assert _budget(again) == ("3", "2", "3600")
    page = client.get(METHODS, headers=served.auth("app-a"))
    assert page.status_code == 200
    assert _budget(page) == ("2", "1", "3600")


def test_password_logins_are_limited_by_client_address(served: Served) -> None:
    wrong = {"username": "ana", "password": "not the password at all"}
    client = served.client("127.0.0.2")
    answers = [client.post("/v1/sessions", json=wrong) for _ in range(3)]
    assert [r.status_code for r in answers] == [401, 401, 429]
    assert [_budget(r) for r in answers] == [
        ("2", "1", "3600"),
        ("2", "0", "3600"),
        ("2", "0", "3600"),
    ]
    problem = answers[2].json()
    assert problem["detail"] == "this address is over its login rate limit (2 per 1 hour)"
    assert served.refused("login") == 1
    # Another address has a budget of its own.
    right = {"username": "ana", "password": "correct horse battery staple"}
    session = served.client("127.0.0.3").post("/v1/sessions", json=right)
    assert session.status_code == 201
    assert _budget(session) == ("2", "1", "3600")


def test_unknown_tokens_spend_the_address_login_budget(served: Served) -> None:
    guess = {"Authorization": "Bearer rg_not-a-token-anyone-was-given-0123456789"}
    client = served.client("127.0.0.4")
    answers = [client.get(METHODS, headers=guess) for _ in range(3)]
    assert [r.status_code for r in answers] == [401, 401, 429]
    assert answers[2].json()["code"] == "rate_limited"
    assert served.refused("login") == 1
    # A real token from the same address still works: its own budget is untouched.
    assert client.get(METHODS, headers=served.auth("app-a")).status_code == 200
    # Another address guesses on a budget of its own.
    assert served.client("127.0.0.5").get(METHODS, headers=guess).status_code == 401


def test_health_readiness_and_the_login_page_are_not_limited(served: Served) -> None:
    client = served.client()
    for path in ("/healthz", "/readyz", "/console/login"):
        answers = [client.get(path) for _ in range(5)]
        assert {r.status_code for r in answers} == {200}, path
        assert all("ratelimit-limit" not in r.headers for r in answers), path
