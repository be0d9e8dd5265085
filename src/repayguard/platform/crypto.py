"""Field encryption (AES-256-GCM, key id with each ciphertext), keyrings and keyed pseudonyms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from repayguard.errors import KeyringInvalid, PersonalDataUnreadable

KEYRING_FORMAT: Final = "repayguard.keyring/1"
TOKEN_PREFIX: Final = "rg1"
_NONCE_BYTES: Final = 12  # 96-bit random nonce, the size GCM is specified for
_KEY_BYTES: Final = 32  # AES-256
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
log = structlog.get_logger(__name__)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_id() -> str:
    """A fresh, unguessable-enough key id (ids are not secret; they only name keys)."""
    return f"dk-{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class _Ring:
    """One loaded state of a keyring, validated and never changed: a reload swaps it whole."""

    active: str
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyringInvalid(f"the active data key {self.active!r} is not in the keyring")
        for key_id, key in self.keys.items():
            if not _KEY_ID.match(key_id):
                raise KeyringInvalid(f"data key id {key_id!r} is not [A-Za-z0-9_-]{{1,40}}")
            if len(key) != _KEY_BYTES:
                raise KeyringInvalid(f"data key {key_id!r} is not 32 bytes (AES-256)")


class Keyring:
    """The data keys: one active key encrypts, every listed key still decrypts.

    A ciphertext is the text ``rg1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``; the key
    id travels with it, so a rotated keyring keeps reading old values until they are
    re-encrypted. ``context`` (for example ``borrower_profiles/B1/phone``) is bound into the
    tag as associated data: a ciphertext copied to another row or field no longer decrypts.

    A keyring opened with a ``source`` (the configured file or document) follows rotations
    while the process runs: ``reload`` reads the source again and swaps the whole state in one
    assignment, and every call reads that state once, so a reader never sees half a ring and
    every holder of this one object sees the new keys. A ciphertext under a key id the ring
    does not know also reloads once before it is refused (at most every ``retry_every``
    seconds, so a bad record cannot turn every read into a file read): a process that missed
    the rotation message still reads what other processes wrote under the new key.
    """

    __slots__ = ("_lock", "_monotonic", "_retry_at", "_retry_every", "_ring", "_source")

    def __init__(
        self,
        active: str,
        keys: Mapping[str, bytes],
        *,
        source: Callable[[], Keyring] | None = None,
        retry_every: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ring = _Ring(active, MappingProxyType(dict(keys)))  # a copy nobody can change
        self._source = source
        self._retry_every = retry_every
        self._monotonic = monotonic
        self._retry_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def active(self) -> str:
        """The id of the key that encrypts new values."""
        return self._ring.active

    @property
    def keys(self) -> Mapping[str, bytes]:
        """Every key that still decrypts, by id."""
        return self._ring.keys

    def __repr__(self) -> str:
        ring = self._ring
        return f"Keyring(active={ring.active!r}, keys=<{len(ring.keys)} hidden>)"

    @classmethod
    def generate(cls, key_id: str | None = None) -> Keyring:
        """A keyring with one fresh random key."""
        key_id = key_id or new_key_id()
        return cls(active=key_id, keys={key_id: AESGCM.generate_key(bit_length=256)})

    def snapshot(self) -> Keyring:
        """The keys as they are now, as a keyring that never reloads: for work that must use
        one active key throughout (every field of one record)."""
        ring = self._ring
        return Keyring(ring.active, ring.keys)

    def with_new_active_key(self, key_id: str | None = None) -> Keyring:
        """This keyring plus a fresh key that becomes the active one (the old keys stay)."""
        ring = self._ring
        key_id = key_id or new_key_id()
        if key_id in ring.keys:
            raise KeyringInvalid(f"data key {key_id!r} already exists")
        return Keyring(key_id, {**ring.keys, key_id: AESGCM.generate_key(bit_length=256)})

    def without(self, key_id: str) -> Keyring:
        """This keyring less a retired key (never the active one)."""
        ring = self._ring
        if key_id == ring.active:
            raise KeyringInvalid("the active data key cannot be removed")
        return Keyring(ring.active, {k: v for k, v in ring.keys.items() if k != key_id})

    def reload(self) -> bool:
        """Read the keyring again from its source and swap it in whole; True when the keys or
        the active key changed. Raises ``KeyringInvalid`` (or ``OSError``) when the source
        cannot be read, and the keys in use stay. A keyring without a source keeps its keys."""
        if self._source is None:
            return False
        with self._lock:
            return self._swap_from_source()

    def _swap_from_source(self) -> bool:
        assert self._source is not None
        fresh = self._source()._ring
        before, self._ring = self._ring, fresh
        return (fresh.active, dict(fresh.keys)) != (before.active, dict(before.keys))

    def _ring_knowing(self, key_id: str) -> _Ring:
        """The ring, reloaded once if it lacks ``key_id`` and the last such reload is more
        than ``retry_every`` ago; an unreadable source leaves the ring as it was."""
        ring = self._ring
        if key_id in ring.keys or self._source is None:
            return ring
        with self._lock:
            ring = self._ring
            if key_id in ring.keys:  # another thread reloaded while this one waited
                return ring
            now = self._monotonic()
            if now < self._retry_at:
                return ring
            self._retry_at = now + self._retry_every
            try:
                self._swap_from_source()
            except (KeyringInvalid, OSError) as exc:
                log.warning("keyring_reload_failed", key_id=key_id, error=str(exc))
            return self._ring

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext`` under the active key with a fresh random nonce."""
        ring = self._ring
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(ring.keys[ring.active]).encrypt(
            nonce, plaintext.encode("utf-8"), _aad(ring.active, context)
        )
        return f"{TOKEN_PREFIX}.{ring.active}.{_b64(nonce + sealed)}"

    def decrypt(self, token: str, *, context: str) -> str:
        """The plaintext of a ciphertext made for ``context`` by any key of this keyring (one
        it does not know yet first reloads it from its source, see the class)."""
        key_id, blob = _split(token)
        key = self._ring_knowing(key_id).keys.get(key_id)
        if key is None:
            raise PersonalDataUnreadable(
                f"a value is encrypted under data key {key_id!r}, which is not in the keyring",
                hint="restore that key into the keyring (keys are never dropped before "
                "'repayguard keys rotate' has re-encrypted every value)",
            )
        try:
            plain = AESGCM(key).decrypt(
                blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _aad(key_id, context)
            )
        except InvalidTag:
            raise PersonalDataUnreadable(
                f"an encrypted value failed authentication ({context}): it was altered or moved"
            ) from None
        return plain.decode("utf-8")

    def key_id_of(self, token: str) -> str:
        """The id of the key a ciphertext was made with."""
        return _split(token)[0]

    def to_json(self) -> str:
        """The keyring as a JSON document (secret: store it like a password)."""
        ring = self._ring
        return json.dumps(
            {
                "format": KEYRING_FORMAT,
                "active": ring.active,
                "keys": {k: base64.b64encode(v).decode("ascii") for k, v in ring.keys.items()},
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, document: str, *, source: str = "keyring") -> Keyring:
        try:
            data = json.loads(document)
            if data.get("format") != KEYRING_FORMAT:
                raise ValueError(f"format is not {KEYRING_FORMAT!r}")
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
            return cls(active=str(data["active"]), keys=keys)
        except KeyringInvalid:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyringInvalid(
                f"the {source} is not a repayguard keyring: {exc}",
                hint="create one with 'repayguard keys generate'",
            ) from None


def _aad(key_id: str, context: str) -> bytes:
    return f"{TOKEN_PREFIX}|{key_id}|{context}".encode()


def _split(token: str) -> tuple[str, bytes]:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise PersonalDataUnreadable("a stored value is not a repayguard ciphertext")
    try:
        blob = _unb64(parts[2])
    except ValueError:
        raise PersonalDataUnreadable("a stored ciphertext is not valid base64") from None
    if len(blob) < _NONCE_BYTES + 16:
        raise PersonalDataUnreadable("a stored ciphertext is truncated")
    return parts[1], blob


def write_keyring(keyring: Keyring, path: Path) -> None:
    """Write the keyring file atomically, readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(keyring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def load_keyring(
    *, file: Path | None, document: str | None = None, create_missing: bool = False
) -> Keyring:
    """The keyring from an environment value (``document``) or else a key file.

    ``create_missing`` (development only) writes a fresh keyring when the file does not exist;
    otherwise a missing keyring is a configuration error named with what to run.
    """
    if document:
        return Keyring.from_json(document, source="keyring in the environment")
    if file is None:
        raise KeyringInvalid("no data keyring is configured", hint="run 'repayguard keys generate'")
    if not file.exists():
        if not create_missing:
            raise KeyringInvalid(
                f"the data keyring {file} does not exist",
                hint=f"create it with 'repayguard keys generate --out {file}'",
            )
        keyring = Keyring.generate()
        write_keyring(keyring, file)
        return keyring
    return Keyring.from_json(file.read_text(encoding="utf-8"), source=f"file {file}")


def derive_key(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose derived from the service secret (HKDF-SHA256), so the
    secret itself never keys two different things."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"repayguard/{purpose}".encode()
    ).derive(secret.encode("utf-8"))


class Pseudonymizer:
    """Keyed pseudonyms (HMAC-SHA256): the same borrower always maps to the same token, and
    without the key a token cannot be linked back to the borrower, even by guessing ids."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise KeyringInvalid("a pseudonym key must be at least 32 bytes")
        self._key = key

    @classmethod
    def from_secret(cls, secret: str) -> Pseudonymizer:
        """Derive the pseudonym key from the service secret (HKDF, its own purpose label), so
        the secret itself is never used as an HMAC key elsewhere."""
        return cls(derive_key(secret, "pseudonym/v1"))

    def pseudonym(self, value: str, *, kind: str = "borrower") -> str:
        """``bp_`` + 128 bits of HMAC for a borrower id; other kinds get their own prefix and
        domain, so equal strings of different kinds do not collide."""
        digest = hmac.digest(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256)
        return f"{kind[0]}p_{digest[:16].hex()}"

    def __repr__(self) -> str:
        return "Pseudonymizer(<key hidden>)"
