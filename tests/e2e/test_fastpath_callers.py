"""The authorize fast path keeps what a caller's token settled (principal, budget) between
calls, and drops it the moment the token cache would: at the answer's freshness end (a token
expiring) and when any token is forgotten (a revocation), so no call is answered for a token
the route would refuse."""

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
from repayguard.identity import CreateToken, RevokeToken, create_token, revoke_token
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import healthy_history
from support.common import NOW, make_settings
from support.fastpath import Framework

ASK = {"borrower_id": "B-1", "method": "auto_debit"}


@dataclass
class Served:
    container: Container
    clock: FixedClock
    server: AuthorizeFastPath
    framework: Framework

    def ask(self, secret: str) -> Response:
        # No ``with``: the lifespan would close the container.
        client = TestClient(self.server)
        return client.post("/v1/authorize", json=ASK, headers={"Authorization": f"Bearer {secret}"})

    def token(self, subject: str, lifetime: timedelta | None = None) -> tuple[str, str]:
        made = create_token(
            CreateToken("service", subject, lifetime=lifetime), uow=self.container.uow()
        )
        return made.token_id, made.secret


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    clock = FixedClock(NOW)
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    settings = settings.model_copy(update={"rate_limit": RateLimitSettings(authorize="5/hour")})
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        ingest_events(
            IngestEvents(healthy_history("B-1", NOW), source="test"),
            uow=container.uow(),
            setup=container.ingest,
        )
        server = create_server(container)
        framework = Framework(server.app)
        server.app = framework
        yield Served(container, clock, server, framework)


def _on_fast_path(served: Served, secret: str) -> None:
    """Two calls: the first caches the token through the route, the second is the fast path's."""
    assert served.ask(secret).status_code == 200
    before = len(served.framework.seen)
    assert served.ask(secret).status_code == 200
    assert len(served.framework.seen) == before, "answered on the fast path"


def test_a_revoked_token_is_refused_at_the_next_call(served: Served) -> None:
    token_id, secret = served.token("old-app")
    _on_fast_path(served, secret)

    revoke_token(RevokeToken(token_id), uow=served.container.uow(), tokens=served.container.tokens)

    refused = served.ask(secret)
    assert refused.status_code == 401
    assert served.framework.seen[-1] == "/v1/authorize", "the route refused it"


def test_revoking_another_token_keeps_this_one_answered(served: Served) -> None:
    other_id, _ = served.token("other-app")
    _, secret = served.token("app")
    _on_fast_path(served, secret)

    revoke_token(RevokeToken(other_id), uow=served.container.uow(), tokens=served.container.tokens)

    # The first call after any revocation settles the caller again from the token cache
    # (still cached: only the revoked token was dropped), without the route.
    before = len(served.framework.seen)
    assert served.ask(secret).status_code == 200
    assert len(served.framework.seen) == before


def test_an_expiring_token_is_refused_the_moment_it_expires(served: Served) -> None:
    _, secret = served.token("short", lifetime=timedelta(seconds=10))
    _on_fast_path(served, secret)
    served.clock.advance(timedelta(seconds=9))
    before = len(served.framework.seen)
    assert served.ask(secret).status_code == 200
    assert len(served.framework.seen) == before, "still valid: the fast path answers"

    served.clock.advance(timedelta(seconds=1))

    assert served.ask(secret).status_code == 401


def test_a_kept_caller_spends_one_budget_with_the_route(served: Served) -> None:
    _, secret = served.token("app")
    remaining = [served.ask(secret).headers["ratelimit-remaining"] for _ in range(5)]
    assert remaining == ["4", "3", "2", "1", "0"], "route and fast path count one budget"
    over = served.ask(secret)
    assert over.status_code == 429
    assert over.headers["retry-after"] == "3600"
