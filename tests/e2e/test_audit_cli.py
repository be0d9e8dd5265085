"""``repayguard audit`` and ``repayguard keys`` as an operator runs them: real processes over a
real SQLite store, tampered with by hand."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from repayguard.audit import export_records
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers import SaveProfile, save_profile
from repayguard.config import Settings
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.keys import key_paths, open_keyring

from support.builders import healthy_history
from support.common import NOW
from support.tampering import reseal

REPAYGUARD = str(Path(sys.executable).parent / "repayguard")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")}
    env["COLUMNS"] = "160"
    command = [REPAYGUARD, *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def store(tmp_path: Path) -> Settings:
    """A data directory like the CLI's default one, with an audited history in it."""
    settings = Settings(data_dir=tmp_path / ".repayguard", bus={"relay": "inline"})
    container: Container
    with bootstrap(settings, migrate=True) as container:
        for n in range(3):
            ingest_events(
                IngestEvents(healthy_history(f"B-CLI-{n}", NOW), source="test"),
                uow=container.uow(),
                setup=container.ingest,
            )
        keyring = open_keyring(key_paths(settings))
        for n in range(4):
            save_profile(
                SaveProfile(borrower_id=f"B-CLI-{n}", name="韩梅梅", phone="13600000000"),
                uow=container.uow(),
                keyring=keyring,
            )
    return settings


def test_verify_export_and_checkpoint_on_an_untouched_store(
    store: Settings, tmp_path: Path
) -> None:
    checkpoint = run("audit", "checkpoint", cwd=tmp_path)
    verified = run("audit", "verify", "--json", cwd=tmp_path)
    exported = run("audit", "export", "--out", "audit.jsonl", "--since", "2020-01-01", cwd=tmp_path)
    offline = run("audit", "verify", "--export", "audit.jsonl", cwd=tmp_path)

    assert checkpoint.returncode == 0, checkpoint.stderr
    assert "Signed record" in checkpoint.stdout
    assert verified.returncode == 0, verified.stderr
    outcome = json.loads(verified.stdout)
    assert outcome["ok"] is True
    assert outcome["records"] == outcome["latest_checkpoint"] >= 7
    assert exported.returncode == 0, exported.stderr
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert len(lines) == outcome["records"] + 1  # and the signed end line
    assert json.loads(lines[-1])["seal"]["seq"] == outcome["records"]
    assert not any("B-CLI-" in line or "13600000000" in line for line in lines)
    assert offline.returncode == 0, offline.stderr
    assert "intact" in offline.stdout


def test_verify_names_the_first_tampered_record_and_exits_1(
    store: Settings, tmp_path: Path
) -> None:
    assert run("audit", "checkpoint", cwd=tmp_path).returncode == 0
    with sqlite3.connect(store.data_dir / "repayguard.db") as db:
        db.execute("DROP TRIGGER audit_records_no_update")
        db.execute("UPDATE audit_records SET actor = 'operator:mallory' WHERE seq = 2")

    broken = run("audit", "verify", cwd=tmp_path)

    assert broken.returncode == 1
    assert "BROKEN at record 2" in broken.stderr
    assert "altered" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_a_rewritten_chain_is_caught_by_the_checkpoint_files(
    store: Settings, tmp_path: Path
) -> None:
    assert run("audit", "checkpoint", cwd=tmp_path).returncode == 0
    export = tmp_path / "before.jsonl"
    assert run("audit", "export", "--out", str(export), cwd=tmp_path).returncode == 0
    # Re-hash the whole chain after changing record 1's actor: consistent, but not signed.
    records = export_records(export)
    forged = reseal([dataclasses.replace(records[0], actor="x"), *records[1:]], 0)
    with sqlite3.connect(store.data_dir / "repayguard.db") as db:
        db.execute("DROP TRIGGER audit_records_no_update")
        for record in forged:
            db.execute(
                "UPDATE audit_records SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (record.actor, record.prev_hash, record.hash, record.seq),
            )
        db.execute("UPDATE audit_head SET hash = ?", (forged[-1].hash,))

    broken = run("audit", "verify", cwd=tmp_path)

    assert broken.returncode == 1
    assert "rewritten" in broken.stderr


def test_keys_generate_refuses_to_overwrite_and_rotate_re_encrypts(
    store: Settings, tmp_path: Path
) -> None:
    made = run("keys", "generate", "--kind", "signing", "--out", "extra.pem", cwd=tmp_path)
    again = run("keys", "generate", "--kind", "signing", "--out", "extra.pem", cwd=tmp_path)
    before = open_keyring(key_paths(store)).active

    rotated = run("keys", "rotate", "--batch-size", "3", cwd=tmp_path)

    assert made.returncode == 0, made.stderr
    assert (tmp_path / "extra.pem.pub").exists()
    assert again.returncode == 3
    assert "never overwritten" in again.stderr
    assert rotated.returncode == 0, rotated.stderr
    assert "4 profiles re-encrypted" in rotated.stdout
    after = open_keyring(key_paths(store))
    assert after.active != before
    assert before in after.keys, "the old key stays until nothing needs it"
    with sqlite3.connect(store.data_dir / "repayguard.db") as db:
        key_ids = {row[0] for row in db.execute("SELECT key_id FROM borrower_profiles")}
    assert key_ids == {after.active}
    verified = run("audit", "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
