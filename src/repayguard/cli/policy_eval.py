"""``repayguard policy eval``: decide each line of a JSONL file, bad lines reported in place."""

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


def _decide(compiled: CompiledPolicy, number: int, line: bytes) -> dict[str, Any]:
    raw = orjson.loads(line)
    if not isinstance(raw, dict):
        raise ValueError("a line must be a JSON object of inputs")
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
    report = EvalReport()
    pending = 0
    with source.open("rb") as lines, target.open("wb") as out:
        for number, line in enumerate(lines, start=1):
            report.lines += 1
            try:
                if not line.strip():
                    raise ValueError("empty line")
                record = _decide(compiled, number, line)
                report.decided += 1
            except (orjson.JSONDecodeError, ValueError) as exc:
                reason = _reason(exc)
                report.bad.append((number, reason))
                record = {"line": number, "error": reason}
            out.write(orjson.dumps(record) + b"\n")
            pending += 1
            if on_progress is not None and pending == _PROGRESS_EVERY:
                on_progress(pending)
                pending = 0
    if on_progress is not None and pending:
        on_progress(pending)
    return report


def _reason(exc: Exception) -> str:
    if isinstance(exc, InputsInvalid):
        return "; ".join(f"{name}: {why}" for name, why in exc.errors.items())
    if isinstance(exc, orjson.JSONDecodeError):
        return f"not valid JSON: {exc}"
    return str(exc)
