"""Hostile input costs neither a 500 nor memory nor a stored byte (SQLite and PostgreSQL):
bodies over their route's limit are refused with 413 before they are read, documents nested
beyond reason are refused by the parsers, a borrower id longer than its column is a 422, a batch
element that is not an object and an event time outside the plausible window are each one
rejected record while the rest of the batch lands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from repayguard.api.app import create_server
from repayguard.bootstrap import Container, bootstrap
from repayguard.core.events import EVENT_TYPES
from repayguard.ingestion.models import EventRow, QuarantineRow
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import due, healthy_history
from support.common import make_settings

EVENTS_LIMIT = 64 * 1024
OTHER_LIMIT = 16 * 1024


@pytest.fixture
def limited(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    settings = make_settings(database_url, tmp_path)
    security = settings.security.model_copy(
        update={"max_body_bytes": OTHER_LIMIT, "max_events_body_bytes": EVENTS_LIMIT}
    )
    settings = settings.model_copy(update={"security": security})
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        yield container


@pytest.fixture
def client(limited: Container) -> TestClient:
    return TestClient(create_server(limited), raise_server_exceptions=False)


def stored_events_and_quarantine(container: Container) -> tuple[int, int]:
    with container.session_factory() as session:
        events = session.scalar(select(func.count()).select_from(EventRow)) or 0
        quarantined = session.scalar(select(func.count()).select_from(QuarantineRow)) or 0
    return int(events), int(quarantined)


def test_an_oversized_event_batch_is_refused_before_it_is_read(
    client: TestClient, limited: Container
) -> None:
    # 5,000 records each carrying a 10 kB unknown field: 51 MB that used to be answered 200
    # and copied into quarantine.
    padded = [{**e, "padding": "x" * 10_000} for e in healthy_history("B-BIG", limited.clock.now())]
    body = {"events": (padded * 50)[:200]}

    answer = client.post("/v1/events", json=body)

    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "body_too_large"
    assert f"{EVENTS_LIMIT:,} bytes" in answer.json()["detail"]
    assert stored_events_and_quarantine(limited) == (0, 0)


def test_a_chunked_body_over_the_limit_is_refused_too(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"source": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'"}'

    answer = client.post(
        "/v1/policies/check", content=chunks(), headers={"content-type": "application/json"}
    )

    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"


def test_a_batch_within_the_limit_still_lands(client: TestClient, limited: Container) -> None:
    events = healthy_history("B-OK", limited.clock.now())

    answer = client.post("/v1/events", json={"events": events})

    assert answer.status_code == 200, answer.text
    assert stored_events_and_quarantine(limited) == (len(events), 0)


def test_deeply_nested_yaml_is_a_policy_problem_not_a_crash(client: TestClient) -> None:
    source = "name: " + "[" * 3_000 + "]" * 3_000

    answer = client.post("/v1/policies/check", json={"source": source})

    assert answer.status_code == 200
    checked = answer.json()
    assert checked["valid"] is False
    assert "nested deeper than 64 levels" in checked["problems"][0]["message"]


def test_deeply_nested_json_is_a_client_error(client: TestClient) -> None:
    body = '{"source": ' + "[" * 5_000 + "]" * 5_000 + "}"

    answer = client.post(
        "/v1/policies/check", content=body, headers={"content-type": "application/json"}
    )

    assert 400 <= answer.status_code < 500


def test_a_borrower_id_longer_than_its_column_is_invalid_input(client: TestClient) -> None:
    long_id = "B" * 65

    saved = client.put(f"/v1/borrowers/{long_id}/profile", json={"name": "Ann"})
    read = client.get(f"/v1/borrowers/{long_id}/repayment-methods")

    assert saved.status_code == 422
    assert saved.json()["errors"][0]["field"] == "path.borrower_id"
    assert read.status_code == 422


def test_elements_that_are_not_objects_are_rejected_one_by_one_and_the_rest_land(
    client: TestClient, limited: Container
) -> None:
    now = limited.clock.now()
    first, second = due("B-MIX", now - timedelta(days=2)), due("B-MIX", now - timedelta(days=1))
    body = {"events": [first, "x", None, 7, [], {"nested": [1]}, second]}

    answer = client.post("/v1/events", json=body)

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["accepted"], report["rejected"]) == (2, 5)
    reasons = {r["index"]: r["errors"][0]["reason"] for r in report["rejections"]}
    assert list(reasons) == [1, 2, 3, 4, 5]
    assert reasons[1] == "a record is a JSON object of event fields; got a string"
    assert reasons[2].endswith("got null")
    assert reasons[4].endswith("got an array")
    assert stored_events_and_quarantine(limited) == (2, 5)


def test_an_event_time_outside_the_plausible_window_is_rejected_per_record(
    client: TestClient, limited: Container
) -> None:
    now = limited.clock.now()
    times = ["9999-12-31T23:59:59Z", (now + timedelta(hours=2)).isoformat()]
    times.append((now + timedelta(minutes=2)).isoformat())  # clock skew: accepted
    events = [
        due("B-TIME", now) | {"event_id": f"T-{i}", "occurred_at": t} for i, t in enumerate(times)
    ]

    answer = client.post("/v1/events", json={"events": events})

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["accepted"] == 1
    assert [(r["index"], r["errors"][0]["field"]) for r in report["rejections"]] == [
        (0, "occurred_at"),
        (1, "occurred_at"),
    ]
    assert report["rejections"][1]["errors"][0]["reason"] == (
        "occurred_at is 2 hours in the future; events may be at most 5 minutes ahead of the "
        "server clock"
    )
    assert stored_events_and_quarantine(limited) == (1, 2)


def test_the_openapi_batch_documents_the_event_types_and_says_bad_ones_are_rejected_alone(
    client: TestClient,
) -> None:
    """The items are the six event types (for clients); the endpoint still takes any element
    and rejects a bad one with its index (the test above), which the description says."""
    schema = client.get("/openapi.json").json()["components"]["schemas"]["EventBatch"]
    events = schema["properties"]["events"]
    assert events["items"]["discriminator"]["propertyName"] == "type"
    assert sorted(events["items"]["discriminator"]["mapping"]) == sorted(EVENT_TYPES)
    assert "a record is a JSON object" in events["description"]
