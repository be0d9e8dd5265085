"""The authorize fast path answers exactly as the FastAPI route does: generated requests —
valid and not, every kind of caller, languages, content types, idempotency keys, malformed
bodies — go to the served application and to the bare API, and status and body must agree."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.api.app import create_server
from repayguard.api.fastpath import AuthorizeFastPath
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import AddOperator, CreateToken, add_operator, create_token
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings

BORROWERS = ("B-DEBITS", "B-HEALTHY", "B-NEVER-SEEN")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Container, AuthorizeFastPath, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("fastpath")
    settings = make_settings(f"sqlite:///{tmp / 'r.db'}", Path(tmp), auth="required")
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        events = failing_debits_history("B-DEBITS", NOW) + healthy_history("B-HEALTHY", NOW)
        ingest_events(
            IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest
        )
        add_operator(AddOperator("ana", "analyst"), uow=container.uow())
        tokens = {
            "service": create_token(CreateToken("service", "app"), uow=container.uow()).secret,
            "analyst": create_token(CreateToken("operator", "ana"), uow=container.uow()).secret,
            "borrower": create_token(
                CreateToken("borrower", "B-DEBITS"), uow=container.uow()
            ).secret,
            "unknown": "rg_000000000000_" + "x" * 43,
        }
        yield container, create_server(container), tokens


def _bodies() -> st.SearchStrategy[bytes]:
    valid = st.fixed_dictionaries(
        {
            "borrower_id": st.sampled_from(BORROWERS),
            "method": st.sampled_from(["auto_debit", "early_repayment", "manual"]),
        },
        optional={
            "channel": st.sampled_from(["app_balance", "bank_card", "counter", "sms", None]),
            "loan_id": st.one_of(st.none(), st.text(max_size=70)),
            "amount": st.one_of(st.none(), st.floats(allow_nan=False), st.integers(-5, 10**6)),
        },
    )
    broken = st.fixed_dictionaries(
        {},
        optional={
            "borrower_id": st.one_of(st.sampled_from(BORROWERS), st.integers(), st.just("")),
            "method": st.one_of(st.sampled_from(["auto_debit", "AUTO_DEBIT"]), st.booleans()),
            "amount": st.one_of(st.text(max_size=4), st.booleans()),
            "extra": st.integers(),
        },
    )
    # The standard library's encoder: it writes integers of any size, a case worth sending.
    as_json = st.one_of(valid, broken).map(lambda body: json.dumps(body).encode())
    raw = st.sampled_from([b"", b"{", b"[]", b'"x"', b"null", b'{"borrower_id": "B-DEBITS"'])
    return st.one_of(as_json, as_json, as_json, raw)


def _headers() -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {
            "caller": st.sampled_from(["service", "service", "analyst", "borrower", "unknown", ""]),
            "content-type": st.sampled_from(
                ["application/json", "application/json; charset=utf-8", "text/plain", ""]
            ),
        },
        optional={
            "accept-language": st.sampled_from(["zh-CN,zh;q=0.9", "en-GB", "fr"]),
            "idempotency-key": st.just("key-1"),
        },
    )


def _call(client: TestClient, body: bytes, headers: dict[str, str], tokens: dict[str, str]) -> Any:
    sent = {k: v for k, v in headers.items() if k != "caller" and v}
    if headers["caller"]:
        sent["authorization"] = f"Bearer {tokens[headers['caller']]}"
    response = client.post("/v1/authorize", content=body, headers=sent)
    return response.status_code, response.json()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_bodies(), headers=_headers())
def test_the_fast_path_answers_as_the_route_does(
    served: tuple[Container, AuthorizeFastPath, dict[str, str]],
    body: bytes,
    headers: dict[str, str],
) -> None:
    _, server, tokens = served
    # No ``with``: the lifespan (which closes the container when it ends) is not run per example.
    bare, fast = TestClient(server.app), TestClient(server)
    _call(fast, b"{}", {"caller": "service", "content-type": ""}, tokens)  # the token cached
    assert _call(fast, body, headers, tokens) == _call(bare, body, headers, tokens)


def test_ordinary_calls_take_the_fast_path_and_the_rest_the_route(
    served: tuple[Container, AuthorizeFastPath, dict[str, str]],
) -> None:
    _, server, tokens = served
    ask = orjson.dumps({"borrower_id": "B-DEBITS", "method": "auto_debit"})
    json_ = {"caller": "service", "content-type": "application/json"}
    client = TestClient(server)
    first = _call(client, ask, json_, tokens)  # the token is not cached yet: the route
    before = server.answered
    again = _call(client, ask, json_, tokens)
    assert server.answered == before + 1
    assert first == again
    status, answer = again
    assert (status, answer["allowed"]) == (200, False)
    assert answer["reasons"][0]["code"] == "REPEATED_FAILED_DEBITS"
    assert {"method": "manual", "channel": "app_balance"} in answer["alternatives"]
    for refused in (
        {**json_, "caller": "analyst"},
        {**json_, "caller": "unknown"},
        {**json_, "idempotency-key": "k"},
        {**json_, "content-type": "text/plain"},
    ):
        _call(client, ask, refused, tokens)
    assert server.answered == before + 1, "refusals and oddities are the route's to answer"
