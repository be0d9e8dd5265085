"""Signed checkpoints (Ed25519) of the chain head, written as files outside the database."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from repayguard.audit.chain import canonical_json
from repayguard.audit.errors import SigningKeyInvalid

CHECKPOINT_FORMAT: Final = "repayguard.audit.checkpoint/1"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"ed25519:{hashlib.sha256(raw).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: in chain ``chain_id``, record ``seq`` has hash ``hash``."""

    chain_id: str
    seq: int
    hash: str
    created_at: str
    key_id: str
    signature: str = ""

    def signed_body(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "chain_id": self.chain_id,
            "seq": self.seq,
            "hash": self.hash,
            "created_at": self.created_at,
            "key_id": self.key_id,
        }

    def file_name(self) -> str:
        return f"{self.seq:012d}-{self.chain_id[:12]}.json"

    def to_json(self) -> bytes:
        return orjson.dumps(
            {**self.signed_body(), "signature": self.signature}, option=orjson.OPT_INDENT_2
        )

    @classmethod
    def from_json(cls, data: bytes) -> Checkpoint:
        raw = orjson.loads(data)
        if raw.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"format is not {CHECKPOINT_FORMAT!r}")
        return cls(
            chain_id=str(raw["chain_id"]),
            seq=int(raw["seq"]),
            hash=str(raw["hash"]),
            created_at=str(raw["created_at"]),
            key_id=str(raw["key_id"]),
            signature=str(raw["signature"]),
        )


class CheckpointSigner:
    """Holds the Ed25519 private key that signs checkpoints (keep it off the database host's
    backups; auditors need only the public half)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def generate(cls) -> CheckpointSigner:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, *, chain_id: str, seq: int, hash_: str, created_at: str) -> Checkpoint:
        unsigned = Checkpoint(chain_id, seq, hash_, created_at, self.key_id)
        signature = self._key.sign(canonical_json(unsigned.signed_body()))
        return Checkpoint(
            chain_id, seq, hash_, created_at, self.key_id, base64.b64encode(signature).decode()
        )

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def trusted(self) -> TrustedKeys:
        return TrustedKeys({self.key_id: self.public_key})


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    """The public keys whose checkpoints ``verify`` accepts, by key id."""

    keys: Mapping[str, Ed25519PublicKey]

    def verifies(self, checkpoint: Checkpoint) -> bool:
        key = self.keys.get(checkpoint.key_id)
        if key is None:
            return False
        try:
            key.verify(
                base64.b64decode(checkpoint.signature, validate=True),
                canonical_json(checkpoint.signed_body()),
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def public_key_path(private_key_path: Path) -> Path:
    """Where the public half of a signing key file is kept: ``<name>.pub``."""
    return private_key_path.with_name(private_key_path.name + ".pub")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_signing_key(signer: CheckpointSigner, path: Path) -> None:
    """The private key (mode 0600) at ``path`` and its public half at ``<path>.pub``."""
    _write_private(path, signer.private_pem())
    public_key_path(path).write_bytes(signer.public_pem())


def load_signer(path: Path, *, create_missing: bool = False) -> CheckpointSigner:
    """The checkpoint signer from a PEM file; ``create_missing`` (development) makes one."""
    if not path.exists():
        if not create_missing:
            raise SigningKeyInvalid(
                f"the audit signing key {path} does not exist",
                hint=f"create it with 'repayguard keys generate --kind signing --out {path}'",
            )
        signer = CheckpointSigner.generate()
        write_signing_key(signer, path)
        return signer
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise SigningKeyInvalid(f"{path} is not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyInvalid(f"{path} is not an Ed25519 key")
    return CheckpointSigner(key)


def load_trusted_keys(path: Path) -> TrustedKeys:
    """Public keys from a file of one or more PEM blocks (SubjectPublicKeyInfo)."""
    text = path.read_bytes()
    keys: dict[str, Ed25519PublicKey] = {}
    marker = b"-----END PUBLIC KEY-----"
    for block in text.split(marker):
        if b"-----BEGIN PUBLIC KEY-----" not in block:
            continue
        try:
            key = serialization.load_pem_public_key(block.strip() + b"\n" + marker + b"\n")
        except ValueError as exc:
            raise SigningKeyInvalid(f"{path} holds an unreadable public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyInvalid(f"{path} holds a public key that is not Ed25519")
        keys[key_id_of(key)] = key
    if not keys:
        raise SigningKeyInvalid(f"{path} holds no public key")
    return TrustedKeys(keys)


def write_checkpoint(directory: Path, checkpoint: Checkpoint) -> Path:
    """Write a checkpoint file atomically and durably (fsync of file and folder)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / checkpoint.file_name()
    temporary = directory / f".{checkpoint.file_name()}.{secrets.token_hex(4)}.tmp"
    with temporary.open("wb") as handle:
        handle.write(checkpoint.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return path


@dataclass(frozen=True, slots=True)
class CheckpointFile:
    """A checkpoint file as found: parsed, or the reason it could not be."""

    path: Path
    checkpoint: Checkpoint | None
    error: str | None = None


def read_checkpoints(directory: Path) -> Iterator[CheckpointFile]:
    """Every ``*.json`` checkpoint file of ``directory``, by name (so by sequence)."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.json")):
        try:
            yield CheckpointFile(path, Checkpoint.from_json(path.read_bytes()))
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
            yield CheckpointFile(path, None, f"{type(exc).__name__}: {exc}")
