"""Request ids and the access log over the served application (the authorize fast path in
front of the API): a sane ``X-Request-ID`` is kept, anything else replaced; every response
echoes it, every log line of the request carries it, and one access line per request says
method, route template, status, duration and token id — never the token or the body."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from repayguard.api.app import create_app, create_server
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import PUBLIC, ROUTES, CreateToken, create_token
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.logging import configure_logging

from support.builders import healthy_history
from support.common import NOW, make_settings

GENERATED = re.compile(r"[0-9a-f]{32}")


class Logs:
    """What the process logged (JSON lines), read and emptied."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


@pytest.fixture
def json_logs(restore_logging: None) -> Logs:
    logs = Logs()
    configure_logging(json=True, level="INFO", stream=logs.buffer)
    return logs


def _served(tmp_path: Path, **settings_update: Any) -> Iterator[tuple[Container, str, str]]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    settings = settings.model_copy(update=settings_update)
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        ingest_events(
            IngestEvents(healthy_history("B1", NOW), source="test"),
            uow=container.uow(),
            setup=container.ingest,
        )
        made = create_token(CreateToken("service", "app"), uow=container.uow())
        yield container, made.secret, made.token_id


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Container, str, str]]:
    yield from _served(tmp_path, access_log="all")


def _access(err: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"] == "http.request"]


AUTHORIZE = {"borrower_id": "B1", "method": "manual"}


def test_a_sane_id_is_echoed_and_anything_else_replaced_on_both_paths(
    served: tuple[Container, str, str], json_logs: Logs
) -> None:
    container, secret, _ = served
    server = create_server(container)
    auth = {"Authorization": f"Bearer {secret}"}
    with TestClient(server) as http:
        http.post("/v1/authorize", json=AUTHORIZE, headers=auth)  # caches the token
        answered = server.answered
        cases = {
            "gw-1234.abc_DEF": "gw-1234.abc_DEF",
            "x" * 128: "x" * 128,
            "x" * 129: None,
            "has space": None,
            "semi;colon": None,
            "": None,
        }
        for given, kept in cases.items():
            for path in ("/v1/authorize", "/v1/borrowers/B1/repayment-methods"):
                headers = {**auth, "X-Request-ID": given}
                if path == "/v1/authorize":
                    response = http.post(path, json=AUTHORIZE, headers=headers)
                else:
                    response = http.get(path, headers=headers)
                echoed = response.headers["x-request-id"]
                assert response.status_code == 200, response.text
                if kept is None:
                    assert GENERATED.fullmatch(echoed), (given, echoed)
                else:
                    assert echoed == kept
        absent = http.get("/livez")
        other = http.get("/livez")
    assert server.answered == answered + len(cases), "the fast path answered its calls"
    assert GENERATED.fullmatch(absent.headers["x-request-id"])
    assert absent.headers["x-request-id"] != other.headers["x-request-id"]


def test_each_request_gets_one_access_line_with_its_template_and_token_id_only(
    served: tuple[Container, str, str], json_logs: Logs
) -> None:
    container, secret, token_id = served
    server = create_server(container)
    auth = {"Authorization": f"Bearer {secret}"}
    with TestClient(server) as http:
        json_logs.take()
        routed = http.get(
            "/v1/borrowers/B1/repayment-methods", headers={**auth, "X-Request-ID": "trace-routed"}
        )
        refused = http.get(
            "/v1/borrowers/B1/repayment-methods", headers={"X-Request-ID": "trace-401"}
        )
        fast = http.post("/v1/authorize", json=AUTHORIZE, headers={**auth, "X-Request-ID": "f1"})
        again = http.post("/v1/authorize", json=AUTHORIZE, headers={**auth, "X-Request-ID": "f2"})
        missing = http.get("/v1/nothing/here/B1", headers={"X-Request-ID": "trace-404"})
    err = json_logs.take()
    assert (routed.status_code, refused.status_code, missing.status_code) == (200, 401, 404)
    assert (fast.status_code, again.status_code) == (200, 200)

    lines = {line["request_id"]: line for line in _access(err)}
    assert set(lines) == {"trace-routed", "trace-401", "f1", "f2", "trace-404"}
    assert lines["trace-routed"]["path"] == "/v1/borrowers/{borrower_id}/repayment-methods"
    assert lines["trace-routed"]["method"] == "GET"
    assert lines["trace-routed"]["status"] == 200
    assert lines["trace-routed"]["token_id"] == token_id
    assert lines["trace-routed"]["duration_ms"] >= 0
    assert lines["trace-401"]["status"] == 401
    assert "token_id" not in lines["trace-401"]
    assert lines["trace-404"]["path"] == "<unmatched>"
    for fast_id in ("f1", "f2"):
        assert lines[fast_id]["path"] == "/v1/authorize"
        assert lines[fast_id]["token_id"] == token_id
        assert lines[fast_id]["status"] == 200
    assert secret not in err
    access = json.dumps(list(lines.values()))
    assert '"B1"' not in access, "no body in the access lines"
    assert "/B1" not in access, "no concrete path in the access lines"


def test_log_lines_written_while_a_request_is_handled_carry_its_id(
    served: tuple[Container, str, str], json_logs: Logs
) -> None:
    container, secret, _ = served
    with TestClient(create_server(container)) as http:
        json_logs.take()

        @event.listens_for(container.engine, "connect")
        def read_only(connection: Any, _: Any) -> None:
            connection.execute("PRAGMA query_only = ON")

        container.engine.dispose()  # every connection from now on is opened read-only
        failed = http.post(
            "/v1/events",
            json={"events": healthy_history("B2", NOW)},
            headers={"Authorization": f"Bearer {secret}", "X-Request-ID": "trace-outage"},
        )
        event.remove(container.engine, "connect", read_only)
        container.engine.dispose()
    err = json_logs.take()
    assert failed.status_code == 503, failed.text
    assert failed.headers["x-request-id"] == "trace-outage"
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    outage = [line for line in lines if line["event"] == "database.unavailable"]
    assert outage, err
    assert all(line["request_id"] == "trace-outage" for line in outage)


def test_fast_path_lines_are_off_by_default_and_every_line_can_be_turned_off(
    tmp_path: Path, json_logs: Logs
) -> None:
    for setting, expected in ((None, {"routed"}), ("off", set())):
        folder = tmp_path / str(setting)
        folder.mkdir()
        update = {"access_log": setting} if setting else {}
        for container, secret, _ in _served(folder, **update):
            auth = {"Authorization": f"Bearer {secret}"}
            server = create_server(container)
            with TestClient(server) as http:
                http.post("/v1/authorize", json=AUTHORIZE, headers=auth)  # caches the token
                json_logs.take()
                http.post("/v1/authorize", json=AUTHORIZE, headers={**auth, "X-Request-ID": "fast"})
                http.get("/livez", headers={"X-Request-ID": "routed"})
            assert server.answered == 1
            logged = {line["request_id"] for line in _access(json_logs.take())}
            assert logged == expected, setting


def test_a_request_that_fails_still_answers_with_its_id_and_logs_the_failure(
    served: tuple[Container, str, str], json_logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    container, _, _ = served
    app = create_app(container)
    monkeypatch.setitem(ROUTES, ("GET", "/broken"), PUBLIC)

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("the handler broke")

    with TestClient(app, raise_server_exceptions=False) as http:
        json_logs.take()
        failed = http.get("/broken", headers={"X-Request-ID": "trace-500"})

    assert failed.status_code == 500
    assert failed.headers["x-request-id"] == "trace-500"
    (line,) = [line for line in _access(json_logs.take()) if line["request_id"] == "trace-500"]
    assert (line["status"], line["level"], line["path"]) == (500, "error", "/broken")
    assert "the handler broke" in line["exception"]
