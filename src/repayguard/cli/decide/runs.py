"""``repayguard decide runs``: the latest decision runs — what ran when, why, and with what."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from repayguard.cli.output import console
from repayguard.cli.shared import AsJson
from repayguard.decisions import RunInfo


def runs(
    limit: Annotated[int, typer.Option(min=1, max=1_000, help="How many runs to show.")] = 20,
    as_json: AsJson = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Data folder (default: $REPAYGUARD_DATA_DIR or .repayguard)."
        ),
    ] = None,
) -> None:
    """The latest decision runs, newest first, and what caused each (its trigger)."""
    from repayguard.bootstrap import bootstrap
    from repayguard.cli.shared import load_settings, one_shot
    from repayguard.decisions import recent_runs

    settings = one_shot(load_settings(data_dir))
    with (
        bootstrap(settings, production_model=False) as container,
        container.session_factory() as session,
    ):
        found = recent_runs(session, limit=limit)
    if as_json:
        typer.echo(json.dumps({"runs": [run.as_json() for run in found]}, ensure_ascii=False))
        return
    if not found:
        console.print("No decision run yet. Next: [bold]repayguard decide --all[/bold].")
        return
    console.print(runs_table(found))


def runs_table(found: list[RunInfo]) -> Table:
    """Runs as an operator scans them: what caused each, as of when, what it changed, under
    which policy. Full ids, start times and hashes are in ``--json``."""
    table = Table(title=f"Latest {len(found)} decision run(s), newest first")
    table.add_column("run", no_wrap=True)
    table.add_column("trigger", no_wrap=True)
    table.add_column("as of (UTC)", no_wrap=True)
    for column in ("borrowers", "changed"):
        table.add_column(column, justify="right")
    table.add_column("policy", no_wrap=True)
    table.add_column("model", overflow="fold")
    for run in found:
        table.add_row(
            run.run_id[:8],
            run.trigger,
            f"{run.as_of:%Y-%m-%d %H:%M}",
            f"{run.borrowers:,}",
            f"{run.changed:,}",
            run.policy_version,
            run.model_version,
        )
    return table
