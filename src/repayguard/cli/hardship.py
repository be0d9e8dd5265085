"""``repayguard hardship``: hardship cases — open one for a borrower, the queue, show a case
with its notes, close it (granted, declined or withdrawn).

The acting operator proves who they are as in ``repayguard complaints`` (``--token`` or
``REPAYGUARD_TOKEN``, or ``--as USERNAME`` and the password at the prompt); the same use-cases
as the API run, so the same rules hold (the agent who opened a case never grants or declines
it).
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
    from repayguard.hardship import HardshipInfo

hardship_app = typer.Typer(
    help="Hardship relief: open a case for a borrower, the queue, show a case, close it.",
    no_args_is_help=True,
)


def case_json(found: HardshipInfo) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(asdict(found), default=str))
    return data


@hardship_app.command("open")
@friendly
def open_command(
    borrower: Annotated[str, typer.Argument(help="The borrower asking for relief.")],
    reason: Annotated[
        str,
        typer.Option(help="job_loss, illness, natural_disaster, family_emergency or other."),
    ],
    evidence: Annotated[str, typer.Option(help="What happened and since when (stored encrypted).")],
    operator: As = None,
    token: Token = None,
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Open a hardship case for a borrower: while it is open the policy sees it (the shipped
    policy keeps the borrower's methods) and the borrower is told. Another agent closes it."""
    from repayguard.cli.output import console
    from repayguard.hardship import OpenHardship, open_hardship

    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="opening a hardship case") as by,
    ):
        assert container.hardship is not None
        opened = open_hardship(
            OpenHardship(borrower, reason, evidence, operator_id=by),
            uow=container.uow(),
            setup=container.hardship,
        )
    if json_out:
        typer.echo(json.dumps(case_json(opened), ensure_ascii=False))
        return
    console.print(
        f"Hardship case [bold]{opened.case_id}[/bold] is open for {escape(borrower)} until "
        f"{when(opened.due_at)}; another agent closes it: [bold]repayguard hardship close "
        f"{opened.case_id} --as AGENT --outcome granted|declined|withdrawn --note WHY[/bold]"
    )


@hardship_app.command("list")
@friendly
def list_command(
    status: Annotated[
        str, typer.Option(help="open, closed, all, or one of granted, declined, withdrawn.")
    ] = "open",
    overdue: Annotated[bool, typer.Option(help="Only open cases past their deadline.")] = False,
    borrower: Annotated[str | None, typer.Option(help="Only this borrower's cases.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """The queue, nearest deadline first (open cases unless --status says otherwise)."""
    from repayguard.cli.output import console
    from repayguard.errors import InvalidInput
    from repayguard.hardship import STATUSES, HardshipFilter, list_hardship

    if status not in ("closed", "all", *STATUSES):
        raise InvalidInput(
            f"unknown status {status!r}", hint=f"one of: closed, all, {', '.join(STATUSES)}"
        )
    where = HardshipFilter(
        status=None if status == "all" else status, overdue=overdue, borrower_id=borrower
    )
    with open_container(data_dir, production_model=False) as container:
        page = list_hardship(where, uow=container.uow(), limit=limit)
    if json_out:
        typer.echo(json.dumps({"items": [case_json(c) for c in page.items], "total": page.total}))
        return
    if not page.items:
        console.print("No hardship cases match.")
        return
    table = Table(title=f"Hardship cases ({page.total:,} in all)", title_justify="left")
    for column in ("id", "borrower", "reason", "status", "opened", "due", "escalation", "agent"):
        table.add_column(column, overflow="fold")
    for c in page.items:
        table.add_row(
            c.case_id,
            escape(c.borrower_id),
            c.reason,
            c.status,
            f"{when(c.opened_at)} by {c.opened_by}",
            when(c.due_at) + (" [bold red]overdue[/bold red]" if c.overdue else ""),
            c.escalation or "-",
            escape(c.reviewer_name or "-"),
        )
    console.print(table)


@hardship_app.command("show")
@friendly
def show(
    case_id: Annotated[str, typer.Argument(help="The hardship case id.")],
    operator: As = None,
    token: Token = None,
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """One case with its evidence and note (the reading is recorded against you), the
    borrower's methods now and the notices the borrower was sent."""
    from repayguard.cli.output import console, record_table
    from repayguard.hardship import GetHardship, get_hardship

    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="reading a hardship case"),
    ):
        assert container.hardship is not None
        found = get_hardship(GetHardship(case_id), uow=container.uow(), setup=container.hardship)
        now = container.clock.now()
    c = found.case
    if json_out:
        typer.echo(json.dumps(case_json(c), ensure_ascii=False))
        return
    methods = found.current.states_at(now).as_dict() if found.current is not None else None
    rows: list[tuple[str, str]] = [
        ("borrower", c.borrower_id),
        ("reason", c.reason),
        ("evidence", c.evidence or "-"),
        ("status", c.status),
        ("opened", f"{when(c.opened_at)} by {c.opened_by}"),
        ("deadline", when(c.due_at) + (" — overdue" if c.overdue else "")),
        ("escalation", f"{c.escalation} at {when(c.escalated_at)}" if c.escalation else "-"),
        ("closed", f"{when(c.closed_at)} by {c.reviewer_name}" if c.closed_at else "-"),
        ("note", c.note or "-"),
        ("methods now", json.dumps(methods, ensure_ascii=False) if methods else "-"),
    ]
    rows += [(f"notice: {x.kind}", f"[{x.locale}] {x.subject} ({x.notice_id})") for x in c.notices]
    # the borrower's and agents' words are not markup
    console.print(record_table(f"Hardship case {c.case_id}", [(k, escape(v)) for k, v in rows]))


@hardship_app.command("close")
@friendly
def close(
    case_id: Annotated[str, typer.Argument(help="The hardship case id.")],
    outcome: Annotated[str, typer.Option(help="granted, declined or withdrawn.")],
    note: Annotated[str, typer.Option(help="Why (stored encrypted, never sent).")],
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Close a case; the borrower is told and decided afresh under the policy in force."""
    from repayguard.cli.output import console
    from repayguard.hardship import CloseHardship, close_hardship

    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="closing a hardship case") as by,
    ):
        assert container.hardship is not None
        done = close_hardship(
            CloseHardship(case_id, by, outcome, note),
            uow=container.uow(),
            setup=container.hardship,
        )
    console.print(
        f"Hardship case [bold]{done.case_id}[/bold] is {done.status}; the borrower was told "
        "and their methods decided afresh."
    )
