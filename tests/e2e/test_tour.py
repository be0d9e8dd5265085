"""The README's tour, run as written (on a smaller book): it must show a real book — several
tiers populated and some restrictions — and so must a file of older history."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"
REPAYGUARD = str(Path(sys.executable).parent / "repayguard")
BORROWERS = "1500"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")}
    env["COLUMNS"] = "160"
    return subprocess.run(
        [REPAYGUARD, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def tour_commands() -> list[list[str]]:
    """The tour's commands up to the first decision run, as argument lists, with the book
    made smaller (``--borrowers``) so the test takes seconds."""
    text = README.read_text()
    block = re.search(r"## A tour\n\n```sh\n(.*?)```", text, re.DOTALL)
    assert block is not None, "the README has a tour"
    commands: list[list[str]] = []
    for line in block.group(1).splitlines():
        if not line.startswith(".venv/bin/repayguard "):
            continue
        words = shlex.split(line, comments=True)
        if "--borrowers" in words:
            words[words.index("--borrowers") + 1] = BORROWERS
        commands.append([REPAYGUARD, *words[1:]])
        if words[1:3] == ["decide", "--all"]:
            return commands
    raise AssertionError("the tour runs 'repayguard decide --all'")


def book(data_dir: Path) -> tuple[dict[int, int], int]:
    """Borrowers per tier, and how many have a method restricted or announced."""
    with sqlite3.connect(data_dir / "repayguard.db") as db:
        tiers = dict(db.execute("SELECT tier, count(*) FROM entitlements GROUP BY tier"))
        (restricted,) = db.execute(
            "SELECT count(*) FROM entitlements WHERE auto_debit != 'optional' "
            "OR early_repayment != 'allowed' OR manual != 'allowed'"
        ).fetchone()
    return tiers, int(restricted)


def assert_real_book(tiers: dict[int, int], restricted: int) -> None:
    total = sum(tiers.values())  # the few tightenings held for approval have no row yet
    assert total >= int(BORROWERS) * 0.9, tiers
    populated = [tier for tier, count in tiers.items() if count >= total * 0.03]
    assert len(populated) >= 4, f"several tiers populated: {tiers}"
    assert max(tiers.values()) <= total * 0.75, f"no tier holds nearly everyone: {tiers}"
    assert restricted > 0, "some borrowers have a method restricted"


@pytest.mark.slow
def test_the_readme_tour_shows_a_real_book(tmp_path: Path) -> None:
    for command in tour_commands():
        result = run(*command[1:], cwd=tmp_path)
        assert result.returncode == 0, (command, result.stdout, result.stderr)

    assert_real_book(*book(tmp_path / ".repayguard"))


@pytest.mark.slow
def test_an_imported_file_of_old_history_is_decided_as_of_its_data(tmp_path: Path) -> None:
    generated = run(
        "generate", "--borrowers", BORROWERS, "--start", "2024-01-01", "--out", "old", cwd=tmp_path
    )
    imported = run("ingest", "old", cwd=tmp_path)

    assert generated.returncode == 0, generated.stderr
    assert imported.returncode == 0, imported.stderr
    assert_real_book(*book(tmp_path / ".repayguard"))
    with sqlite3.connect(tmp_path / ".repayguard" / "repayguard.db") as db:
        (as_of,) = db.execute("SELECT as_of FROM decision_runs").fetchone()
    assert str(as_of).startswith("2024-12-"), "decided as of the file's newest event"
