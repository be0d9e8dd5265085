"""How ``repayguard`` ends, for scripts: one exit code per kind of outcome, and the one place
an error becomes a message and an exit (docs/cli.md, "Exit codes").

0 ok; 1 findings (a failed check, rejected records, a verification that found differences);
2 usage (the command line is wrong: Typer/Click's own code); 3 refused by the domain (any
:class:`RepayguardError` but the unavailable ones, and a configuration that is not valid);
4 unavailable (the database, the bus or another service does not answer: try again later).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from repayguard.audit.errors import AuditChainUnavailable
from repayguard.decisions.errors import SparkUnavailable
from repayguard.errors import BusUnavailable, DatabaseUnavailable, NotReady, RepayguardError

OK = 0
FINDINGS = 1
USAGE = 2
REFUSED = 3
UNAVAILABLE = 4

UNAVAILABLE_ERRORS: tuple[type[RepayguardError], ...] = (
    DatabaseUnavailable,
    NotReady,
    BusUnavailable,
    SparkUnavailable,
    AuditChainUnavailable,
)
"""Refusals that say "not now" rather than "no": a script may retry them later."""


def expected(exc: BaseException) -> RepayguardError | ValidationError | None:
    """The error a user gets for ``exc``: a refusal as it is, a database or service that did
    not answer as the matching "unavailable" refusal; None for a bug (shown as a traceback)."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, RepayguardError | ValidationError):
        return exc
    if isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return DatabaseUnavailable(
            f"the database does not answer ({type(exc.orig).__name__})",
            hint="check that it is running and that REPAYGUARD_DATABASE__URL (or the data folder) "
            "points at it, then run the command again",
        )
    if isinstance(exc, ConnectionError):
        return BusUnavailable(
            f"a service did not answer ({type(exc).__name__}: {exc})",
            hint="check that the database, the bus and Redis configured for repayguard are "
            "running, then run the command again",
        )
    return None


def exit_code(exc: RepayguardError | ValidationError) -> int:
    """The exit code for an expected error: 4 for the unavailable ones, 3 for the others."""
    return UNAVAILABLE if isinstance(exc, UNAVAILABLE_ERRORS) else REFUSED


def problem(exc: RepayguardError | ValidationError) -> dict[str, Any]:
    """The error as a JSON document for ``--json`` (the API's problem fields ``code``,
    ``detail``, ``hint``, plus the exit code)."""
    if isinstance(exc, ValidationError):
        return {
            "code": "configuration_invalid",
            "detail": "the configuration is not valid",
            "hint": "fix the settings named in 'errors'",
            "errors": [{"field": f, "reason": r} for f, r in _config_errors(exc)],
            "exit_code": REFUSED,
        }
    body: dict[str, Any] = {"code": exc.code, "detail": exc.message}
    if exc.hint:
        body["hint"] = exc.hint
    body["exit_code"] = exit_code(exc)
    return body


def report(exc: RepayguardError | ValidationError, *, as_json: bool = False) -> int:
    """Print ``exc`` for a person (one line and what to do, on stderr) and, with ``--json``, as
    a problem document on stdout; the exit code it ends with."""
    from rich.markup import escape

    from repayguard.cli.output import errors

    # Escaped: a message may hold brackets ("pip install 'repayguard[train]'").
    if isinstance(exc, ValidationError):
        errors.print("[bold red]error:[/bold red] the configuration is not valid:")
        for field, reason in _config_errors(exc):
            errors.print(escape(f"  {field}: {reason}" if field else f"  {reason}"))
    else:
        first = escape(exc.message.splitlines()[0])
        errors.print(f"[bold red]error:[/bold red] {first}", soft_wrap=True)
        if exc.hint:
            errors.print(f"[bold]what to do:[/bold] {escape(exc.hint)}", soft_wrap=True)
    if as_json:
        typer.echo(json.dumps(problem(exc), ensure_ascii=False))
    return exit_code(exc)


def _config_errors(exc: ValidationError) -> list[tuple[str, str]]:
    found = []
    for error in exc.errors(include_url=False):
        field = "__".join(str(p) for p in error["loc"]).upper()
        reason = error["msg"].removeprefix("Value error, ")
        found.append((f"REPAYGUARD_{field}" if field else "", reason))
    return found


def wants_json(args: Sequence[str]) -> bool:
    """Whether a command line asked for JSON output."""
    return "--json" in args


_ROOT: ContextVar[bool | None] = ContextVar("root_command", default=None)
"""While the root command runs: whether its command line asked for --json (None: a command
group runs on its own, as tests do, and reports its errors itself)."""


def root_reports() -> bool:
    """Whether the root command runs and will report an error escaping a command."""
    return _ROOT.get() is not None


def json_asked() -> bool:
    """Whether the root command's command line asked for --json."""
    return bool(_ROOT.get())


class ScriptableGroup(TyperGroup):
    """The root command: an expected error anywhere below it ends with its exit code and
    message (``report``), never a traceback."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **options: Any) -> Any:
        given = list(sys.argv[1:] if args is None else args)
        running = _ROOT.set(wants_json(given))
        try:
            return super().main(args, *rest, **options)
        except Exception as exc:
            found = expected(exc)
            if found is None:
                raise
            sys.exit(report(found, as_json=wants_json(given)))
        finally:
            _ROOT.reset(running)
