"""``repayguard backup`` and ``repayguard restore``: a consistent copy of the whole store and
its proven restore (docs/operations.md: schedule and retention)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from repayguard.cli.exits import FINDINGS
from repayguard.cli.shared import AsJson, DataDir


def backup(
    out: Annotated[
        Path, typer.Option(help="Folder to create the backup in (a new dated folder inside).")
    ] = Path("backups"),
    keys: Annotated[
        bool,
        typer.Option(
            "--keys/--no-keys",
            help="Copy the key files too (needed to read personal data and to keep signing).",
        ),
    ] = True,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Back up the store online: database snapshot, key files, signed checkpoints, manifest."""
    from repayguard.backup import BackupStore, backup_store
    from repayguard.cli.output import console
    from repayguard.cli.shared import load_settings
    from repayguard.keys import key_paths, open_checkpoints
    from repayguard.platform.clock import SystemClock
    from repayguard.platform.db import make_engine

    settings = load_settings(data_dir)
    paths = key_paths(settings)
    checkpoints = open_checkpoints(paths) if settings.audit.enabled else None
    engine = make_engine(settings.database_url)
    try:
        with console.status("Backing up…") as status:
            report = backup_store(
                BackupStore(out=out, keys=keys),
                engine=engine,
                paths=paths,
                checkpoints=checkpoints,
                clock=SystemClock(),
                step=lambda what: status.update(f"Backing up: {what}…"),
            )
    finally:
        engine.dispose()
    manifest = report.manifest
    if as_json:
        typer.echo(json.dumps({"folder": str(report.folder), **json.loads(manifest.to_json())}))
        return
    size = sum(f.bytes for f in manifest.files)
    console.print(
        f"[bold green]Backed up[/bold green] the {manifest.database} store to "
        f"[bold]{report.folder}[/bold]: {len(manifest.files)} files, {size / 1e6:,.1f} MB; "
        f"audit chain sealed through record {manifest.head_seq:,}."
    )
    for table, checksum in manifest.checksums.items():
        console.print(f"  {table}: {checksum.rows:,} rows, sha256 {checksum.sha256[:16]}…")
    for note in manifest.notes:
        console.print(f"  [yellow]note:[/yellow] {note}")
    console.print(
        "Keep it off this host (it holds the keys unless --no-keys). Restore it into an empty "
        f"store with: [bold]repayguard restore {report.folder}[/bold]"
    )


def restore(
    source: Annotated[Path, typer.Argument(help="The backup folder 'repayguard backup' wrote.")],
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Restore a backup into an empty store, then prove it (audit verify + checksums)."""
    from repayguard.backup import RestoreStore, restore_store
    from repayguard.cli.output import console, errors
    from repayguard.cli.shared import load_settings
    from repayguard.keys import key_paths
    from repayguard.platform.clock import SystemClock
    from repayguard.platform.db import make_engine

    settings = load_settings(data_dir)
    engine = make_engine(settings.database_url)
    try:
        with console.status("Restoring…") as status:
            report = restore_store(
                RestoreStore(source),
                engine=engine,
                paths=key_paths(settings),
                clock=SystemClock(),
                step=lambda what: status.update(f"Restoring: {what}…"),
            )
    finally:
        engine.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "mismatched": report.mismatched,
                    "checksums": {t: c.as_dict() for t, c in report.checksums.items()},
                    "verify": report.verify.as_dict(),
                }
            )
        )
    elif report.ok:
        console.print(
            f"[bold green]Restored[/bold green] the backup of {report.manifest.created_at} and "
            f"proved it: the audit chain holds ({report.verify.records:,} records, "
            f"{report.verify.checkpoints:,} signed checkpoints) and "
            + ", ".join(f"{t} ({c.rows:,} rows)" for t, c in report.checksums.items())
            + " match the source's checksums."
        )
        console.print(
            "Next: [bold]repayguard db upgrade[/bold] if this version is newer, then serve."
        )
    else:
        problem = report.verify.problem
        if problem is not None:
            errors.print(
                f"[bold red]The restored audit chain is broken:[/bold red] {problem.detail}"
            )
        for table in report.mismatched:
            errors.print(f"[bold red]{table} differs from the source's checksum[/bold red]")
    if not report.ok:
        raise typer.Exit(FINDINGS)
