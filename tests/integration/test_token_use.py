"""Token use on the audit trail (SQLite and PostgreSQL): API calls counted per token and
written in summary — through the API's own lifespan, with refused calls and unknown tokens —
chained like every other record, borrowers only as pseudonyms, nothing lost to a failed write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from repayguard.api.app import create_app
from repayguard.audit import VerifyChain, verify_chain
from repayguard.audit.models import AuditRecordRow
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import (
    TOKEN_REJECTED,
    TOKEN_USED,
    AddOperator,
    CreateToken,
    Principal,
    TokenUsage,
    add_operator,
    create_token,
    list_tokens,
)
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.uow import UnitOfWork

from support.builders import healthy_history
from support.common import NOW, make_settings

BORROWER = "B-TOKEN-USE-7c1e"


def records(container: Container, action: str) -> list[AuditRecordRow]:
    with container.session_factory() as session:
        query = select(AuditRecordRow).where(AuditRecordRow.action == action)
        return list(session.scalars(query.order_by(AuditRecordRow.seq)))


def payload_of(record: AuditRecordRow) -> dict[str, Any]:
    payload = record.payload
    return orjson.loads(payload) if isinstance(payload, str | bytes) else dict(payload)


@pytest.fixture
def secured(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    settings = make_settings(database_url, tmp_path, auth="required")
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        ingest_events(
            IngestEvents(healthy_history(BORROWER, NOW), source="t"),
            uow=built.uow(),
            setup=built.ingest,
        )
        yield built


def test_every_call_is_on_the_trail_summarised_per_token_when_the_server_stops(
    secured: Container, clock: FixedClock
) -> None:
    container = secured
    add_operator(AddOperator("ana", "analyst"), uow=container.uow())
    analyst = create_token(CreateToken("operator", "ana"), uow=container.uow())
    borrower = create_token(CreateToken("borrower", BORROWER), uow=container.uow())
    methods = f"/v1/borrowers/{BORROWER}/repayment-methods"

    with TestClient(create_app(container)) as client:
        for _ in range(3):
            assert client.get(methods, headers=bearer(borrower.secret)).is_success
            clock.advance(timedelta(seconds=1))
        assert client.get("/v1/policies/versions", headers=bearer(analyst.secret)).is_success
        ask = {"borrower_id": BORROWER, "method": "auto_debit"}
        denied = client.post("/v1/authorize", json=ask, headers=bearer(analyst.secret))
        assert denied.status_code == 403
        for _ in range(2):
            assert (
                client.get("/v1/policies/versions", headers=bearer("rg_nobody_x")).status_code
                == 401
            )
        assert records(container, TOKEN_USED) == [], "in memory until the window ends"

    used = {payload_of(r)["token_id"]: r for r in records(container, TOKEN_USED)}
    assert set(used) == {analyst.token_id, borrower.token_id}
    theirs = payload_of(used[borrower.token_id])
    assert (theirs["kind"], theirs["calls"], theirs["denied"]) == ("borrower", 3, 0)
    assert theirs["routes"] == {"GET /v1/borrowers/{borrower_id}/repayment-methods": 3}
    assert (theirs["first_at"], theirs["last_at"]) == (
        NOW.isoformat(),
        (NOW + timedelta(seconds=2)).isoformat(),
    )
    assert theirs["borrower_id"].startswith("bp_"), "a pseudonym, never the id"
    assert BORROWER not in str(theirs) + used[borrower.token_id].subject
    assert used[borrower.token_id].subject == f"token:{borrower.token_id}"
    mine = payload_of(used[analyst.token_id])
    assert (mine["kind"], mine["role"], mine["calls"], mine["denied"]) == (
        "operator",
        "analyst",
        2,
        1,
    )
    with container.session_factory() as session:
        last = {t.token_id: t.last_used_at for t in list_tokens(session)}
    assert last[borrower.token_id] == NOW + timedelta(seconds=2), "shown by 'token list'"
    assert last[analyst.token_id] == NOW + timedelta(seconds=3)
    (rejected,) = (payload_of(r) for r in records(container, TOKEN_REJECTED))
    assert (rejected["calls"], rejected["routes"]) == (2, {"GET /v1/policies/versions": 2})
    report = verify_chain(VerifyChain(checkpoint_dir=None, trusted=None), uow=container.uow())
    assert report.ok, report


def test_counts_a_failed_write_could_not_store_are_written_with_the_next_window(
    secured: Container, clock: FixedClock
) -> None:
    container = secured
    usage = TokenUsage(clock=clock)
    service = Principal("service", "tok-service")
    usage.record(service, "POST /v1/events", allowed=True)

    def broken() -> UnitOfWork:
        raise ConnectionError("database away")

    with pytest.raises(ConnectionError):
        usage.flush(uow=broken)
    assert usage.pending == 1, "kept"
    clock.advance(timedelta(seconds=30))
    usage.record(service, "GET /v1/policies", allowed=False)

    assert usage.flush(uow=container.uow) == 1

    (record,) = (payload_of(r) for r in records(container, TOKEN_USED))
    assert (record["calls"], record["denied"], record["first_at"], record["last_at"]) == (
        2,
        1,
        NOW.isoformat(),
        (NOW + timedelta(seconds=30)).isoformat(),
    )
    assert record["routes"] == {"GET /v1/policies": 1, "POST /v1/events": 1}
    assert usage.flush(uow=container.uow) == 0, "nothing new: nothing written"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_call_counted_at_a_given_time_is_recorded_at_that_time(
    secured: Container, clock: FixedClock
) -> None:
    # The authorize fast path reads the clock once per call and counts the call at it.
    usage = TokenUsage(clock=clock)
    service = Principal("service", "tok-service")
    usage.record(service, "POST /v1/authorize", allowed=True, at=NOW - timedelta(seconds=5))
    usage.record(service, "POST /v1/authorize", allowed=True, at=NOW - timedelta(seconds=1))

    assert usage.flush(uow=secured.uow) == 1

    (record,) = (payload_of(r) for r in records(secured, TOKEN_USED))
    assert (record["calls"], record["first_at"], record["last_at"]) == (
        2,
        (NOW - timedelta(seconds=5)).isoformat(),
        (NOW - timedelta(seconds=1)).isoformat(),
    )
