"""Backup and restore on both databases: back up a store with decisions, entitlements,
personal data and an audit chain, delete it, restore into an empty store — the audit chain
verifies and the checksums of entitlements and decisions equal the source's; a damaged backup
or an occupied target is refused with nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from repayguard.backup import (
    BackupReport,
    BackupStore,
    RestoreStore,
    backup_store,
    restore_store,
)
from repayguard.backup.errors import BackupInvalid, RestoreRefused
from repayguard.bootstrap import Container, bootstrap
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.keys import key_paths, open_checkpoints
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.db import make_engine

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, fresh_database, make_settings


def fill(container: Container) -> None:
    events = [
        *failing_debits_history("B-1", NOW),
        *healthy_history("B-2", NOW),
        *healthy_history("B-3", NOW),
    ]
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)
    decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )


def back_up(container: Container, out: Path) -> BackupReport:
    paths = key_paths(container.settings)
    return backup_store(
        BackupStore(out=out),
        engine=container.engine,
        paths=paths,
        checkpoints=open_checkpoints(paths),
        clock=container.clock,
    )


@pytest.fixture
def source(database_url: str, tmp_path: Path, clock: FixedClock) -> BackupReport:
    """A backup of a filled store, whose original is then deleted (the files at least)."""
    settings = make_settings(database_url, tmp_path / "live")
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as container:
        fill(container)
        report = back_up(container, tmp_path / "backups")
    shutil.rmtree(tmp_path / "live")
    if database_url.startswith("sqlite"):
        for leftover in tmp_path.glob("repayguard.db*"):
            leftover.unlink()
    return report


def test_a_restored_store_verifies_and_matches_the_source(
    source: BackupReport, database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    manifest = source.manifest
    assert manifest.checksums["entitlements"].rows == 3
    assert manifest.checksums["decisions"].rows >= 3
    assert manifest.head_seq > 0
    assert {f.path for f in manifest.files} >= {"keys/data-keys.json", "keys/audit-signing.pem.pub"}

    with fresh_database(kind, tmp_path / "elsewhere") as target:
        paths = key_paths(make_settings(target, tmp_path / "restored"))
        engine = make_engine(target)
        try:
            report = restore_store(
                RestoreStore(source.folder), engine=engine, paths=paths, clock=clock
            )
        finally:
            engine.dispose()

        assert report.verify.ok, report.verify.problem
        assert report.verify.records == manifest.head_seq
        assert report.verify.latest_checkpoint == manifest.head_seq  # sealed before the copy
        assert report.checksums == manifest.checksums
        assert report.ok
        assert (
            paths.data_keys_file.read_bytes()
            == (source.folder / "keys/data-keys.json").read_bytes()
        )
        # The restored store serves: it opens at the current schema and reads its profiles.
        settings = make_settings(target, tmp_path / "restored")
        with bootstrap(settings, clock=clock, bus=RecordingBus()) as restored:
            assert restored.decision_engine.policy.name


def test_a_damaged_backup_is_refused_before_anything_is_written(
    source: BackupReport, database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    damaged = next(f for f in source.manifest.files if f.path.startswith("checkpoints/"))
    (source.folder / damaged.path).write_bytes(b"{}")

    with fresh_database(kind, tmp_path / "elsewhere") as target:
        paths = key_paths(make_settings(target, tmp_path / "restored"))
        engine = make_engine(target)
        try:
            with pytest.raises(BackupInvalid, match="differs from the manifest"):
                restore_store(RestoreStore(source.folder), engine=engine, paths=paths, clock=clock)
        finally:
            engine.dispose()
        assert not paths.checkpoint_dir.exists()
        assert not paths.data_keys_file.exists()


def test_a_restore_never_writes_into_an_occupied_store(
    source: BackupReport, database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    settings = make_settings(database_url, tmp_path / "occupied")
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as occupied:
        with pytest.raises(RestoreRefused, match="not empty"):
            restore_store(
                RestoreStore(source.folder),
                engine=occupied.engine,
                paths=key_paths(settings),
                clock=clock,
            )
        assert occupied.decision_engine.policy.name  # still there, untouched
