"""``repayguard audit``: verify the chain and its signed checkpoints, checkpoint, export."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from repayguard.cli.exits import FINDINGS
from repayguard.cli.shared import AsJson, DataDir
from repayguard.keys import key_paths, open_checkpoints, open_trusted_keys

if TYPE_CHECKING:
    from repayguard.audit import VerifyReport

audit_app = typer.Typer(
    help="The tamper-evident audit trail: verify, checkpoint, export.", no_args_is_help=True
)


def _print_report(report: VerifyReport, *, seconds: float, as_json: bool, source: str) -> None:
    from repayguard.cli.output import console, errors

    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "seconds": round(seconds, 3)}))
        return
    chain = f" {report.chain_id}" if report.chain_id else ""
    checked = (
        f"{report.records:,} records and {report.checkpoints:,} signed checkpoints "
        f"(latest: record {report.latest_checkpoint:,}) checked in {seconds:.1f} s"
    )
    if report.problem is None:
        console.print(
            f"[bold green]Audit chain{chain} ({source}) is intact:[/bold green] {checked}."
        )
    else:
        problem = report.problem
        where = (
            f"record {problem.seq:,}"
            if problem.since_seq == problem.seq
            else f"record {problem.seq:,} (altered from record {problem.since_seq:,} on)"
        )
        errors.print(f"[bold red]Audit chain{chain} ({source}) is BROKEN at {where}:[/bold red]")
        errors.print(f"  {problem.kind}: {problem.detail}")
        errors.print(f"  ({checked} before the break)")
    for finding in report.findings:
        errors.print(f"[bold yellow]finding:[/bold yellow] {finding}")
    for warning in report.warnings:
        errors.print(f"[yellow]note:[/yellow] {warning}")


@audit_app.command("verify")
def verify(
    checkpoints: Annotated[
        Path | None, typer.Option(help="Folder of signed checkpoints (default: configured).")
    ] = None,
    trusted_keys: Annotated[
        Path | None,
        typer.Option(help="PEM file of trusted public keys (default: the signing key's own)."),
    ] = None,
    export: Annotated[
        Path | None, typer.Option(help="Verify this JSONL export instead of the database.")
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Walk the chain: every hash, link and signed checkpoint. Exit 1 at the first break, or
    when records have stayed unsealed longer than the seal interval allows (a finding)."""
    from repayguard.audit import VerifyChain, load_trusted_keys, verify_chain, verify_export
    from repayguard.bootstrap import bootstrap
    from repayguard.cli.output import console
    from repayguard.cli.shared import load_settings, one_shot

    settings = one_shot(load_settings(data_dir))
    paths = key_paths(settings)
    folder = checkpoints or paths.checkpoint_dir
    trusted = load_trusted_keys(trusted_keys) if trusted_keys else open_trusted_keys(paths)
    started = time.perf_counter()
    if export is not None:
        report = verify_export(export, checkpoint_dir=folder, trusted=trusted)
        source = export.name
    else:
        with (
            bootstrap(settings, production_model=False) as container,
            console.status("Verifying the audit chain…"),
        ):
            report = verify_chain(
                VerifyChain(checkpoint_dir=folder, trusted=trusted, seal_within=paths.seal_every),
                uow=container.uow(),
            )
        source = "database"
    _print_report(report, seconds=time.perf_counter() - started, as_json=as_json, source=source)
    if not report.ok or report.findings:
        raise typer.Exit(FINDINGS)


@audit_app.command("checkpoint")
def checkpoint(as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """Sign the chain's current head now and write the checkpoint file."""
    from repayguard.audit import write_checkpoint_now
    from repayguard.bootstrap import bootstrap
    from repayguard.cli.output import console, print_json
    from repayguard.cli.shared import load_settings, one_shot

    settings = one_shot(load_settings(data_dir))
    policy = open_checkpoints(key_paths(settings))
    with bootstrap(settings, production_model=False) as container:
        written = write_checkpoint_now(policy, uow=container.uow())
    if as_json:
        print_json(
            None
            if written is None
            else {
                "seq": written.seq,
                "hash": written.hash,
                "key_id": written.key_id,
                "file": policy.directory / written.file_name(),
            }
        )
        return
    if written is None:
        console.print("The audit chain is empty: nothing to checkpoint yet.")
        return
    console.print(
        f"Signed record [bold]{written.seq:,}[/bold] ({written.hash[:16]}…) with "
        f"{written.key_id}; checkpoint written to {policy.directory / written.file_name()}."
    )


@audit_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="JSONL file to write.")],
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="First day (UTC) to export; records from then to the end. Default: all.",
        ),
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Write the chain as JSONL for a third-party auditor (borrowers appear as pseudonyms)."""
    from repayguard.audit import ExportAudit, export_audit, export_size
    from repayguard.bootstrap import bootstrap
    from repayguard.cli.output import console, print_json, progress_bar
    from repayguard.cli.shared import load_settings, one_shot

    settings = one_shot(load_settings(data_dir))
    signer = open_checkpoints(key_paths(settings)).signer
    cmd = ExportAudit(out=out, signer=signer, since=since.replace(tzinfo=UTC) if since else None)
    with bootstrap(settings, production_model=False) as container:
        total = export_size(cmd, uow=container.uow())
        with progress_bar("Exporting", total, "records", quiet=as_json) as bar:
            report = export_audit(cmd, uow=container.uow(), on_records=bar.advance)
    if as_json:
        print_json(
            {
                "out": out,
                "records": report.records,
                "first_seq": report.first_seq if report.records else None,
                "last_seq": report.last_seq if report.records else None,
                "chain_id": report.chain_id,
            }
        )
        return
    if not report.records:
        after = f" since {since:%Y-%m-%d}" if since else ""
        console.print(f"No audit records{after}; wrote {out} with only its signed end line.")
        return
    console.print(
        f"Wrote records {report.first_seq:,}..{report.last_seq:,} ({report.records:,}) of chain "
        f"{report.chain_id} to {out}. An auditor checks it with the checkpoint folder and the "
        f"public key: [bold]repayguard audit verify --export {out}[/bold]"
    )
