"""``repayguard policy eval``: decide each line of a JSONL file, bad lines reported in place
(the line loop and the outcome printed serve policies and imported decision graphs alike)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from repayguard.core.policy import CompiledPolicy
from repayguard.core.policy.inputs import InputsInvalid, coerce_inputs

_PROGRESS_EVERY = 10_000


@dataclass(slots=True)
class EvalReport:
    """Lines read, decided, and the bad ones with their 1-based line number and reason."""

    lines: int = 0
    decided: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


def _decide(compiled: CompiledPolicy, number: int, raw: dict[str, Any]) -> dict[str, Any]:
    inputs = coerce_inputs(compiled.policy, raw)
    decision = compiled.evaluate_row(inputs).as_dict()
    echoed = {"borrower_id": raw["borrower_id"]} if "borrower_id" in raw else {}
    return {"line": number, **echoed, **decision}


def evaluate_file(
    compiled: CompiledPolicy,
    source: Path,
    target: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> EvalReport:
    """Write one decision per input line to ``target``, in order. A line that is not a JSON
    object, or whose inputs do not fit the policy, becomes ``{"line": n, "error": ...}`` in its
    place and is listed in the report; every other line is still decided."""
    return evaluate_lines(
        source,
        target,
        lambda number, raw: _decide(compiled, number, raw),
        reason=_reason,
        every=_PROGRESS_EVERY,
        on_progress=on_progress,
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, InputsInvalid):
        return "; ".join(f"{name}: {why}" for name, why in exc.errors.items())
    return str(exc)


def evaluate_lines(
    source: Path,
    target: Path,
    decide: Callable[[int, dict[str, Any]], Any],
    *,
    reason: Callable[[Exception], str] = str,
    every: int,
    on_progress: Callable[[int], None] | None = None,
) -> EvalReport:
    """Write ``decide(line number, inputs)`` for each JSONL line of ``source`` to ``target``,
    in order. A line that is empty, not JSON or not a JSON object, or on which ``decide``
    raises a ValueError (inputs that do not fit, a graph that fails), becomes
    ``{"line": n, "error": reason(exc)}`` in its place and is listed in the report; every other
    line is still decided. ``on_progress`` hears of each ``every`` lines written, and of the
    rest at the end."""
    report = EvalReport()
    pending = 0
    with source.open("rb") as lines, target.open("wb") as out:
        for number, line in enumerate(lines, start=1):
            report.lines += 1
            record: Any
            try:
                if not line.strip():
                    raise ValueError("empty line")
                raw = orjson.loads(line)
                if not isinstance(raw, dict):
                    raise ValueError("a line must be a JSON object of inputs")
                record = decide(number, raw)
                report.decided += 1
            except orjson.JSONDecodeError as exc:
                record = _bad(report, number, f"not valid JSON: {exc}")
            except ValueError as exc:
                record = _bad(report, number, reason(exc))
            out.write(orjson.dumps(record) + b"\n")
            pending += 1
            if on_progress is not None and pending == every:
                on_progress(pending)
                pending = 0
    if on_progress is not None and pending:
        on_progress(pending)
    return report


def _bad(report: EvalReport, number: int, reason: str) -> dict[str, Any]:
    report.bad.append((number, reason))
    return {"line": number, "error": reason}


def print_outcome(
    report: EvalReport, headline: str, *, as_json: bool = False, out: Path | None = None
) -> None:
    """Print ``headline`` (what was evaluated into where) and the count of bad lines; with bad
    lines, also the first 20 with their problem, then exit with 1 (findings). With
    ``as_json``: one document with the counts, the output file and every bad line."""
    import typer

    from repayguard.cli.exits import FINDINGS
    from repayguard.cli.output import console, print_json

    if as_json:
        print_json(
            {
                "out": str(out) if out is not None else None,
                "lines": report.lines,
                "decided": report.decided,
                "bad": [{"line": number, "reason": why} for number, why in report.bad],
            }
        )
        if report.bad:
            raise typer.Exit(FINDINGS)
        return
    console.print(
        headline
        + (f"; [bold red]{len(report.bad):,} bad line(s)[/bold red]" if report.bad else ".")
    )
    if report.bad:
        from rich.table import Table

        table = Table(title=f"Bad lines (first {min(len(report.bad), 20)})", title_justify="left")
        table.add_column("line", justify="right")
        table.add_column("problem", overflow="fold")
        for number, message in report.bad[:20]:
            table.add_row(str(number), message)
        console.print(table)
        raise typer.Exit(FINDINGS)
