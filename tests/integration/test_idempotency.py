"""Idempotency-Key on write endpoints, on SQLite and PostgreSQL: replay, 422 on a different
request, 409 while the first is in flight (driven deterministically), release on failure."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import select

from repayguard.api.app import create_app
from repayguard.api.idempotency import (
    Claimed,
    IdempotencyMiddleware,
    IdempotencyStore,
    InFlight,
)
from repayguard.audit.models import AuditRecordRow
from repayguard.bootstrap import Container
from repayguard.platform.clock import FixedClock

from support.privacy import install, make_privacy


@dataclass
class Harness:
    client: TestClient
    store: IdempotencyStore
    clock: FixedClock
    calls: list[dict[str, Any]] = field(default_factory=list)
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def harness(container: Container) -> Iterator[Harness]:
    clock = container.clock
    assert isinstance(clock, FixedClock)
    store = IdempotencyStore(container.session_factory, clock=clock, ttl=timedelta(hours=24))
    app = FastAPI()
    client = TestClient(app, raise_server_exceptions=False)
    h = Harness(client, store, clock)

    @app.post("/things")
    def create(body: dict[str, Any]) -> dict[str, Any]:
        h.calls.append(body)
        return {"id": len(h.calls), **body}

    @app.post("/slow")
    def slow(body: dict[str, Any]) -> dict[str, Any]:
        h.entered.set()
        assert h.release.wait(10), "the test never released the first request"
        h.calls.append(body)
        return {"id": len(h.calls)}

    @app.post("/boom")
    def boom() -> None:
        h.calls.append({})
        raise RuntimeError("a bug")

    @app.post("/refuse")
    def refuse() -> JSONResponse:
        h.calls.append({})
        return JSONResponse({"code": "borrower_not_found"}, status_code=404)

    @app.post("/denied")
    def denied() -> JSONResponse:
        h.calls.append({})
        return JSONResponse({"code": "permission_denied"}, status_code=403)

    @app.post("/v1/authorize")
    def authorize() -> dict[str, int]:
        h.calls.append({})
        return {"n": len(h.calls)}

    app.add_middleware(IdempotencyMiddleware, store=store, fingerprint_key=secrets.token_bytes(32))
    with client:
        yield h


def post(h: Harness, path: str, body: Any = None, key: str | None = "k-1", **headers: str) -> Any:
    if key is not None:
        headers["Idempotency-Key"] = key
    return h.client.post(path, json=body if body is not None else {}, headers=headers)


def test_the_same_key_and_body_return_the_stored_response_without_running_again(
    harness: Harness,
) -> None:
    first = post(harness, "/things", {"amount": 5, "to": "B1"})
    again = post(harness, "/things", {"amount": 5, "to": "B1"})
    reordered = harness.client.post(
        "/things",
        content=b'{ "to": "B1",\n "amount": 5 }',
        headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"},
    )

    assert first.status_code == again.status_code == reordered.status_code == 200
    assert first.json() == again.json() == reordered.json() == {"id": 1, "amount": 5, "to": "B1"}
    assert len(harness.calls) == 1
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"


def test_the_same_key_with_a_different_body_is_a_422_problem(harness: Harness) -> None:
    post(harness, "/things", {"amount": 5})

    other = post(harness, "/things", {"amount": 6})
    elsewhere = post(harness, "/refuse", {"amount": 5})

    assert other.status_code == elsewhere.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["code"] == "idempotency_key_reused"
    assert len(harness.calls) == 1


def test_a_retry_while_the_first_request_is_in_flight_gets_409(harness: Harness) -> None:
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.update(first=post(harness, "/slow", {"n": 1})))
    first.start()
    assert harness.entered.wait(10), "the first request never reached the endpoint"

    during = post(harness, "/slow", {"n": 1})
    mismatched = post(harness, "/slow", {"n": 2})
    harness.release.set()
    first.join(10)
    after = post(harness, "/slow", {"n": 1})

    assert during.status_code == 409
    assert during.json()["code"] == "idempotent_request_in_flight"
    assert during.headers["retry-after"] == "1"
    assert mismatched.status_code == 422, "a different body is refused even while in flight"
    assert results["first"].status_code == 200
    assert after.status_code == 200
    assert after.json() == results["first"].json() == {"id": 1}
    assert len(harness.calls) == 1


def test_a_server_error_releases_the_key_so_a_retry_runs_again(harness: Harness) -> None:
    assert post(harness, "/boom").status_code == 500
    assert post(harness, "/boom").status_code == 500
    assert len(harness.calls) == 2


def test_a_refusal_is_an_answer_and_is_replayed(harness: Harness) -> None:
    first, again = post(harness, "/refuse"), post(harness, "/refuse")

    assert first.status_code == again.status_code == 404
    assert again.json() == {"code": "borrower_not_found"}
    assert len(harness.calls) == 1


def test_an_access_refusal_is_not_kept_so_a_retry_with_a_valid_token_runs(
    harness: Harness,
) -> None:
    assert post(harness, "/denied").status_code == 403
    assert post(harness, "/denied").status_code == 403
    assert len(harness.calls) == 2


def test_without_a_key_or_on_an_exempt_path_requests_run_every_time(harness: Harness) -> None:
    post(harness, "/things", {"a": 1}, key=None)
    post(harness, "/things", {"a": 1}, key=None)
    post(harness, "/v1/authorize", {"a": 1})
    post(harness, "/v1/authorize", {"a": 1})

    assert len(harness.calls) == 4


def test_a_malformed_key_is_refused(harness: Harness) -> None:
    too_long = post(harness, "/things", {}, key="x" * 256)
    spaced = post(harness, "/things", {}, key="has space")

    assert too_long.status_code == spaced.status_code == 400
    assert too_long.json()["code"] == "idempotency_key_invalid"
    assert harness.calls == []


def test_keys_are_per_caller_and_expire(harness: Harness) -> None:
    post(harness, "/things", {"a": 1}, Authorization="Bearer one")
    post(harness, "/things", {"a": 2}, Authorization="Bearer two")
    assert len(harness.calls) == 2, "another caller's key does not collide"

    harness.clock.advance(timedelta(hours=25))
    reused = post(harness, "/things", {"a": 3}, Authorization="Bearer one")

    assert reused.status_code == 200
    assert len(harness.calls) == 3
    assert harness.store.purge_expired() == 1, "caller two's key expired too"


def test_an_abandoned_in_flight_claim_is_taken_over_after_its_lease(harness: Harness) -> None:
    assert isinstance(harness.store.claim("anonymous", "k-1", "f" * 64), Claimed)
    assert isinstance(harness.store.claim("anonymous", "k-1", "f" * 64), InFlight)

    harness.clock.advance(timedelta(minutes=3))

    assert isinstance(harness.store.claim("anonymous", "k-1", "f" * 64), Claimed)


def test_two_first_requests_racing_for_a_key_claim_it_exactly_once(harness: Harness) -> None:
    outcomes: list[object] = []
    start = threading.Barrier(6)

    def claim() -> None:
        start.wait()
        outcomes.append(harness.store.claim("anonymous", "race", "a" * 64))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(isinstance(o, Claimed) for o in outcomes) == 1
    assert sum(isinstance(o, InFlight) for o in outcomes) == 5


def test_required_keys_refuse_a_write_without_one(container: Container) -> None:
    app = FastAPI()

    @app.post("/things")
    def create() -> dict[str, int]:
        return {"n": 1}

    store = IdempotencyStore(container.session_factory, clock=container.clock)
    app.add_middleware(IdempotencyMiddleware, store=store, fingerprint_key=b"k" * 32, required=True)
    with TestClient(app) as client:
        answer = client.post("/things", json={})

    assert answer.status_code == 428
    assert answer.json()["code"] == "idempotency_key_required"


def test_a_retried_profile_write_through_the_api_is_saved_and_audited_once(
    container: Container, tmp_path: Path
) -> None:
    privacy = make_privacy(container, tmp_path)
    app = install(create_app(container), privacy)
    body = {"name": "李雷", "phone": "13800138000", "locale": "zh-CN"}
    with TestClient(app) as client:
        first = client.put("/v1/borrowers/B9/profile", json=body, headers={"Idempotency-Key": "p1"})
        again = client.put("/v1/borrowers/B9/profile", json=body, headers={"Idempotency-Key": "p1"})

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["created"] is True
    with container.session_factory() as session:
        saved = session.scalars(
            select(AuditRecordRow.seq).where(
                AuditRecordRow.action == "repayguard.borrowers.profile_saved"
            )
        ).all()
    assert len(saved) == 1
