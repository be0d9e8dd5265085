"""``repayguard approvals``: the maker-checker queue — list, show, approve, reject, withdraw,
bulk-approve routine decisions, ask for an override, expire what is overdue.

The acting operator proves who they are (``--token`` / ``REPAYGUARD_TOKEN``, or ``--as NAME``
and NAME's password at the prompt; see ``cli.actor``); the same use-cases as the API run, so
the same rules hold (the maker never approves, checkers never initiate).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from repayguard.cli.actor import As, Token, acting
from repayguard.cli.exits import FINDINGS
from repayguard.cli.output import when
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container

if TYPE_CHECKING:
    from repayguard.approvals import ApprovalRead
    from repayguard.bootstrap import Container

approvals_app = typer.Typer(
    help="Maker-checker: the approval queue; approve, reject, withdraw, expire.",
    no_args_is_help=True,
)
Comment = Annotated[str, typer.Option(help="Why (kept with the decision).")]
RequestId = Annotated[str, typer.Argument(help="The request id.")]


def as_json(found: ApprovalRead) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(found).items()}


def queue_table(items: list[ApprovalRead], *, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("id", "kind", "about", "summary", "maker", "state", "expires", "checker"):
        table.add_column(column, overflow="fold")
    for r in items:
        table.add_row(
            r.request_id,
            r.kind,
            r.subject,
            r.summary,
            r.maker_name,
            r.state,
            when(r.expires_at),
            r.checker_name or "-",
        )
    return table


def said(found: ApprovalRead) -> str:
    """One line on what became of a request."""
    outcome = f" → {json.dumps(found.outcome, ensure_ascii=False)}" if found.outcome else ""
    return f"Request [bold]{found.request_id}[/bold] ({found.kind}) is {found.state}{outcome}."


@approvals_app.command("list")
@friendly
def list_command(
    state: Annotated[
        str, typer.Option(help="pending, approved, rejected, withdrawn, expired or all.")
    ] = "pending",
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this policy row, name, …")] = None,
    subject: Annotated[str | None, typer.Option(help="Only this subject.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """The queue, oldest first (pending requests unless --state says otherwise)."""
    from repayguard.approvals import QueueFilter, list_requests
    from repayguard.cli.output import console

    where = QueueFilter(
        state=None if state == "all" else state, kind=kind, subject=subject, category=category
    )
    with open_container(data_dir, production_model=False) as container:
        page = list_requests(where, uow=container.uow(), limit=limit)
    if json_out:
        typer.echo(json.dumps({"items": [as_json(r) for r in page.items], "total": page.total}))
        return
    if not page.items:
        console.print(f"No {state if state != 'all' else ''} approval requests.".replace("  ", " "))
        return
    console.print(queue_table(page.items, title=f"Approval requests ({page.total:,} in all)"))


@approvals_app.command("show")
@friendly
def show(
    request_id: RequestId,
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """One request: its pinned payload and hash, maker, and the decision once made."""
    from repayguard.approvals import get_request
    from repayguard.cli.output import console, record_table

    with open_container(data_dir, production_model=False) as container:
        found = get_request(request_id, uow=container.uow())
    if json_out:
        typer.echo(json.dumps(as_json(found), ensure_ascii=False))
        return
    rows = [
        ("kind", found.kind),
        ("about", found.subject),
        ("summary", found.summary),
        ("maker", f"{found.maker_name} at {when(found.created_at)}: {found.reason or '-'}"),
        ("state", found.state),
        ("expires", when(found.expires_at)),
        ("payload", json.dumps(found.payload, ensure_ascii=False, indent=1)),
        ("payload sha256", found.payload_sha256),
        ("checker", f"{found.checker_name or '-'} at {when(found.decided_at)}"),
        ("comment", found.comment or "-"),
        ("outcome", json.dumps(found.outcome, ensure_ascii=False) if found.outcome else "-"),
    ]
    console.print(record_table(f"Approval request {found.request_id}", rows))


def settle(
    data_dir: Path | None,
    operator: str | None,
    token: str | None,
    decide: Callable[[Container, str], ApprovalRead],
    *,
    needed_for: str,
) -> None:
    """Decide on one request as the proven operator (``decide`` gets the container and their
    operator id) and say what became of it."""
    from repayguard.cli.output import console

    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for=needed_for) as by,
    ):
        done = decide(container, by)
    console.print(said(done))


@approvals_app.command("approve")
@friendly
def approve(
    request_id: RequestId,
    comment: Comment = "",
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Approve a request and apply exactly what was submitted (never your own request)."""
    from repayguard.approvals import Approve
    from repayguard.approvals import approve as approve_request

    settle(
        data_dir,
        operator,
        token,
        lambda container, by: approve_request(
            Approve(request_id, by, comment), uow=container.uow(), context=container.approvals
        ),
        needed_for="approving a request",
    )


@approvals_app.command("reject")
@friendly
def reject(
    request_id: RequestId,
    comment: Annotated[str, typer.Option(help="Why it is rejected (required).")],
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Reject a request; nothing of it is applied."""
    from repayguard.approvals import Reject
    from repayguard.approvals import reject as reject_request

    settle(
        data_dir,
        operator,
        token,
        lambda container, by: reject_request(Reject(request_id, by, comment), uow=container.uow()),
        needed_for="rejecting a request",
    )


@approvals_app.command("withdraw")
@friendly
def withdraw(
    request_id: RequestId,
    comment: Comment = "",
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Take back a pending request you made."""
    from repayguard.approvals import Withdraw
    from repayguard.approvals import withdraw as withdraw_request

    settle(
        data_dir,
        operator,
        token,
        lambda container, by: withdraw_request(
            Withdraw(request_id, by, comment), uow=container.uow()
        ),
        needed_for="withdrawing a request",
    )


@approvals_app.command("bulk-approve")
@friendly
def bulk_approve(
    comment: Annotated[str, typer.Option(help="Why (kept with every decision).")],
    category: Annotated[str | None, typer.Option(help="Only decisions of this policy row.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only this borrower.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    operator: As = None,
    token: Token = None,
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Approve pending routine decisions (held by policy rows that require approval), oldest
    first, each on its own; refusals are listed with why (exit 1 when any was refused)."""
    from repayguard.approvals import BulkApprove
    from repayguard.approvals import bulk_approve as approve_all
    from repayguard.cli.output import console

    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="approving held decisions") as by,
    ):
        outcome = approve_all(
            BulkApprove(by, comment, category=category, subject=subject, limit=limit),
            uow=container.uow,
            context=container.approvals,
        )
    if json_out:
        refused = [{"id": r.request_id, "code": r.code, "why": r.message} for r in outcome.refused]
        document = {"approved": [as_json(r) for r in outcome.approved], "refused": refused}
        typer.echo(json.dumps(document, ensure_ascii=False))
    else:
        console.print(f"Approved {len(outcome.approved):,} held decisions.")
    if outcome.refused and not json_out:
        table = Table(title=f"Refused ({len(outcome.refused):,})", title_justify="left")
        for column in ("id", "code", "why"):
            table.add_column(column, overflow="fold")
        for r in outcome.refused:
            table.add_row(r.request_id, r.code, r.message)
        console.print(table)
    if outcome.refused:
        raise typer.Exit(FINDINGS)


@approvals_app.command("override")
@friendly
def override(
    borrower: Annotated[str, typer.Argument(help="The borrower id.")],
    auto_debit: Annotated[str, typer.Option(help="optional, mandatory or disabled.")],
    early_repayment: Annotated[str, typer.Option(help="allowed or restricted.")],
    manual: Annotated[str, typer.Option(help="allowed or forced.")],
    channel: Annotated[list[str], typer.Option(help="A manual channel (repeatable).")],
    days: Annotated[int, typer.Option(min=1, max=365, help="How long it lasts.")],
    reason: Annotated[
        list[str] | None, typer.Option(help="Reason code (repeatable; default MANUAL_OVERRIDE).")
    ] = None,
    notice_days: Annotated[
        int, typer.Option(min=0, max=90, help="Notice before a restriction.")
    ] = 0,
    note: Annotated[str, typer.Option(help="Why (kept with the override).")] = "",
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Ask for a manual override of a borrower's methods; a second person approves it."""
    from repayguard.approvals import RequestApproval, request_approval
    from repayguard.cli.output import console

    payload = {
        "borrower_id": borrower,
        "auto_debit": auto_debit,
        "early_repayment": early_repayment,
        "manual": manual,
        "manual_channels": channel,
        "reasons": reason or ["MANUAL_OVERRIDE"],
        "days": days,
        "notice_days": notice_days,
        "note": note,
    }
    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="asking for an override") as by,
    ):
        made = request_approval(
            RequestApproval("override", payload, by=by, reason=note),
            uow=container.uow(),
            context=container.approvals,
        )
    console.print(next_step(made))


@approvals_app.command("expire")
@friendly
def expire(json_out: AsJson = False, data_dir: DataDir = None) -> None:
    """Close pending requests whose time has passed (the worker does this on its own)."""
    from repayguard.approvals import expire_due
    from repayguard.cli.output import console

    with open_container(data_dir, production_model=False) as container:
        closed = expire_due(datetime.now(UTC), uow=container.uow())
    if json_out:
        typer.echo(json.dumps({"expired": [as_json(r) for r in closed]}, ensure_ascii=False))
        return
    console.print(f"{len(closed):,} overdue request(s) expired.")


def next_step(made: ApprovalRead) -> str:
    """What the maker sees after asking: the request and what a checker runs next."""
    return (
        f"Approval request [bold]{made.request_id}[/bold] ({made.summary}) is pending until "
        f"{when(made.expires_at)} UTC. A second person approves it with: "
        f"[bold]repayguard approvals approve {made.request_id} --as CHECKER[/bold] "
        "(or --token with the checker's operator token)"
    )
