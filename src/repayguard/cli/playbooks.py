"""``repayguard playbooks``: emergency playbooks, submitted as drafts and approved in advance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from repayguard.cli.actor import As, Token, permitted_operator
from repayguard.cli.output import console
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container

playbooks_app = typer.Typer(help="Emergency playbooks: overlays approved in advance.")


@playbooks_app.command("submit")
@friendly
def submit(
    path: Annotated[Path, typer.Argument(help="The playbook YAML file.", exists=True)],
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Check a playbook against every jurisdiction it lists and store it as a draft."""
    from repayguard import overlays, policies

    with open_container(data_dir) as built:
        by = permitted_operator(
            built,
            username=operator,
            token=token,
            permission="policies:write",
            needed_for="submitting a playbook",
        )
        stored = overlays.submit_playbook(
            overlays.SubmitPlaybook(path.read_text(encoding="utf-8"), by=by.username),
            uow=built.uow(),
            profiles=policies.profiles(),
        )
    console.print(
        f"Playbook [bold]{stored.name}[/bold] v{stored.version} stored ({stored.state}, "
        f"{stored.content_hash[:12]}). Next: 'repayguard playbooks request-approval "
        f"{stored.name} {stored.version} --as YOU', then a second person's 'repayguard "
        f"approvals approve'."
    )


@playbooks_app.command("request-approval")
@friendly
def request_approval(
    name: Annotated[str, typer.Argument(help="Playbook name.")],
    version: Annotated[int, typer.Argument(help="Version number of the draft.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it should be approved.")] = "",
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Ask a second person to approve a playbook draft (a ``playbook_approve`` request)."""
    from repayguard import approvals

    with open_container(data_dir) as built:
        by = permitted_operator(
            built,
            username=operator,
            token=token,
            permission="approvals:request",
            needed_for="asking for a playbook's approval",
        )
        assert built.approvals is not None  # wired by bootstrap
        asked = approvals.request_approval(
            approvals.RequestApproval(
                "playbook_approve", {"name": name, "version": version}, by.operator_id, reason
            ),
            uow=built.uow(),
            context=built.approvals,
        )
    console.print(
        f"Request [bold]{asked.request_id}[/bold] asks a second person to approve {name} "
        f"v{version}: 'repayguard approvals approve {asked.request_id} --as CHECKER'."
    )


@playbooks_app.command("list")
@friendly
def list_(as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """Every playbook version, drafts and approved."""
    from repayguard import overlays

    with open_container(data_dir) as built, built.session_factory() as session:
        found = overlays.list_playbooks(session)
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in found], ensure_ascii=False))
        return
    table = Table("name", "version", "state", "segment", "tightens", "max h", "review h")
    for p in found:
        table.add_row(
            p.name,
            str(p.version),
            p.state,
            "/".join(p.content["segment"]["tiers"]),
            ", ".join(f"{m} {s}" for m, s in p.content["tighten"].items()),
            str(p.content["max_duration_hours"]),
            str(p.content["review_within_hours"]),
        )
    console.print(table if found else "No playbooks yet; 'repayguard playbooks submit FILE'.")


@playbooks_app.command("show")
@friendly
def show(
    name: Annotated[str, typer.Argument(help="Playbook name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """One playbook version as stored (canonical JSON with its state; --json on one line)."""
    from repayguard import overlays

    with open_container(data_dir) as built, built.session_factory() as session:
        found = overlays.find_playbook(session, name, version)
    indent = None if as_json else 2
    typer.echo(json.dumps(found.model_dump(mode="json"), indent=indent, ensure_ascii=False))
