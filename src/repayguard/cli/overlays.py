"""``repayguard overlays``: arm an approved playbook, review, lift, and list overlays."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from repayguard.cli.actor import As, Token, permitted_operator
from repayguard.cli.output import console
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container

overlays_app = typer.Typer(help="Emergency overlays: armed playbooks tightening a segment.")
OverlayId = Annotated[str, typer.Argument(help="The overlay id ('repayguard overlays list').")]


@overlays_app.command("arm")
@friendly
def arm(
    playbook: Annotated[str, typer.Argument(help="Name of an approved playbook.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is armed now.")],
    version: Annotated[int | None, typer.Option(help="Default: the latest approved.")] = None,
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Arm PLAYBOOK now: its segment is re-decided at once, without a notice period; the
    overlay expires on its own and lapses unless a second person reviews it in time."""
    from repayguard import overlays, policies

    with open_container(data_dir) as built:
        by = permitted_operator(
            built,
            username=operator,
            token=token,
            permission="overlays:arm",
            needed_for="arming an overlay",
        )
        armed = overlays.arm_overlay(
            overlays.ArmOverlay(playbook, reason, by.username, by.operator_id, version=version),
            uow=built.uow(),
            profiles=policies.profiles(),
        )
    console.print(
        f"Overlay [bold]{armed.overlay_id}[/bold] armed from {armed.playbook_name} "
        f"v{armed.playbook_version}; expires {armed.expires_at:%Y-%m-%d %H:%M} UTC. A second "
        f"person must review it by {armed.review_due_at:%Y-%m-%d %H:%M} UTC "
        f"('repayguard overlays review {armed.overlay_id}') or it lapses."
    )


@overlays_app.command("review")
@friendly
def review(
    overlay_id: OverlayId, operator: As = None, token: Token = None, data_dir: DataDir = None
) -> None:
    """Endorse an armed overlay after the fact (never by whoever armed it)."""
    from repayguard import overlays

    with open_container(data_dir) as built:
        by = permitted_operator(
            built,
            username=operator,
            token=token,
            permission="overlays:review",
            needed_for="reviewing an overlay",
        )
        done = overlays.review_overlay(
            overlays.ReviewOverlay(overlay_id, by.username, by.operator_id), uow=built.uow()
        )
    console.print(
        f"Overlay {done.overlay_id} reviewed by {done.reviewed_by}; it runs until it expires."
    )


@overlays_app.command("lift")
@friendly
def lift(
    overlay_id: OverlayId,
    reason: Annotated[str, typer.Option("--reason", help="Why it ends now.")] = "",
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """End an overlay now: its segment is re-decided and methods restore with notices."""
    from repayguard import overlays

    with open_container(data_dir) as built:
        by = permitted_operator(
            built,
            username=operator,
            token=token,
            permission="overlays:arm",
            needed_for="lifting an overlay",
        )
        done = overlays.lift_overlay(
            overlays.LiftOverlay(overlay_id, by.username, reason), uow=built.uow()
        )
    console.print(f"Overlay {done.overlay_id} lifted; its segment was decided again.")


@overlays_app.command("list")
@friendly
def list_(
    active: Annotated[bool, typer.Option("--active", help="Only armed or reviewed.")] = False,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Overlays, newest first, with who armed them and where they stand."""
    from repayguard import overlays

    with open_container(data_dir) as built, built.session_factory() as session:
        found = overlays.list_overlays(session, active_only=active)
    if as_json:
        typer.echo(json.dumps([o.model_dump(mode="json") for o in found], ensure_ascii=False))
        return
    table = Table("overlay", "playbook", "state", "armed by", "armed", "expires", "review by")
    for o in found:
        table.add_row(
            o.overlay_id,
            f"{o.playbook_name} v{o.playbook_version}",
            o.state,
            o.armed_by,
            f"{o.armed_at:%Y-%m-%d %H:%M}",
            f"{o.expires_at:%Y-%m-%d %H:%M}",
            f"{o.review_due_at:%Y-%m-%d %H:%M}",
        )
    console.print(table if found else "No overlays.")
