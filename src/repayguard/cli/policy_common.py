"""Shared pieces of ``repayguard policy``: error reporting, the database, naming policies."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from repayguard.cli.options import AsJson as AsJson
from repayguard.cli.options import DataDir as DataDir
from repayguard.errors import RepayguardError

if TYPE_CHECKING:
    from repayguard.bootstrap import Container
    from repayguard.platform.uow import UnitOfWork
    from repayguard.policies import PolicyRef

P = ParamSpec("P")
R = TypeVar("R")
PolicyArg = Annotated[
    str, typer.Argument(help="A policy YAML file, or NAME@VERSION / NAME@latest.")
]


def friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Expected refusals print what went wrong and what to do, never a traceback, and end
    with their exit code (3 refused, 4 unavailable: ``repayguard.cli.exits``); with ``--json``
    stdout carries the problem as JSON as well."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from repayguard.cli import exits
        from repayguard.cli.output import console

        try:
            return command(*args, **kwargs)
        except Exception as exc:
            found = exits.expected(exc)
            if found is None:
                raise
            as_json = bool(kwargs.get("as_json") or kwargs.get("json_out") or exits.json_asked())
            problems = isinstance(found, RepayguardError) and found.detail.get("problems")
            if problems and not as_json:
                from repayguard.cli.policy_views import problems_table
                from repayguard.core.policy import PolicyProblem

                shown = [
                    PolicyProblem(p["row_id"], p["field"], p["message"], p["counter_example"])
                    for p in problems
                ]
                console.print(problems_table(shown, title=f"{len(shown)} problem(s)"))
            if exits.root_reports():
                raise  # the root command reports it, knowing the whole command line
            raise typer.Exit(exits.report(found, as_json=as_json)) from exc

    return run


@contextmanager
def database(data_dir: Path | None) -> Iterator[Container]:
    """repayguard wired for one command: relay inline, no online deciding; a database that is
    not at the current schema is refused with what to run."""
    from repayguard.bootstrap import bootstrap
    from repayguard.cli.settings import load_settings, one_shot

    settings = one_shot(load_settings(data_dir))
    with bootstrap(settings) as built:
        yield built


def read(path: Path) -> str:
    """A policy or data file's text; a missing or unreadable file is a clear refusal."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RepayguardError(f"cannot read {path}: {exc.strerror}") from exc


def policy_ref(arg: str) -> PolicyRef:
    """A file argument as its text, or NAME@VERSION / NAME@latest as a published version."""
    from repayguard.policies import SourceRef, VersionRef

    path = Path(arg)
    if path.exists():
        return SourceRef(read(path))
    if "@" in arg:
        name, _, number = arg.rpartition("@")
        if number == "latest":
            return VersionRef(name)
        if number.isdigit():
            return VersionRef(name, int(number))
    raise RepayguardError(
        f"{arg!r} is neither a file nor a published version",
        hint="give a YAML file, or NAME@VERSION (NAME@latest for the newest)",
    )


def json_arg(text: str, what: str) -> dict[str, Any]:
    """A JSON object from the command line; anything else is a clear refusal."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RepayguardError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise RepayguardError(f"{what} must be a JSON object")
    return value


@contextmanager
def maybe_db(refs: tuple[PolicyRef, ...], data_dir: Path | None) -> Iterator[UnitOfWork | None]:
    """A unit of work when a reference names a draft or version; None for files alone."""
    from repayguard.policies import SourceRef

    if all(isinstance(r, SourceRef) for r in refs):
        yield None
        return
    with database(data_dir) as built:
        yield built.uow()
