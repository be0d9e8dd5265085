"""``repayguard replay --verify`` as an operator runs it: on the demo store it prints identical
hashes and exits 0; after a decision is tampered with it names it and exits 1."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPAYGUARD = str(Path(sys.executable).parent / "repayguard")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REPAYGUARD, *args],
        cwd=cwd,
        env={"PATH": str(Path(sys.executable).parent), "COLUMNS": "160", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_replay_verify_on_the_demo_store_is_identical_until_a_decision_is_tampered_with(
    tmp_path: Path,
) -> None:
    store = tmp_path / "demo"
    built = _run("demo", "--no-serve", "--borrowers", "60", "--data-dir", str(store), cwd=tmp_path)
    assert built.returncode == 0, built.stderr

    shown = _run("replay", "--verify", "--data-dir", str(store), cwd=tmp_path)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "IDENTICAL" in shown.stdout
    stored, replayed = (
        line.split()[-1] for line in shown.stdout.splitlines() if line.startswith("decision log")
    )
    assert stored == replayed

    verified = json.loads(_run("replay", "--verify", "--json", "--data-dir", str(store),
                               cwd=tmp_path).stdout)  # fmt: skip
    assert verified["verdict"] == "identical"
    assert verified["decisions"]["stored"] == verified["decisions"]["replayed"] == stored
    assert sum(run["recomputed"] for run in verified["runs"]) == 60

    with sqlite3.connect(store / "repayguard.db") as db:
        db.execute("UPDATE decisions SET pd = pd + 0.01 WHERE borrower_id = 'B0000007'")
    tampered = _run("replay", "--verify", "--json", "--data-dir", str(store), cwd=tmp_path)
    assert tampered.returncode == 1
    found = json.loads(tampered.stdout)
    assert found["verdict"] == "divergent"
    assert found["divergences"][0]["borrower_id"] == "B0000007"
    assert found["divergences"][0]["field"] == "pd"
