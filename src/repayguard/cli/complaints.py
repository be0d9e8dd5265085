"""``repayguard complaints``: the complaints queue — list, show a case with the contested
decision's lineage and explanation, resolve (uphold, or reverse through maker-checker).

The acting operator proves who they are as in ``repayguard approvals`` (``--token`` or
``REPAYGUARD_TOKEN``, or ``--as NAME`` and the password at the prompt); the same use-cases as
the API run, so the same rules hold (a reversal is an override request the agent makes and a
second person approves).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table

from repayguard.cli.actor import As, Token, acting
from repayguard.cli.output import when
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container
from repayguard.core.policy.counterfactual import WHY_NONE, changes_of

if TYPE_CHECKING:
    from repayguard.complaints import ComplaintCase, ComplaintInfo
    from repayguard.notices import NoticeInfo

complaints_app = typer.Typer(
    help="Complaints and appeals: the queue; show a case with its decision; resolve it.",
    no_args_is_help=True,
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _told(notice: NoticeInfo) -> str:
    """A notice the borrower was sent: language, subject, and how each channel delivered it."""
    channels = ", ".join(f"{d.channel} {d.status}" for d in notice.deliveries)
    return f"[{notice.locale}] {notice.subject} ({notice.notice_id}; {channels})"


def case_json(found: ComplaintInfo) -> dict[str, Any]:
    data: dict[str, Any] = _plain(asdict(found))
    return data


def queue_table(items: list[ComplaintInfo], *, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("id", "borrower", "contested", "status", "filed", "due", "escalation", "agent"):
        table.add_column(column, overflow="fold")
    for c in items:
        due = when(c.due_at) + (" [bold red]overdue[/bold red]" if c.overdue else "")
        table.add_row(
            c.complaint_id,
            escape(c.borrower_id),
            ", ".join(c.contested),
            c.status,
            when(c.filed_at),
            due,
            c.escalation or "-",
            escape(c.reviewer_name or "-"),
        )
    return table


@complaints_app.command("list")
@friendly
def list_command(
    status: Annotated[
        str,
        typer.Option(
            help="active, closed, all, or one of open, reversal_pending, upheld, reversed."
        ),
    ] = "active",
    overdue: Annotated[bool, typer.Option(help="Only active cases past their deadline.")] = False,
    escalated: Annotated[bool, typer.Option(help="Only cases escalated at least once.")] = False,
    borrower: Annotated[str | None, typer.Option(help="Only this borrower's cases.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """The queue, nearest deadline first (active cases unless --status says otherwise)."""
    from repayguard.cli.output import console
    from repayguard.complaints import STATUSES, QueueFilter, list_complaints
    from repayguard.errors import InvalidInput

    if status not in ("active", "closed", "all", *STATUSES):
        raise InvalidInput(
            f"unknown status {status!r}",
            hint=f"one of: active, closed, all, {', '.join(STATUSES)}",
        )
    where = QueueFilter(
        status=None if status == "all" else status,
        overdue=overdue,
        escalated=escalated,
        borrower_id=borrower,
    )
    with open_container(data_dir, production_model=False) as container:
        page = list_complaints(where, uow=container.uow(), limit=limit)
    if json_out:
        typer.echo(json.dumps({"items": [case_json(c) for c in page.items], "total": page.total}))
        return
    if not page.items:
        console.print("No complaints match.")
        return
    console.print(queue_table(page.items, title=f"Complaints ({page.total:,} in all)"))


def _case_table(case: ComplaintCase, locale: str) -> Table:
    from repayguard.cli.output import record_table

    c = case.complaint
    rows: list[tuple[str, str]] = [
        ("borrower", c.borrower_id),
        ("contested", ", ".join(c.contested)),
        ("statement", c.statement or "-"),
        ("status", c.status + (f" (override request {c.approval_id})" if c.approval_id else "")),
        ("filed", f"{when(c.filed_at)} by {c.filed_by}"),
        ("deadline", when(c.due_at) + (" — overdue" if c.overdue else "")),
        ("escalation", f"{c.escalation} at {when(c.escalated_at)}" if c.escalation else "-"),
        ("agent", f"{c.reviewer_name or '-'}: {c.comment or '-'}"),
        ("resolved", when(c.resolved_at)),
    ]
    lineage = case.lineage
    if lineage is not None:
        d = lineage.decision
        rows += [
            ("decision", f"{d.decision_id} as of {when(d.as_of)} (run {d.run_id})"),
            ("policy", f"version {d.policy_version}, content hash {d.policy_hash}"),
            ("model", f"{d.model_version}: PD {d.pd:.3f}, tier T{d.tier}"),
            ("rule", d.rule_id + (f" (guardrail: {d.guardrail})" if d.guardrail else "")),
            ("decided", json.dumps(d.states.as_dict(), ensure_ascii=False)),
            (
                "reasons",
                "\n".join(f"{r.code}: {r.texts.get(locale, r.code)}" for r in lineage.reasons),
            ),
            ("inputs", json.dumps(d.inputs, ensure_ascii=False)),
        ]
        explanation = lineage.explanation
        if explanation is not None:
            changes = [
                " and ".join(f"{c['input']}: {c['from']} → {c['to']}" for c in changes_of(w))
                + f" ({w['rule_id']}, loosens {', '.join(w['loosens'])})"
                for w in explanation["what_would_change"]
            ]
            why = WHY_NONE.get(explanation.get("why_none") or "", {}).get("en")
            rows.append(("explained with", lineage.explained_with or "-"))
            rows.append(
                (
                    "what would change it",
                    "\n".join(changes) or why or "nothing the borrower can change",
                )
            )
        else:
            rows.append(("explanation", lineage.note or "-"))
    if case.current is not None:
        e = case.current
        rows.append(
            ("methods now", f"{json.dumps(e.states.as_dict(), ensure_ascii=False)} ({e.rule_id})")
        )
    rows += [(f"notice: {x.kind}", _told(x)) for x in c.notices]
    # the borrower's and agents' words are not markup
    return record_table(f"Complaint {c.complaint_id}", [(k, escape(v)) for k, v in rows])


@complaints_app.command("show")
@friendly
def show(
    complaint_id: Annotated[str, typer.Argument(help="The complaint id.")],
    operator: As = None,
    token: Token = None,
    locale: Annotated[str, typer.Option(help="Language of the reason texts: en or zh-CN.")] = "en",
    json_out: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """One case: the statement (the reading is audited), the contested decision's lineage and
    explanation, the borrower's methods now, the notices the borrower was sent and their
    delivery, and the remedies of a reversal."""
    from contextlib import ExitStack

    from repayguard.cli.output import console
    from repayguard.cli.remedies import remedies_json, remedies_table
    from repayguard.complaints import GetComplaint, get_complaint
    from repayguard.remedies import ListRemedies, list_remedies

    with ExitStack() as stack:
        container = stack.enter_context(open_container(data_dir, production_model=False))
        if operator or token:  # a proven reader is recorded; else the audit names cli:<user>
            stack.enter_context(acting(container, operator, token, needed_for="reading a case"))
        assert container.complaints is not None
        case = get_complaint(
            GetComplaint(complaint_id), uow=container.uow(), setup=container.complaints
        )
        remedied = list_remedies(ListRemedies(complaint_id), uow=container.uow())
    if json_out:
        lineage = case.lineage
        typer.echo(
            json.dumps(
                {
                    "complaint": case_json(case.complaint),
                    "decision": _plain(asdict(lineage)) if lineage is not None else None,
                    "remedies": remedies_json(remedied),
                },
                ensure_ascii=False,
                default=str,
            )
        )
        return
    console.print(_case_table(case, locale))
    if remedied:
        console.print(remedies_table(remedied))


@complaints_app.command("resolve")
@friendly
def resolve(
    complaint_id: Annotated[str, typer.Argument(help="The complaint id.")],
    outcome: Annotated[str, typer.Option(help="uphold (the decision stands) or reverse.")],
    comment: Annotated[str, typer.Option(help="Why (kept with the case).")],
    days: Annotated[
        int | None, typer.Option(min=1, max=365, help="Reverse: how long the override lasts.")
    ] = None,
    auto_debit: Annotated[str | None, typer.Option(help="Reverse: set auto-debit to this.")] = None,
    early_repayment: Annotated[
        str | None, typer.Option(help="Reverse: set early repayment to this.")
    ] = None,
    manual: Annotated[
        str | None, typer.Option(help="Reverse: set manual repayment to this.")
    ] = None,
    channel: Annotated[
        list[str] | None, typer.Option(help="Reverse: a manual channel (repeatable).")
    ] = None,
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Uphold the decision, or reverse it: a manual override you ask for and a second person
    approves ('repayguard approvals approve ID --as CHECKER'); the case closes then."""
    from repayguard.cli.output import console
    from repayguard.complaints import ResolveComplaint, Reversal, resolve_complaint
    from repayguard.errors import InvalidInput

    if outcome not in ("uphold", "reverse"):
        raise InvalidInput(f"unknown outcome {outcome!r}", hint="--outcome uphold or reverse")
    chosen: Literal["uphold", "reverse"] = "uphold" if outcome == "uphold" else "reverse"
    reversal = Reversal(
        auto_debit=auto_debit,
        early_repayment=early_repayment,
        manual=manual,
        manual_channels=tuple(channel) if channel else None,
        days=days,
    )
    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="resolving a complaint") as by,
    ):
        assert container.complaints is not None
        done = resolve_complaint(
            ResolveComplaint(complaint_id, by, chosen, comment, reversal),
            uow=container.uow,
            setup=container.complaints,
        )
    if done.status == "reversal_pending":
        console.print(
            f"Complaint [bold]{done.complaint_id}[/bold] will be reversed once override request "
            f"[bold]{done.approval_id}[/bold] is approved by a second person: "
            f"[bold]repayguard approvals approve {done.approval_id} --as CHECKER[/bold]"
        )
        return
    console.print(f"Complaint [bold]{done.complaint_id}[/bold] is {done.status}.")
