"""Shared pieces of ``repayguard policy``: reading files, naming policies, the database when a
name needs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from repayguard.cli.shared import open_container
from repayguard.errors import RepayguardError

if TYPE_CHECKING:
    from repayguard.platform.uow import UnitOfWork
    from repayguard.policies import PolicyRef

P = ParamSpec("P")
R = TypeVar("R")
PolicyArg = Annotated[
    str, typer.Argument(help="A policy YAML file, or NAME@VERSION / NAME@latest.")
]


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
    with open_container(data_dir) as built:
        yield built.uow()
