"""``repayguard policy`` commands on stored policies: submit, publish, list, show, impact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from repayguard.cli.actor import As, Token, acting, recorded_actor
from repayguard.cli.policy.common import PolicyArg, json_arg, maybe_db, policy_ref, read
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container
from repayguard.errors import RepayguardError

if TYPE_CHECKING:
    import polars as pl

    from repayguard.policies import PortfolioReader


def add_store_commands(app: typer.Typer) -> None:
    """Register the commands that read or write the policy store on ``app``."""
    for name, command in (
        ("impact", impact),
        ("submit", submit),
        ("publish", publish),
        ("list", list_command),
        ("show", show),
    ):
        app.command(name)(command)


def _portfolio_reader() -> PortfolioReader:
    """The decision log's latest inputs per borrower."""
    from repayguard import decisions

    return decisions.latest_inputs


def _snapshot(path: Path) -> pl.DataFrame:
    """A portfolio snapshot: JSONL lines of borrower_id, tier, inputs {...}, current {...}."""
    import polars as pl

    from repayguard.core.policy.impact import PORTFOLIO_SCHEMA

    rows = []
    for number, line in enumerate(read(path).splitlines(), start=1):
        if not line.strip():
            continue
        record = json_arg(line, f"{path} line {number}")
        current = record.get("current") or {}
        rows.append(
            {
                "borrower_id": str(record.get("borrower_id", number)),
                "tier": None if record.get("tier") is None else str(record["tier"]),
                "inputs": json.dumps(record.get("inputs") or {}),
                **{k: current.get(k) for k in ("auto_debit", "early_repayment", "manual")},
                "manual_channels": current.get("manual_channels"),
            }
        )
    frame = pl.DataFrame(rows, schema=PORTFOLIO_SCHEMA)
    return frame.with_columns(
        pl.when(pl.col("tier").str.contains(r"^\d+$"))
        .then(pl.format("T{}", pl.col("tier")))
        .otherwise(pl.col("tier"))
        .alias("tier")
    )


@friendly
def impact(
    policy: PolicyArg,
    portfolio: Annotated[
        Path | None,
        typer.Option(help="A portfolio snapshot (JSONL) instead of the live decision log."),
    ] = None,
    samples: Annotated[int, typer.Option(min=0, max=50, help="Borrowers shown per move.")] = 5,
    attributes: Annotated[
        Path | None,
        typer.Option(
            "--attributes",
            help="CSV/Parquet of borrower_id and group columns for restriction rates by group "
            "(default: region and birth year from borrower profiles).",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Preview what a candidate would change if it went live now: by method, tier, direction,
    and restriction rates by group (a warning past ``fairness.max_disparity_ratio``)."""
    from repayguard.cli.output import console
    from repayguard.cli.policy.views import impact_tables
    from repayguard.cli.shadow import fairness_json, fairness_of, print_fairness
    from repayguard.policies import PreviewImpact, preview_impact, preview_snapshot, profiles

    cmd = PreviewImpact(policy_ref(policy), samples)
    fairness = None
    with console.status("Deciding the portfolio under the candidate…"):
        if portfolio is not None:
            frame = _snapshot(portfolio)
            with maybe_db((cmd.candidate,), data_dir) as uow:
                report = preview_snapshot(cmd, frame, uow=uow, profiles=profiles())
            if attributes is not None:
                fairness = fairness_of(None, attributes, report.restricted)
        else:
            with open_container(data_dir) as container:
                report = preview_impact(
                    cmd, uow=container.uow(), profiles=profiles(), portfolio=_portfolio_reader()
                )
                fairness = fairness_of(container, attributes, report.restricted)
    if as_json:
        body = report.as_dict()
        if fairness is not None:
            body["fairness"] = fairness_json(fairness)
        typer.echo(json.dumps(body, ensure_ascii=False, default=str))
        return
    console.print(
        f"If {report.policy['name']} ({report.policy['version']}) went live now: "
        f"[bold]{report.changed:,}[/bold] of {report.borrowers:,} borrowers' methods would change"
        + (
            f" ({report.without_entitlement:,} have no methods yet)"
            if report.without_entitlement
            else ""
        )
        + "."
    )
    for table in impact_tables(report):
        console.print(table)
    if fairness is not None:
        print_fairness(fairness)


@friendly
def submit(
    file: Annotated[Path, typer.Argument(help="Policy YAML.")],
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Check a policy and keep it as a draft; refused with every problem when it fails.
    Recorded as submitted by the proven operator (--token, or --as and the password), else
    by cli:<your os user>: a draft needs no role, publishing it does."""
    from repayguard.cli.output import console
    from repayguard.policies import SubmitPolicy, profiles, submit_policy

    with open_container(data_dir) as container:
        by = recorded_actor(container, username=operator, token=token)
        draft = submit_policy(
            SubmitPolicy(read(file), by), uow=container.uow(), profiles=profiles()
        )
    console.print(
        f"[bold green]Draft {draft.draft_id}[/bold green] of {draft.name} stored "
        f"({draft.rows} rows, content hash {draft.content_hash[:16]}…). "
        f"Next: [bold]repayguard policy publish {draft.draft_id} --as ANALYST[/bold]"
    )


@friendly
def publish(
    draft_id: Annotated[str, typer.Argument(help="The draft id 'submit' printed.")],
    reason: Annotated[str, typer.Option(help="Why this version (kept with the request).")] = "",
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Ask for a draft to be published; it becomes the next version once a second person
    approves ('repayguard approvals approve')."""
    from repayguard.approvals import RequestApproval, request_approval
    from repayguard.cli.approvals import next_step
    from repayguard.cli.output import console

    with (
        open_container(data_dir) as container,
        acting(container, operator, token, needed_for="asking to publish a policy") as by,
    ):
        made = request_approval(
            RequestApproval("policy_publish", {"draft_id": draft_id}, by=by, reason=reason),
            uow=container.uow(),
            context=container.approvals,
        )
    console.print(next_step(made))


@friendly
def list_command(
    name: Annotated[str | None, typer.Option(help="Only this policy name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """List published versions, newest first."""
    from repayguard.cli.output import console
    from repayguard.cli.policy.views import versions_table
    from repayguard.policies import ListPolicyVersions, list_versions

    with open_container(data_dir) as container:
        page = list_versions(ListPolicyVersions(name, limit), uow=container.uow())
    if as_json:
        items = [
            {
                k: getattr(v, k)
                for k in (
                    "name",
                    "version",
                    "content_hash",
                    "jurisdiction",
                    "hit_policy",
                    "rows",
                    "published_by",
                )
            }
            | {"published_at": v.published_at.isoformat()}
            for v in page.items
        ]
        typer.echo(json.dumps({"items": items, "total": page.total}))
        return
    if not page.items:
        console.print(
            "No published policy versions yet. Next: [bold]repayguard policy submit FILE[/bold]"
        )
        return
    console.print(versions_table(page.items, total=page.total))


@friendly
def show(
    policy: Annotated[str, typer.Argument(help="NAME@VERSION or NAME@latest.")],
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Print a published version's YAML as its author wrote it."""
    from repayguard.policies import GetPolicyVersion, VersionRef, get_version

    named = policy_ref(policy)
    if not isinstance(named, VersionRef):
        raise RepayguardError("show reads a published version", hint="give NAME@VERSION")
    with open_container(data_dir) as container:
        info = get_version(GetPolicyVersion(named.name, named.version), uow=container.uow())
    if as_json:
        from repayguard.cli.output import print_json

        print_json(
            {
                "name": info.name,
                "version": info.version,
                "content_hash": info.content_hash,
                "published_by": info.published_by,
                "published_at": info.published_at,
                "source": info.source,
            }
        )
        return
    typer.echo(
        f"# {info.name} version {info.version}, content hash {info.content_hash}, "
        f"published by {info.published_by} at {info.published_at.isoformat()}"
    )
    typer.echo(info.source or "", nl=False)
