"""A backup's manifest: what the folder holds, each file's SHA-256, and what a restore of it
must reproduce (the audit chain's head, the checksums of entitlements and decisions)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson

from repayguard.backup.checksums import TableChecksum
from repayguard.backup.errors import BackupInvalid

MANIFEST: Final = "manifest.json"
FORMAT: Final = "repayguard.backup/1"


@dataclass(frozen=True, slots=True)
class BackupFile:
    """One file of the backup, by its path inside the backup folder."""

    path: str
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """Everything a restore checks before and after it writes anything."""

    created_at: str
    version: str
    database: str
    """``sqlite`` or ``postgresql``: a backup restores into a store of the same kind."""
    schema_revisions: tuple[str, ...]
    chain_id: str | None
    head_seq: int
    head_hash: str
    checksums: dict[str, TableChecksum]
    files: tuple[BackupFile, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "format": FORMAT,
                "created_at": self.created_at,
                "version": self.version,
                "database": self.database,
                "schema_revisions": list(self.schema_revisions),
                "audit_head": {
                    "chain_id": self.chain_id,
                    "seq": self.head_seq,
                    "hash": self.head_hash,
                },
                "checksums": {name: c.as_dict() for name, c in self.checksums.items()},
                "files": [
                    {"path": f.path, "bytes": f.bytes, "sha256": f.sha256} for f in self.files
                ],
                "notes": list(self.notes),
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """The manifest of the backup in ``folder``; refused with the reason when it is missing
        or not a repayguard backup manifest."""
        path = folder / MANIFEST
        if not path.is_file():
            raise BackupInvalid(
                f"{folder} holds no {MANIFEST}: it is not a repayguard backup",
                hint="name the folder 'repayguard backup' wrote (it prints it when done)",
            )
        try:
            raw = orjson.loads(path.read_bytes())
            if raw.get("format") != FORMAT:
                raise ValueError(f"format is not {FORMAT!r}")
            head = raw["audit_head"]
            return cls(
                created_at=str(raw["created_at"]),
                version=str(raw["version"]),
                database=str(raw["database"]),
                schema_revisions=tuple(raw["schema_revisions"]),
                chain_id=head["chain_id"],
                head_seq=int(head["seq"]),
                head_hash=str(head["hash"]),
                checksums={
                    name: TableChecksum(int(c["rows"]), str(c["sha256"]))
                    for name, c in raw["checksums"].items()
                },
                files=tuple(
                    BackupFile(str(f["path"]), int(f["bytes"]), str(f["sha256"]))
                    for f in raw["files"]
                ),
                notes=tuple(raw.get("notes", ())),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupInvalid(f"{path} is not a valid backup manifest: {exc}") from None


def file_entry(folder: Path, path: Path) -> BackupFile:
    """The manifest entry of ``path`` (inside ``folder``), hashed in 1 MiB reads."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return BackupFile(path.relative_to(folder).as_posix(), path.stat().st_size, digest.hexdigest())


def check_files(folder: Path, manifest: Manifest) -> list[str]:
    """Every file the manifest lists is present with its size and hash (problems, in words)."""
    problems: list[str] = []
    for entry in manifest.files:
        path = folder / entry.path
        if not path.is_file():
            problems.append(f"{entry.path} is missing")
            continue
        found = file_entry(folder, path)
        if (found.bytes, found.sha256) != (entry.bytes, entry.sha256):
            problems.append(f"{entry.path} differs from the manifest (damaged or altered)")
    return problems


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync it (a backup is only as good as its last write)."""
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (after copies made with shutil)."""
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        descriptor = os.open(path, flags)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def as_dict(value: Any) -> Any:
    """Manifest values as plain data (``--json`` output)."""
    return orjson.loads(value.to_json()) if isinstance(value, Manifest) else value
