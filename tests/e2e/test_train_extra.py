"""Without the ``train`` extra (optbinning) — and without pandas — repayguard still demos,
serves, trains LightGBM and scores; training a scorecard says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

# Each process starts with the packages unimportable, as in an install without them: the path
# finder no longer finds them (so find_spec says None and an import fails as "No module named").
BLOCKED = ("optbinning", "pandas")
PRELUDE = """
import sys
from importlib.machinery import PathFinder

class Uninstalled(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            return None
        return PathFinder.find_spec(name, path, target)

sys.meta_path[:] = [Uninstalled if f is PathFinder else f for f in sys.meta_path]
"""
CLI = "from repayguard.cli.app import main\nmain()\n"
SERVE = """
from pathlib import Path
from fastapi.testclient import TestClient
from repayguard.api.app import create_server
from repayguard.bootstrap import bootstrap
from repayguard.cli.shared import load_settings, one_shot

with bootstrap(one_shot(load_settings(Path(sys.argv[1]))), serve_view=True) as built:
    with TestClient(create_server(built)) as client:
        print("healthz", client.get("/healthz").status_code)
assert not set({blocked!r}) & set(sys.modules), "a blocked package was imported"
"""

pytestmark = pytest.mark.slow


def run(
    code: str, *args: str, blocked: tuple[str, ...] = BLOCKED
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "REPAYGUARD_ENV": "development"}
    return subprocess.run(
        [sys.executable, "-c", PRELUDE.format(blocked=blocked) + code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def loans(path: Path, rows: int = 800) -> Path:
    """A small labelled table: debt and region raise the odds of 'bad'."""
    rng = np.random.default_rng(5)
    debt = rng.gamma(2.0, 1.0, rows)
    region = rng.choice(["A", "B", "C"], rows, p=[0.5, 0.3, 0.2])
    bad = rng.random(rows) < 1 / (1 + np.exp(-(-2.0 + 0.9 * debt + 1.0 * (region == "C"))))
    pl.DataFrame(
        {"id": np.arange(rows), "debt": debt, "region": region,
         "outcome": np.where(bad, "bad", "good")}
    ).write_csv(path)  # fmt: skip
    return path


def test_demo_serve_lightgbm_training_and_scoring_need_neither_optbinning_nor_pandas(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    demo = run(CLI, "demo", "--no-serve", "--borrowers", "60", "--months", "3",
               "--data-dir", str(data))  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    served = run(SERVE.format(blocked=BLOCKED), str(data))
    assert served.returncode == 0, served.stdout + served.stderr
    assert "healthz 200" in served.stdout
    table = loans(tmp_path / "loans.csv")
    trained = run(CLI, "model", "train", "--kind", "lightgbm", "--data", str(table),
                  "--target", "outcome", "--positive", "bad", "--exclude", "id", "--cv", "0",
                  "--trees", "20", "--data-dir", str(data))  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "lightgbm-v1" in trained.stdout
    out = tmp_path / "scores.csv"
    scored = run(CLI, "model", "score", "--model", "lightgbm-v1", "--data", str(table),
                 "--out", str(out), "--id-column", "id", "--data-dir", str(data))  # fmt: skip
    assert scored.returncode == 0, scored.stdout + scored.stderr
    scores = pl.read_csv(out)
    assert scores.height == 800
    assert scores["pd"].is_between(0, 1).all()


def test_training_a_scorecard_without_the_train_extra_says_what_to_install(
    tmp_path: Path,
) -> None:
    table = loans(tmp_path / "loans.csv", rows=200)
    data = tmp_path / "data"
    refused = run(CLI, "model", "train", "--data", str(table), "--target", "outcome",
                  "--positive", "bad", "--cv", "0", "--data-dir", str(data))  # fmt: skip
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0, said
    assert "Traceback" not in said
    assert "training a scorecard model needs optbinning, which is not installed" in said
    assert "pip install 'repayguard[train]'" in said
    assert "uv sync --extra train" in said
    assert not (data / "models").exists()  # refused before anything was read
