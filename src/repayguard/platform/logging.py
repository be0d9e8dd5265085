"""Structured logging (structlog): JSON in production, readable lines in development.

One format for every log line the process writes: repayguard's own (structlog) and every
library's that logs through the standard library (uvicorn, SQLAlchemy, Alembic, httpx, …),
which a ``structlog.stdlib.ProcessorFormatter`` on the root logger renders with the same
processors — the context bound with ``structlog.contextvars`` (the request id), the level, an
ISO timestamp, and the redactor last before the renderer, so no personal value or registered
secret reaches a log line whoever wrote it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Final, Literal, TextIO

import structlog

from repayguard.platform.redaction import Redactor

LogFormat = Literal["json", "console"]

LIBRARY_LOGGERS: Final = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "sqlalchemy",
    "alembic",
)
"""Loggers some libraries configure with handlers of their own: emptied so that each line
goes to the root handler, in the process's one format."""

_HANDLER_NAME: Final = "repayguard"


def log_format(env: str, configured: LogFormat | None = None) -> LogFormat:
    """The format a process logs in: the configured one, else JSON in production and readable
    lines elsewhere."""
    if configured is not None:
        return configured
    return "json" if env == "production" else "console"


def json_from_environment(environ: Mapping[str, str]) -> bool:
    """Whether a command logs JSON, read before its settings are (``REPAYGUARD_LOG_FORMAT``,
    else ``REPAYGUARD_ENV``); an unknown value is left to the settings' own validation."""
    configured = environ.get("REPAYGUARD_LOG_FORMAT", "").strip().lower()
    if configured in ("json", "console"):
        return configured == "json"
    return environ.get("REPAYGUARD_ENV", "").strip().lower() == "production"


def configure_logging(
    *,
    json: bool,
    level: str = "INFO",
    redactor: Redactor | None = None,
    stream: TextIO | None = None,
) -> None:
    """Set up structlog and the standard library's logging once per process; logs go to
    ``stream`` (stderr unless given) so CLI output stays clean.

    Every event passes the redactor last, so no personal value or registered secret reaches
    a log line (borrower ids become pseudonyms when the redactor has a pseudonymizer).
    """
    out = stream if stream is not None else sys.stderr
    redact = redactor or Redactor()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    timestamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamp,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            timestamp,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for existing in list(library.handlers):
            library.removeHandler(existing)
        library.propagate = True
        # A library's own configuration elsewhere in the process (uvicorn's for an embedded
        # server, an Alembic ini's) may have disabled these or raised their level: the
        # process's level (below) governs them again.
        library.disabled = False
        library.setLevel(logging.NOTSET)
    # Statement logging is database.echo's to turn on (it sets its own logger's level).
    logging.getLogger("sqlalchemy").setLevel(max(numeric, logging.WARNING))
