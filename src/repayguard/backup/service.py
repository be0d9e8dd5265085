"""Backup and restore of a whole store: the database, the keys that read it, and the signed
checkpoints that vouch for its audit chain, with a manifest of hashes.

A backup is consistent: SQLite's online backup API copies a snapshot of the live file, and
PostgreSQL's ``pg_dump`` runs on a snapshot exported from the transaction that also reads the
audit head and the checksums — so the manifest describes exactly the rows dumped. The chain's
head is sealed (signed) first, and only checkpoints up to the dumped head are kept: one signed
later would vouch for records the backup lacks and make the restored chain look truncated.

A restore writes only into an empty store, key set and checkpoint folder, checks every file
against the manifest first, then proves itself: ``audit verify`` over the restored chain with
the restored checkpoints, and the checksums of entitlements and decisions equal to the source's.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine, make_url, text

from repayguard import __version__
from repayguard.audit import (
    CheckpointPolicy,
    TrustedKeys,
    VerifyChain,
    VerifyReport,
    load_trusted_keys,
    read_checkpoints,
    verify_chain,
    write_checkpoint_now,
)
from repayguard.backup.checksums import TableChecksum, store_checksums
from repayguard.backup.errors import BackupFailed, BackupInvalid, BackupToolMissing, RestoreRefused
from repayguard.backup.manifest import (
    MANIFEST,
    Manifest,
    check_files,
    file_entry,
    fsync_tree,
    write_durably,
)
from repayguard.keys import KeyPaths
from repayguard.platform import schema
from repayguard.platform.clock import Clock
from repayguard.platform.db import make_engine, make_session_factory
from repayguard.platform.uow import UnitOfWork

SQLITE_FILE: Final = "repayguard.db"
POSTGRES_FILE: Final = "repayguard.pgdump"

Step = Callable[[str], None]
"""Told what the backup or restore is doing now (the CLI shows it)."""


@dataclass(frozen=True, slots=True)
class BackupStore:
    """Back the store up into a new folder under ``out``; ``keys`` also copies the key files
    (needed to read personal data and to keep signing: keep the backup as safe as the keys)."""

    out: Path
    keys: bool = True


@dataclass(frozen=True, slots=True)
class BackupReport:
    folder: Path
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class RestoreStore:
    """Restore the backup in ``source`` into the configured (empty) store."""

    source: Path


@dataclass(frozen=True, slots=True)
class RestoreReport:
    manifest: Manifest
    checksums: dict[str, TableChecksum]
    verify: VerifyReport

    @property
    def mismatched(self) -> list[str]:
        """Tables whose restored checksum differs from the source's."""
        return [t for t, c in self.manifest.checksums.items() if self.checksums.get(t) != c]

    @property
    def ok(self) -> bool:
        return self.verify.ok and not self.mismatched


def backup_store(
    cmd: BackupStore,
    *,
    engine: Engine,
    paths: KeyPaths,
    checkpoints: CheckpointPolicy | None,
    clock: Clock,
    step: Step = lambda _: None,
) -> BackupReport:
    """Write a consistent backup of the store into a new folder; it appears complete or not
    at all (written under a ``.partial`` name, fsynced, then renamed)."""
    now = clock.now()
    folder = cmd.out / f"repayguard-backup-{now:%Y%m%dT%H%M%SZ}"
    if folder.exists():
        raise RestoreRefused(f"{folder} already exists", hint="wait a second, or choose --out")
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        if checkpoints is not None:
            step("sealing the audit chain")
            write_checkpoint_now(
                checkpoints,
                uow=UnitOfWork(make_session_factory(engine), clock=clock),
                only_unsealed=True,
            )
        step("copying the database")
        kind = engine.dialect.name
        with _snapshot(engine, partial) as connection:
            head = _head(connection)
            checksums = store_checksums(connection)
        notes = list(_copy_keys(paths, partial / "keys", step) if cmd.keys else ())
        if not cmd.keys:
            notes.append("key files left out (--no-keys): restore needs them in place")
        step("copying signed checkpoints")
        _copy_checkpoints(paths.checkpoint_dir, partial / "checkpoints", upto=head[1])
        files = sorted(p for p in partial.rglob("*") if p.is_file())
        manifest = Manifest(
            created_at=now.isoformat(),
            version=__version__,
            database=kind,
            schema_revisions=tuple(sorted(schema.current_revisions(engine))),
            chain_id=head[0],
            head_seq=head[1],
            head_hash=head[2],
            checksums=checksums,
            files=tuple(file_entry(partial, p) for p in files),
            notes=tuple(notes),
        )
        write_durably(partial / MANIFEST, manifest.to_json())
        fsync_tree(partial)
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupReport(folder, manifest)


@contextmanager
def _snapshot(engine: Engine, folder: Path) -> Iterator[Connection]:
    """A connection on exactly the state copied into ``folder``."""
    if engine.dialect.name == "sqlite":
        source = make_url(engine.url).database
        assert source is not None
        target = folder / SQLITE_FILE
        with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
            live.backup(copy)
        live.close()
        copy.close()
        copied = make_engine(f"sqlite:///{target}")
        try:
            with copied.connect() as connection:
                yield connection
        finally:
            copied.dispose()
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        _run(
            "pg_dump",
            "--format=custom",
            "--no-owner",
            f"--snapshot={snapshot}",
            f"--file={folder / POSTGRES_FILE}",
            engine=engine,
        )
        yield connection
        connection.rollback()


def _head(connection: Connection) -> tuple[str | None, int, str]:
    row = connection.execute(text("SELECT chain_id, seq, hash FROM audit_head")).first()
    return (None, 0, "") if row is None else (str(row[0]), int(row[1]), str(row[2]))


def _copy_keys(paths: KeyPaths, target: Path, step: Step) -> Iterator[str]:
    step("copying key files")
    target.mkdir(mode=0o700)
    if paths.data_keys_document is not None:
        yield "data keys come from the environment (security.data_keys): not in this backup"
    for source in _key_files(paths):
        if source.exists():
            shutil.copy2(source, target / source.name)
            (target / source.name).chmod(0o600)


def _key_files(paths: KeyPaths) -> list[Path]:
    signing = paths.signing_key_file
    files = [signing, signing.with_name(signing.name + ".pub")]
    return files if paths.data_keys_document is not None else [paths.data_keys_file, *files]


def _copy_checkpoints(source: Path, target: Path, *, upto: int) -> None:
    target.mkdir()
    for found in read_checkpoints(source):
        if found.checkpoint is not None and found.checkpoint.seq <= upto:
            shutil.copy2(found.path, target / found.path.name)


def restore_store(
    cmd: RestoreStore, *, engine: Engine, paths: KeyPaths, clock: Clock, step: Step = lambda _: None
) -> RestoreReport:
    """Restore a backup into the empty store ``engine`` opens, then prove it."""
    step("checking the backup against its manifest")
    manifest = Manifest.read(cmd.source)
    problems = check_files(cmd.source, manifest)
    if problems:
        raise BackupInvalid(
            f"the backup in {cmd.source} is damaged: " + "; ".join(problems),
            hint="restore from another backup; this one cannot be trusted",
        )
    kind = engine.dialect.name
    if manifest.database != kind:
        raise RestoreRefused(f"the backup is of a {manifest.database} store, the target is {kind}")
    _refuse_unless_empty(engine, paths.checkpoint_dir)
    keys = _planned_keys(cmd.source / "keys", paths)
    step("restoring the database")
    if kind == "sqlite":
        target = make_url(engine.url).database
        assert target is not None
        shutil.copyfile(cmd.source / SQLITE_FILE, target)
        descriptor = os.open(target, os.O_RDONLY)
        os.fsync(descriptor)
        os.close(descriptor)
    else:
        _run(
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            str(cmd.source / POSTGRES_FILE),
            engine=engine,
        )
    step("restoring keys and checkpoints")
    for source, target_path in keys:
        target_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target_path)
    shutil.copytree(cmd.source / "checkpoints", paths.checkpoint_dir, dirs_exist_ok=True)
    step("verifying the restored store")
    engine.dispose()
    with engine.connect() as connection:
        checksums = store_checksums(connection)
    report = verify_chain(
        VerifyChain(checkpoint_dir=paths.checkpoint_dir, trusted=_trusted(cmd.source, paths)),
        uow=UnitOfWork(make_session_factory(engine), clock=clock),
    )
    return RestoreReport(manifest, checksums, report)


def _planned_keys(folder: Path, paths: KeyPaths) -> list[tuple[Path, Path]]:
    """Where each backed-up key file goes; refused when a different key is already there (a
    restore never replaces a key: data written with it would become unreadable)."""
    if not folder.is_dir():
        return []
    planned = []
    for target in _key_files(paths):
        source = folder / target.name
        if not source.is_file():
            continue
        if target.exists() and target.read_bytes() != source.read_bytes():
            raise RestoreRefused(
                f"{target} already holds a different key",
                hint="restore into a fresh data directory, or move the existing key aside",
            )
        planned.append((source, target))
    return planned


def _refuse_unless_empty(engine: Engine, checkpoint_dir: Path) -> None:
    if engine.dialect.name == "sqlite":
        database = make_url(engine.url).database
        occupied = (
            database is not None and Path(database).exists() and Path(database).stat().st_size
        )
    else:
        with engine.connect() as connection:
            occupied = connection.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            ).scalar_one()
    if occupied:
        raise RestoreRefused(
            f"the target store ({engine.url.render_as_string(hide_password=True)}) is not empty",
            hint="restore into a new, empty database (a restore never merges into live data)",
        )
    if checkpoint_dir.is_dir() and any(checkpoint_dir.iterdir()):
        raise RestoreRefused(
            f"the checkpoint folder {checkpoint_dir} is not empty",
            hint="restore with an empty audit.checkpoint_dir (or a fresh data directory)",
        )


def _trusted(source: Path, paths: KeyPaths) -> TrustedKeys:
    """The configured trusted keys, else the backed-up signing key's public half."""
    if paths.trusted_keys_file is not None:
        return load_trusted_keys(paths.trusted_keys_file)
    public = source / "keys" / (paths.signing_key_file.name + ".pub")
    if public.is_file():
        return load_trusted_keys(public)
    return TrustedKeys({})


def _run(tool: str, *args: str, engine: Engine) -> None:
    """Run a PostgreSQL client tool against ``engine``'s database (the password, if any, goes
    through the environment, never the command line)."""
    executable = shutil.which(tool)
    if executable is None:
        raise BackupToolMissing(
            f"{tool} is not installed",
            hint="install PostgreSQL's client tools (Debian: apt-get install postgresql-client)",
        )
    url = engine.url.set(drivername="postgresql")
    environment = {**os.environ}
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    target = url.set(password=None).render_as_string(hide_password=False)
    command = [executable, *args, f"--dbname={target}"]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupFailed(f"{tool} failed: {done.stderr.strip()[:2000]}")
