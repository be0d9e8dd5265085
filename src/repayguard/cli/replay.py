"""``repayguard replay --verify``: rebuild decisions and entitlements from the event log and
prove them identical to the store (docs/operations.md, "Deterministic replay")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from repayguard.cli.exits import FINDINGS, USAGE
from repayguard.cli.output import console, errors
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container

if TYPE_CHECKING:
    from repayguard.core.scoring import RiskModel
    from repayguard.decisions import DecisionEngine, ReplayVerdict


def replay(
    verify: Annotated[
        bool, typer.Option("--verify", help="Replay every recorded run and compare (required).")
    ] = False,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Replay every recorded decision run from the event log, with its recorded policy, model,
    bands and as-of time, and compare the rebuilt decision log and entitlements with the
    store's. Exit 0: identical; 1: a divergence (the first one is named) or some run could
    not be recomputed (the JSON 'verdict' says which); 2: no --verify. Writes nothing."""
    if not verify:
        console.print("Nothing to do. Run [bold]repayguard replay --verify[/bold].")
        raise typer.Exit(USAGE)
    verdict = friendly(_verify)(data_dir)
    if as_json:
        typer.echo(json.dumps(verdict.as_json(), ensure_ascii=False))
    else:
        _print(verdict)
    if verdict.verdict in ("divergent", "inconclusive"):
        raise typer.Exit(FINDINGS)


def _verify(data_dir: DataDir) -> ReplayVerdict:
    from repayguard import decisions

    with open_container(data_dir) as built, Progress(console=errors, transient=True) as bar:
        task = bar.add_task("replaying decision runs", total=None)
        return decisions.verify_replay(
            decisions.VerifyReplay(history_days=built.settings.decisions.history_days),
            uow=built.uow(),
            engine=built.decision_engine,
            models=known_models(built.decision_engine),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def known_models(engine: DecisionEngine) -> Callable[[str], RiskModel | None]:
    """The model versions a replay can decide with: the engine's and the shipped expert
    model (other registered versions are reported as not available)."""
    from repayguard import resources
    from repayguard.core.scoring.expert import load_expert_model
    from repayguard.decisions.engine import DEFAULT_MODEL

    shipped = load_expert_model(resources.read_text(DEFAULT_MODEL))
    known = {shipped.version: shipped, engine.model.version: engine.model}
    return known.get


def _print(verdict: ReplayVerdict) -> None:
    table = Table(title=f"{len(verdict.runs)} decision run(s) replayed, in the order written")
    for column in ("run", "trigger", "as of (UTC)"):
        table.add_column(column, no_wrap=True)
    for column in ("decisions", "identical", "from record", "divergent"):
        table.add_column(column, justify="right")
    table.add_column("note", overflow="fold")
    for run in verdict.runs:
        table.add_row(
            run.run_id[:8], run.trigger, f"{run.as_of:%Y-%m-%d %H:%M}", f"{run.decisions:,}",
            f"{run.recomputed:,}", f"{run.from_record:,}",
            f"[red]{run.divergent:,}[/red]" if run.divergent else "0", run.note or "",
        )  # fmt: skip
    console.print(table)
    console.print(f"decision log  stored   {verdict.decisions_stored}")
    console.print(f"decision log  replayed {verdict.decisions_replayed}")
    console.print(f"entitlements  stored   {verdict.entitlements_stored}")
    console.print(f"entitlements  replayed {verdict.entitlements_replayed}")
    if verdict.entitlements_from_record:
        console.print(
            f"{verdict.entitlements_from_record:,} of {verdict.entitlements:,} entitlements were "
            "set outside decision runs (override, held decision, expiry): taken from the record."
        )
    if verdict.divergences:
        first = verdict.divergences[0]
        where = f"run {first.run_id}" if first.run_id else "final entitlements"
        console.print(
            f"[bold red]DIVERGENT[/bold red]: {len(verdict.divergences):,} difference(s); the "
            f"first: {where}, borrower {first.borrower_id}, field {first.field}: stored "
            f"{first.stored!r}, replayed {first.replayed!r}. Next: inspect that decision "
            "('repayguard decide runs --json') and the events it saw."
        )
    elif verdict.unverifiable:
        console.print("[bold yellow]INCONCLUSIVE[/bold yellow]: these runs were not recomputed:")
        for why in verdict.unverifiable:
            console.print(f"  {why}")
    else:
        console.print("[bold green]IDENTICAL[/bold green]: the event log rebuilds the store.")
