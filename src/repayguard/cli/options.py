"""Options every command group shares: the data folder and JSON output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default: $REPAYGUARD_DATA_DIR or .repayguard)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
