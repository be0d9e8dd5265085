"""``repayguard incidents``: monitoring incidents — the list, one incident with what moved and
its evidence, acknowledge, resolve.

Acknowledging and resolving need an operator who proves who they are (``--token`` or
``REPAYGUARD_TOKEN``, or ``--as USERNAME`` and the password at the prompt) and whose role
manages incidents (analyst, admin); the same use-cases as the API run.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from repayguard.cli.actor import As, Token, acting
from repayguard.cli.output import when
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container

if TYPE_CHECKING:
    from repayguard.monitoring import IncidentInfo

incidents_app = typer.Typer(
    help="Monitoring incidents: list them, show one, acknowledge, resolve.",
    no_args_is_help=True,
)

STATE_FILTERS = ("unresolved", "open", "acknowledged", "resolved", "all")


def incident_json(found: IncidentInfo) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(asdict(found), default=str))
    return data


def _moved(found: IncidentInfo) -> str:
    change = f", {found.change_pct:+.1f}%" if found.change_pct is not None else ""
    return f"{found.value:.6g} against {found.baseline:.6g} ({found.deviation_sigma:+.1f}σ{change})"


@incidents_app.command("list")
@friendly
def list_command(
    state: Annotated[
        str, typer.Option(help="unresolved, open, acknowledged, resolved or all.")
    ] = "unresolved",
    metric: Annotated[str | None, typer.Option(help="Only this metric's incidents.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Incidents, newest first (unresolved ones unless --state says otherwise)."""
    from repayguard.cli.output import console
    from repayguard.errors import InvalidInput
    from repayguard.monitoring import list_incidents

    if state not in STATE_FILTERS:
        raise InvalidInput(f"unknown state {state!r}", hint=f"one of: {', '.join(STATE_FILTERS)}")
    with open_container(data_dir, production_model=False) as container:
        page = list_incidents(
            uow=container.uow(), state=None if state == "all" else state, metric=metric,
            limit=limit,
        )  # fmt: skip
    if json_out:
        typer.echo(
            json.dumps({"items": [incident_json(i) for i in page.items], "total": page.total})
        )
        return
    if not page.items:
        console.print(f"No {'' if state == 'all' else state + ' '}incidents.")
        return
    table = Table(title=f"Incidents ({page.total:,} in all)", title_justify="left")
    for column in ("id", "metric", "segment", "moved", "since", "detector", "state", "opened"):
        table.add_column(column, overflow="fold")
    for i in page.items:
        table.add_row(
            i.incident_id,
            escape(i.metric),
            escape(i.segment),
            f"{i.direction} {_moved(i)}",
            i.since_day.isoformat(),
            i.detector,
            i.state,
            when(i.opened_at),
        )
    console.print(table)
    console.print("Show one: [bold]repayguard incidents show ID[/bold]")


@incidents_app.command("show")
@friendly
def show(
    incident_id: Annotated[str, typer.Argument(help="The incident id.")],
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """One incident: what moved, by how much, since when, the thresholds that raised it, its
    alerts and its life cycle (the chart is on the console's incident page)."""
    from repayguard.cli.output import console, record_table
    from repayguard.monitoring import get_incident

    with open_container(data_dir, production_model=False) as container:
        found = get_incident(incident_id, uow=container.uow())
    if json_out:
        typer.echo(json.dumps(incident_json(found), ensure_ascii=False))
        return
    rows: list[tuple[str, str]] = [
        ("metric", f"{found.metric} (segment {found.segment})"),
        ("moved", f"{found.direction}: {_moved(found)}"),
        ("since", f"{found.since_day} (charted through {found.last_day})"),
        ("detector", f"{found.detector}, σ {found.sigma:.6g}"),
        ("thresholds", f"{found.thresholds_version} ({found.thresholds_sha256[:12]})"),
        ("state", found.state),
        ("opened", f"{when(found.opened_at)} by {found.opened_by}"),
        ("acknowledged", f"{when(found.acknowledged_at)} by {found.acknowledged_by}"
         if found.acknowledged_at else "-"),
        ("resolved", f"{when(found.resolved_at)} by {found.resolved_by}"
         if found.resolved_at else "-"),
        ("note", found.note or "-"),
    ]  # fmt: skip
    rows += [
        (
            f"alert: {a.webhook}",
            f"delivered {when(a.delivered_at)}"
            if a.delivered_at
            else f"{a.attempts} attempt(s), next {when(a.next_attempt_at)}: {a.last_error}",
        )
        for a in found.alerts
    ]
    console.print(record_table(f"Incident {found.incident_id}", [(k, escape(v)) for k, v in rows]))


@incidents_app.command("ack")
@friendly
def acknowledge(
    incident_id: Annotated[str, typer.Argument(help="The incident id.")],
    note: Annotated[str | None, typer.Option(help="What is being done.")] = None,
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Say you are looking into an open incident."""
    from repayguard.cli.output import console
    from repayguard.monitoring import AcknowledgeIncident, acknowledge_incident

    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="acknowledging an incident") as by,
    ):
        done = acknowledge_incident(AcknowledgeIncident(incident_id, by, note), uow=container.uow())
    who = escape(done.acknowledged_by or "")
    console.print(
        f"Incident [bold]{done.incident_id}[/bold] is acknowledged by {who}; "
        f"close it with [bold]repayguard incidents resolve {done.incident_id} --note WHY[/bold]"
    )


@incidents_app.command("resolve")
@friendly
def resolve(
    incident_id: Annotated[str, typer.Argument(help="The incident id.")],
    note: Annotated[str, typer.Option(help="Why the incident is closed.")],
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Close an incident with a note; a later out-of-control run of the metric opens a new one."""
    from repayguard.cli.output import console
    from repayguard.monitoring import ResolveIncident, resolve_incident

    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="resolving an incident") as by,
    ):
        done = resolve_incident(ResolveIncident(incident_id, by, note), uow=container.uow())
    console.print(f"Incident [bold]{done.incident_id}[/bold] is resolved.")
