"""Where the keys of a configuration live, and opening them: the personal-data keyring, the
keyed pseudonymizer, the audit checkpoint signer and the keys an auditor trusts; and the
announcement that the keyring changed, which every process follows to reload it.

Development creates missing key files on first use (mode 0600, in the data directory);
production refuses to, so a misconfigured deployment fails at start-up instead of writing data
under a key nobody will find again.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

import structlog

from repayguard.audit import (
    CheckpointPolicy,
    TrustedKeys,
    load_signer,
    load_trusted_keys,
    public_key_path,
)
from repayguard.config import Settings
from repayguard.errors import KeyringInvalid
from repayguard.platform.crypto import Keyring, Pseudonymizer, load_keyring
from repayguard.platform.messages import Fact, Message
from repayguard.platform.uow import UnitOfWork

__all__ = [
    "KEYS_ROTATED",
    "KeyPaths",
    "KeysRotated",
    "RecordKeyRotation",
    "derived_key",
    "key_paths",
    "open_checkpoints",
    "open_keyring",
    "open_pseudonymizer",
    "open_trusted_keys",
    "record_key_rotation",
    "reload_on_rotation",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class KeyPaths:
    """The key files and checkpoint folder of one configuration (settings, else defaults)."""

    data_keys_file: Path
    data_keys_document: str | None
    signing_key_file: Path
    trusted_keys_file: Path | None
    checkpoint_dir: Path
    checkpoint_every: int
    seal_every: timedelta | None
    create_missing: bool


def key_paths(settings: Settings) -> KeyPaths:
    keys_dir = settings.data_dir / "keys"
    document = settings.security.data_keys
    audit = settings.audit
    return KeyPaths(
        data_keys_file=settings.security.data_keys_file or keys_dir / "data-keys.json",
        data_keys_document=document.get_secret_value() if document is not None else None,
        signing_key_file=audit.signing_key_file or keys_dir / "audit-signing.pem",
        trusted_keys_file=audit.trusted_keys_file,
        checkpoint_dir=audit.checkpoint_dir or settings.data_dir / "audit" / "checkpoints",
        checkpoint_every=audit.checkpoint_every,
        seal_every=timedelta(seconds=seconds) if (seconds := audit.seal_every_seconds) else None,
        create_missing=settings.env != "production",
    )


def open_keyring(paths: KeyPaths) -> Keyring:
    """The data keyring, which reloads from the same document or file when it rotates (a
    reload never creates a file: a keyring gone missing keeps the keys in memory)."""
    first = load_keyring(
        file=paths.data_keys_file,
        document=paths.data_keys_document,
        create_missing=paths.create_missing,
    )

    def source() -> Keyring:
        return load_keyring(file=paths.data_keys_file, document=paths.data_keys_document)

    return Keyring(first.active, first.keys, source=source)


@dataclass(frozen=True, slots=True)
class RecordKeyRotation:
    """The data keyring now encrypts under ``active`` and holds ``key_ids``; ``added`` names
    the key this change created, if any. Key ids only: key material never leaves its file."""

    active: str
    key_ids: tuple[str, ...]
    added: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysRotated(Fact):
    """The data keyring changed: every process reloads its own. Key ids only."""

    NAME = "repayguard.keys.rotated"

    subject: str
    active: str
    key_ids: tuple[str, ...]
    added: str | None


KEYS_ROTATED: Final = KeysRotated.NAME


def record_key_rotation(cmd: RecordKeyRotation, *, uow: UnitOfWork) -> None:
    """Announce a changed keyring (``repayguard.keys.rotated``, on the audit trail): every
    running process reloads its keyring when the message reaches it. Committed after the key
    file is written and before anything is encrypted under the new key."""
    with uow:
        uow.emit(
            Message(
                KeysRotated(
                    subject=f"data_key:{cmd.active}",
                    active=cmd.active,
                    key_ids=tuple(sorted(cmd.key_ids)),
                    added=cmd.added,
                )
            )
        )
        uow.commit()


def reload_on_rotation(keyring: Keyring) -> Callable[[Message[KeysRotated]], None]:
    """The follow handler that reloads ``keyring`` in place when a rotation is announced.

    It never raises: a source that cannot be read now keeps the keys in use (and a record
    under an unknown key retries the reload when read), rather than holding the bus back.
    """

    def reload(message: Message[KeysRotated]) -> None:
        try:
            keyring.reload()
        except (KeyringInvalid, OSError) as exc:
            log.error("keyring_reload_failed", error=str(exc))
            return
        announced = message.fact.active
        if announced not in keyring.keys:
            # A keyring given in the environment cannot change under a running process.
            log.warning(
                "keyring_rotation_not_visible",
                announced=announced,
                active=keyring.active,
                hint="give this process the rotated keyring and restart it",
            )

    return reload


def open_pseudonymizer(settings: Settings) -> Pseudonymizer:
    return Pseudonymizer.from_secret(settings.security.secret_key.get_secret_value())


def derived_key(settings: Settings, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the configured secret (HMAC-SHA256), so
    one secret serves several uses without any two sharing a key."""
    secret = settings.security.secret_key.get_secret_value().encode()
    return hmac.new(secret, f"repayguard/{purpose}".encode(), hashlib.sha256).digest()


def open_checkpoints(paths: KeyPaths) -> CheckpointPolicy:
    signer = load_signer(paths.signing_key_file, create_missing=paths.create_missing)
    return CheckpointPolicy(
        paths.checkpoint_dir, signer, every=paths.checkpoint_every, seal_every=paths.seal_every
    )


def open_trusted_keys(paths: KeyPaths) -> TrustedKeys:
    """The keys verify trusts: the configured file, else the signing key's public half (none
    when no key was ever made: then any checkpoint file found fails verification)."""
    if paths.trusted_keys_file is not None:
        return load_trusted_keys(paths.trusted_keys_file)
    public = public_key_path(paths.signing_key_file)
    if public.exists():
        return load_trusted_keys(public)
    if paths.signing_key_file.exists():
        return load_signer(paths.signing_key_file).trusted()
    return TrustedKeys({})
