"""One log format for every logger: repayguard's structlog lines and the libraries' stdlib ones
(uvicorn, SQLAlchemy, Alembic) come out alike — JSON in production, readable otherwise — with
the request id bound in context and the redactor applied to all of them."""

from __future__ import annotations

import json
import logging
import logging.config
from typing import Any

import pytest
import structlog

from repayguard.platform.logging import configure_logging, json_from_environment, log_format
from repayguard.platform.redaction import Redactor, SensitiveValues

CANARY_SECRET = "canary-secret-6f1e2d"
PHONE = "13912345678"


def _lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


@pytest.mark.usefixtures("restore_logging")
def test_library_and_repayguard_lines_share_the_json_format_context_and_redaction(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(
        json=True,
        level="INFO",
        redactor=Redactor(sensitive=SensitiveValues([CANARY_SECRET])),
    )
    structlog.contextvars.bind_contextvars(request_id="req-42")
    try:
        structlog.get_logger("repayguard.test").info("own.event", detail=f"key {CANARY_SECRET}")
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)
        logging.getLogger("uvicorn.access").info("call from %s", PHONE)
        logging.getLogger("alembic.runtime.migration").info("Running upgrade -> %s", "abc123")
        logging.getLogger("sqlalchemy.pool").warning("pool said %s", CANARY_SECRET)
        try:
            raise RuntimeError(f"failed with {CANARY_SECRET}")
        except RuntimeError:
            logging.getLogger("some.library").exception("it broke")
    finally:
        structlog.contextvars.clear_contextvars()

    err = capsys.readouterr().err
    lines = _lines(err)  # every line parses as JSON
    by_event = {line["event"]: line for line in lines}
    assert set(by_event) == {
        "own.event",
        "Started server process [7]",
        "call from [redacted]",
        "Running upgrade -> abc123",
        "pool said [redacted]",
        "it broke",
    }
    assert all(line["request_id"] == "req-42" for line in lines)
    assert all({"level", "timestamp"} <= line.keys() for line in lines)
    assert by_event["Started server process [7]"]["logger"] == "uvicorn.error"
    assert by_event["Running upgrade -> abc123"]["level"] == "info"
    assert "RuntimeError" in by_event["it broke"]["exception"]
    assert CANARY_SECRET not in err
    assert PHONE not in err


@pytest.mark.usefixtures("restore_logging")
def test_development_lines_are_readable_text_and_levels_filter_libraries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json=False, level="WARNING")
    logging.getLogger("uvicorn.error").info("hidden below the level")
    logging.getLogger("uvicorn.error").warning("shown at %s", "warning")
    structlog.get_logger("repayguard.test").warning("own.warning", borrower_id="B1")

    err = capsys.readouterr().err
    assert "hidden below the level" not in err
    assert "shown at warning" in err
    assert "own.warning" in err
    assert "B1" not in err, "borrower ids are redacted without a pseudonymizer"
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])


@pytest.mark.usefixtures("restore_logging")
def test_handlers_a_library_installed_are_replaced_so_nothing_is_written_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stray = logging.StreamHandler()
    logging.getLogger("uvicorn").addHandler(stray)
    logging.getLogger("uvicorn").propagate = False
    configure_logging(json=True)
    logging.getLogger("uvicorn").warning("once")

    lines = _lines(capsys.readouterr().err)
    assert [line["event"] for line in lines] == ["once"]
    assert stray not in logging.getLogger("uvicorn").handlers


def test_the_format_follows_the_setting_else_the_environment() -> None:
    assert log_format("production") == "json"
    assert log_format("development") == "console"
    assert log_format("production", "console") == "console"
    assert log_format("test", "json") == "json"
    assert json_from_environment({"REPAYGUARD_ENV": "production"})
    assert not json_from_environment({"REPAYGUARD_ENV": "development"})
    assert json_from_environment({"REPAYGUARD_LOG_FORMAT": "json"})
    assert not json_from_environment(
        {"REPAYGUARD_ENV": "production", "REPAYGUARD_LOG_FORMAT": "console"}
    )


def test_an_unknown_level_is_refused_with_the_levels_to_use() -> None:
    with pytest.raises(ValueError, match="use DEBUG, INFO, WARNING or ERROR"):
        configure_logging(json=True, level="LOUD")


@pytest.mark.usefixtures("restore_logging")
def test_library_loggers_another_configuration_silenced_come_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A configuration made elsewhere in the process (disable_existing_loggers, the default)
    # silences every logger it does not name: uvicorn's included, when they already existed.
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name)
    logging.config.dictConfig({"version": 1})
    # An embedded uvicorn.Server(log_level="warning") raises its loggers' levels.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    configure_logging(json=True, level="INFO")

    logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)
    logging.getLogger("uvicorn.access").info("a request")

    assert {line["event"] for line in _lines(capsys.readouterr().err)} == {
        "Started server process [7]",
        "a request",
    }
