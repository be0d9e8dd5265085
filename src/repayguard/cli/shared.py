"""What every command group shares: the data folder and ``--json`` options, the settings a
one-shot command runs with, the one way to open repayguard for a command, and the error
wrapper that turns expected refusals into a message and an exit code. The acting operator
(``--as`` / ``--token``) is ``cli/actor.py``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from repayguard.config import Settings
from repayguard.errors import RepayguardError

if TYPE_CHECKING:
    from repayguard.bootstrap import Container

P = ParamSpec("P")
R = TypeVar("R")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default: $REPAYGUARD_DATA_DIR or .repayguard)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with the command's own options on top."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    if overrides:
        settings = settings.model_copy(update=overrides)
    return settings


def one_shot(settings: Settings, *, online: bool = False) -> Settings:
    """Settings for a one-shot command: the relay runs in the caller (no background thread),
    online deciding only when asked."""
    return settings.model_copy(
        update={
            "bus": settings.bus.model_copy(update={"relay": "inline"}),
            "decisions": settings.decisions.model_copy(update={"online": online}),
        }
    )


@contextmanager
def open_container(
    data_dir: Path | None, *, migrate: bool = False, production_model: bool = True
) -> Iterator[Container]:
    """repayguard wired for one command: relay inline, no online deciding. A database that is
    not at the current schema is refused with what to run, unless ``migrate``. Commands that
    manage models, operators or approvals pass ``production_model=False``, so a damaged
    production artefact never locks them out."""
    from repayguard.bootstrap import bootstrap

    settings = one_shot(load_settings(data_dir))
    with bootstrap(settings, migrate=migrate, production_model=production_model) as built:
        yield built


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
                from repayguard.cli.policy.views import problems_table
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
