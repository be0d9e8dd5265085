"""``repayguard keys``: create key files, rotate the personal-data key and re-encrypt."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from repayguard.errors import KeyringInvalid, RepayguardError

if TYPE_CHECKING:
    from repayguard.audit import CheckpointPolicy, CheckpointSigner, TrustedKeys
    from repayguard.bootstrap import Container
    from repayguard.config import Settings
    from repayguard.platform.crypto import Keyring, Pseudonymizer

keys_app = typer.Typer(help="Keys of personal data and of audit checkpoints.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default: $REPAYGUARD_DATA_DIR or .repayguard)."),
]


@dataclass(frozen=True, slots=True)
class KeyPaths:
    """Where the keys and checkpoints of a configuration live (settings, else defaults in the
    data directory). Development creates missing key files; production refuses to."""

    data_keys_file: Path
    data_keys_document: str | None
    signing_key_file: Path
    trusted_keys_file: Path | None
    checkpoint_dir: Path
    checkpoint_every: int
    create_missing: bool


def key_paths(settings: Settings) -> KeyPaths:
    # Settings.security.data_keys_file / data_keys and Settings.audit.* are optional here so
    # these commands work whether or not the settings group is wired yet.
    security: Any = settings.security
    audit: Any = getattr(settings, "audit", None)
    keys_dir = settings.data_dir / "keys"
    document = getattr(security, "data_keys", None)
    return KeyPaths(
        data_keys_file=getattr(security, "data_keys_file", None) or keys_dir / "data-keys.json",
        data_keys_document=document.get_secret_value() if document is not None else None,
        signing_key_file=getattr(audit, "signing_key_file", None) or keys_dir / "audit-signing.pem",
        trusted_keys_file=getattr(audit, "trusted_keys_file", None),
        checkpoint_dir=getattr(audit, "checkpoint_dir", None)
        or settings.data_dir / "audit" / "checkpoints",
        checkpoint_every=int(getattr(audit, "checkpoint_every", None) or 1_000),
        create_missing=settings.env != "production",
    )


def open_keyring(paths: KeyPaths) -> Keyring:
    from repayguard.platform.crypto import load_keyring

    return load_keyring(
        file=paths.data_keys_file,
        document=paths.data_keys_document,
        create_missing=paths.create_missing,
    )


def open_pseudonymizer(settings: Settings) -> Pseudonymizer:
    from repayguard.platform.crypto import Pseudonymizer

    return Pseudonymizer.from_secret(settings.security.secret_key.get_secret_value())


def open_checkpoints(paths: KeyPaths) -> CheckpointPolicy:
    from repayguard.audit import CheckpointPolicy, load_signer

    signer: CheckpointSigner = load_signer(
        paths.signing_key_file, create_missing=paths.create_missing
    )
    return CheckpointPolicy(paths.checkpoint_dir, signer, every=paths.checkpoint_every)


def open_trusted_keys(paths: KeyPaths) -> TrustedKeys:
    """The keys verify trusts: the configured file, else the signing key's public half (none
    when no key was ever made: then any checkpoint file found fails verification)."""
    from repayguard.audit import TrustedKeys, load_signer, load_trusted_keys, public_key_path

    if paths.trusted_keys_file is not None:
        return load_trusted_keys(paths.trusted_keys_file)
    public = public_key_path(paths.signing_key_file)
    if public.exists():
        return load_trusted_keys(public)
    if paths.signing_key_file.exists():
        return load_signer(paths.signing_key_file).trusted()
    return TrustedKeys({})


def cli_actor() -> str:
    """Who a CLI command acts as until identity lands: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid-{os.getuid()}"


def audited(container: Container, settings: Settings) -> Container:
    """Make sure the container's units of work append to the audit chain (bootstrap does it
    once wired; this keeps the CLI's own commands audited either way)."""
    from repayguard.audit import AuditTrail, make_audit_observer

    if not any(isinstance(o, AuditTrail) for o in container.observers):
        paths = key_paths(settings)
        container.observers.append(
            make_audit_observer(
                pseudonymizer=open_pseudonymizer(settings),
                clock=container.clock,
                checkpoints=open_checkpoints(paths),
            )
        )
    return container


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
    from repayguard.cli.settings import load_settings
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
    """Re-encrypt every profile under the active data key; old keys keep working meanwhile."""
    from repayguard.audit import acting_as
    from repayguard.bootstrap import bootstrap
    from repayguard.borrowers import RotateKeys, key_usage, pending_rotation, rotate_keys
    from repayguard.cli.output import console, progress_bar
    from repayguard.cli.settings import load_settings, one_shot
    from repayguard.platform.crypto import write_keyring

    settings = one_shot(load_settings(data_dir))
    paths = key_paths(settings)
    keyring = open_keyring(paths)
    if new_key:
        if paths.data_keys_document:
            raise KeyringInvalid(
                "the keyring comes from the environment, so a key cannot be added to it here",
                hint="put the new key in the environment's keyring, make it active, then run "
                "'repayguard keys rotate --no-new-key'",
            )
        keyring = keyring.with_new_active_key()
        write_keyring(keyring, paths.data_keys_file)
        console.print(
            f"New active data key [bold]{keyring.active}[/bold] in {paths.data_keys_file}."
        )
    with bootstrap(settings) as container, acting_as(cli_actor()):
        audited(container, settings)
        total = pending_rotation(uow=container.uow(), keyring=keyring)
        with progress_bar("Re-encrypting", total, "profiles") as bar:
            report = rotate_keys(
                RotateKeys(batch_size=batch_size),
                uow=container.uow,
                keyring=keyring,
                on_batch=bar.advance,
            )
        usage = key_usage(uow=container.uow())
    console.print(
        f"{report.rotated:,} profiles re-encrypted under {report.key_id}"
        + (f" ({report.skipped:,} were saved meanwhile, already on it)" if report.skipped else "")
        + "."
    )
    idle = sorted(k for k in keyring.keys if k != keyring.active and not usage.get(k))
    if report.remaining:
        console.print(f"{report.remaining:,} profiles still on older keys: run rotate again.")
    elif idle:
        console.print(
            f"No profile uses {', '.join(idle)} any more. Keep those keys while backups taken "
            "before now may need restoring; after that they can be removed from the keyring."
        )
