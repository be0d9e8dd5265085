"""``repayguard keys``: create key files, rotate the personal-data key and re-encrypt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from repayguard.cli.actor import cli_actor
from repayguard.cli.shared import DataDir
from repayguard.errors import KeyringInvalid, RepayguardError
from repayguard.keys import RecordKeyRotation, key_paths, open_keyring, record_key_rotation

keys_app = typer.Typer(help="Keys of personal data and of audit checkpoints.", no_args_is_help=True)


@keys_app.command("generate")
def generate(
    kind: Annotated[
        Literal["data", "signing"],
        typer.Option(help="'data': AES-256 keyring for personal data; 'signing': Ed25519 key."),
    ] = "data",
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: the configured path).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write a new key file (mode 0600); an existing file is never overwritten."""
    from repayguard.audit import CheckpointSigner, public_key_path, write_signing_key
    from repayguard.cli.output import console
    from repayguard.cli.shared import load_settings
    from repayguard.platform.crypto import Keyring, write_keyring

    paths = key_paths(load_settings(data_dir))
    target = out or (paths.data_keys_file if kind == "data" else paths.signing_key_file)
    if target.exists():
        raise RepayguardError(
            f"{target} already exists; key files are never overwritten",
            hint="to change the data key use 'repayguard keys rotate'; or choose --out",
        )
    if kind == "data":
        keyring = Keyring.generate()
        write_keyring(keyring, target)
        console.print(f"Wrote a data keyring with key [bold]{keyring.active}[/bold] to {target}.")
        return
    signer = CheckpointSigner.generate()
    write_signing_key(signer, target)
    console.print(
        f"Wrote signing key [bold]{signer.key_id}[/bold] to {target} and its public half to "
        f"{public_key_path(target)} (give that one to auditors)."
    )


@keys_app.command("rotate")
def rotate(
    new_key: Annotated[
        bool,
        typer.Option(
            help="Add a fresh active key to the keyring file first (else re-encrypt "
            "to the keyring's current active key, e.g. one set in the environment)."
        ),
    ] = True,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Profiles per commit.")] = 500,
    data_dir: DataDir = None,
) -> None:
    """Re-encrypt every profile, complaint statement, hardship note and quarantined record
    under the active data key; old keys keep working meanwhile, and running servers and
    workers reload the keyring at once."""
    from repayguard.audit import acting_as
    from repayguard.bootstrap import bootstrap
    from repayguard.borrowers import RotateKeys, key_usage, pending_rotation, rotate_keys
    from repayguard.cli.output import console, progress_bar
    from repayguard.cli.shared import load_settings, one_shot
    from repayguard.complaints import rotate_statements, statement_key_usage
    from repayguard.hardship import note_key_usage, rotate_notes
    from repayguard.ingestion import quarantine_key_usage, rotate_quarantine
    from repayguard.platform.crypto import write_keyring

    settings = one_shot(load_settings(data_dir))
    paths = key_paths(settings)
    keyring = open_keyring(paths)
    added = None
    if new_key:
        if paths.data_keys_document:
            raise KeyringInvalid(
                "the keyring comes from the environment, so a key cannot be added to it here",
                hint="put the new key in the environment's keyring, make it active, then run "
                "'repayguard keys rotate --no-new-key'",
            )
        keyring = keyring.with_new_active_key()
        added = keyring.active
        write_keyring(keyring, paths.data_keys_file)
        console.print(
            f"New active data key [bold]{keyring.active}[/bold] in {paths.data_keys_file}."
        )
    with bootstrap(settings, production_model=False) as container, acting_as(cli_actor()):
        # Running processes reload their keyring before anything is written under the new key
        # (and one that misses this reloads when it meets the new key id).
        record_key_rotation(
            RecordKeyRotation(keyring.active, tuple(keyring.keys), added=added),
            uow=container.uow(),
        )
        total = pending_rotation(uow=container.uow(), keyring=keyring)
        with progress_bar("Re-encrypting", total, "profiles") as bar:
            report = rotate_keys(
                RotateKeys(batch_size=batch_size),
                uow=container.uow,
                keyring=keyring,
                on_batch=bar.advance,
            )
        statements = rotate_statements(uow=container.uow, keyring=keyring, batch_size=batch_size)
        notes = rotate_notes(uow=container.uow, keyring=keyring, batch_size=batch_size)
        records = rotate_quarantine(uow=container.uow, keyring=keyring, batch_size=batch_size)
        usage = key_usage(uow=container.uow())
        for sealed in (
            statement_key_usage(uow=container.uow()),
            note_key_usage(uow=container.uow()),
            quarantine_key_usage(uow=container.uow()),
        ):
            for key_id, count in sealed.items():
                usage[key_id] = usage.get(key_id, 0) + count
    console.print(
        f"{report.rotated:,} profiles re-encrypted under {report.key_id}"
        + (f" ({report.skipped:,} were saved meanwhile, already on it)" if report.skipped else "")
        + "."
    )
    if statements.rotated:
        console.print(f"{statements.rotated:,} complaint statements re-encrypted.")
    if notes.rotated:
        console.print(f"Hardship notes of {notes.rotated:,} case(s) re-encrypted.")
    if records.rotated:
        console.print(f"{records.rotated:,} quarantined record(s) re-encrypted.")
    idle = sorted(k for k in keyring.keys if k != keyring.active and not usage.get(k))
    remaining = report.remaining + statements.remaining + notes.remaining + records.remaining
    if remaining:
        console.print(
            f"{remaining:,} profiles, complaint statements, hardship notes and quarantined "
            "records still on older keys: run rotate again."
        )
    elif idle:
        console.print(
            f"No profile, complaint statement, hardship note or quarantined record uses "
            f"{', '.join(idle)} any more. "
            "Keep those keys "
            "while backups taken before now may need restoring; after that they can be removed "
            "from the keyring."
        )
