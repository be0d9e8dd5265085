"""Saved simulation reports: one folder per run under a root the caller names (the CLI and
the console use ``<data dir>/simulations``).

A run folder is ``<UTC timestamp>-<short id>`` (``20261207T114600Z-1a2b3c4d``, the id the
first 8 hex digits of the report JSON's sha256) and holds ``comparison.json`` (the
``--json`` document), ``report.html`` (the offline page) and ``summary.json`` — the run's
entry in the index: arms, size, seeds, the headline difference and the fairness warnings.
Listing reads the summaries of the folders whose names have that exact shape; a name of any
other shape is refused before any path is built, so nothing outside the root can be read.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

RUN_ID: Final = re.compile(r"\A\d{8}T\d{6}Z-[0-9a-f]{8}\Z")
HEADLINE: Final = "dpd30_rate"
"""The figure a listing shows for a run: its B − A difference with the interval."""
FILES: Final = ("comparison.json", "report.html", "summary.json")


@dataclass(frozen=True, slots=True)
class SavedRun:
    """One saved run's index entry."""

    run_id: str
    summary: dict[str, Any]


def save_run(root: Path, document: dict[str, Any], html: str, *, at: datetime) -> SavedRun:
    """Write a comparison (its ``as_json()`` document) and its HTML page under ``root``."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    run_id = f"{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    folder = root / run_id
    folder.mkdir(parents=True, exist_ok=True)
    summary = _summary(run_id, document, at)
    (folder / "comparison.json").write_text(text, encoding="utf-8")
    (folder / "report.html").write_text(html, encoding="utf-8")
    # The summary last: a folder without one (a run cut short) is not listed.
    (folder / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return SavedRun(run_id, summary)


def list_runs(root: Path) -> list[SavedRun]:
    """Every saved run under ``root``, newest first (none when the folder does not exist)."""
    if not root.is_dir():
        return []
    runs = []
    for folder in root.iterdir():
        if RUN_ID.match(folder.name) and (folder / "summary.json").is_file():
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            runs.append(SavedRun(folder.name, summary))
    return sorted(runs, key=lambda r: r.run_id, reverse=True)


def run_file(root: Path, run_id: str, name: str) -> Path | None:
    """The path of one of a run's :data:`FILES`, or None when the run id has another shape,
    the name is not one of those files, or the file does not exist under ``root``."""
    if not RUN_ID.match(run_id) or name not in FILES:
        return None
    base = root.resolve()
    path = (base / run_id / name).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def load_run(root: Path, run_id: str) -> tuple[SavedRun, dict[str, Any]] | None:
    """A run's index entry and its comparison document, or None when there is no such run."""
    summary, document = (
        run_file(root, run_id, "summary.json"),
        run_file(root, run_id, "comparison.json"),
    )
    if summary is None or document is None:
        return None
    return (
        SavedRun(run_id, json.loads(summary.read_text(encoding="utf-8"))),
        json.loads(document.read_text(encoding="utf-8")),
    )


def _summary(run_id: str, document: dict[str, Any], at: datetime) -> dict[str, Any]:
    params = document["parameters"]
    return {
        "run_id": run_id,
        "saved_at": at.astimezone(UTC).isoformat(),
        "arms": document["arms"],
        "borrowers": params["borrowers"],
        "months": params["months"],
        "seeds": params["seeds"],
        "headline": {"metric": HEADLINE, **document["metrics"][HEADLINE]["difference"]},
        "warnings": [w["text"] for w in document.get("fairness", {}).get("warnings", [])],
    }
