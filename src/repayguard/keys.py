"""Where the keys of a configuration live, and opening them: the personal-data keyring, the
keyed pseudonymizer, the audit checkpoint signer and the keys an auditor trusts.

Development creates missing key files on first use (mode 0600, in the data directory);
production refuses to, so a misconfigured deployment fails at start-up instead of writing data
under a key nobody will find again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from repayguard.audit import (
    CheckpointPolicy,
    TrustedKeys,
    load_signer,
    load_trusted_keys,
    public_key_path,
)
from repayguard.config import Settings
from repayguard.platform.crypto import Keyring, Pseudonymizer, load_keyring

__all__ = [
    "KeyPaths",
    "derived_key",
    "key_paths",
    "open_checkpoints",
    "open_keyring",
    "open_pseudonymizer",
    "open_trusted_keys",
]


@dataclass(frozen=True, slots=True)
class KeyPaths:
    """The key files and checkpoint folder of one configuration (settings, else defaults)."""

    data_keys_file: Path
    data_keys_document: str | None
    signing_key_file: Path
    trusted_keys_file: Path | None
    checkpoint_dir: Path
    checkpoint_every: int
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
        create_missing=settings.env != "production",
    )


def open_keyring(paths: KeyPaths) -> Keyring:
    return load_keyring(
        file=paths.data_keys_file,
        document=paths.data_keys_document,
        create_missing=paths.create_missing,
    )


def open_pseudonymizer(settings: Settings) -> Pseudonymizer:
    return Pseudonymizer.from_secret(settings.security.secret_key.get_secret_value())


def derived_key(settings: Settings, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the configured secret (HMAC-SHA256), so
    one secret serves several uses without any two sharing a key."""
    secret = settings.security.secret_key.get_secret_value().encode()
    return hmac.new(secret, f"repayguard/{purpose}".encode(), hashlib.sha256).digest()


def open_checkpoints(paths: KeyPaths) -> CheckpointPolicy:
    signer = load_signer(paths.signing_key_file, create_missing=paths.create_missing)
    return CheckpointPolicy(paths.checkpoint_dir, signer, every=paths.checkpoint_every)


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
