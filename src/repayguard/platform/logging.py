"""Structured logging (structlog): JSON in production, readable lines in development."""

from __future__ import annotations

import logging
import sys

import structlog

from repayguard.platform.redaction import Redactor


def configure_logging(*, json: bool, level: str = "INFO", redactor: Redactor | None = None) -> None:
    """Set up structlog once per process; logs go to stderr so CLI output stays clean.

    Every event passes the redactor last, so no personal value or registered secret reaches
    a log line (borrower ids become pseudonyms when the redactor has a pseudonymizer).
    """
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *processors,
            structlog.processors.format_exc_info,
            redactor or Redactor(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
