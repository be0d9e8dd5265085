"""The JDM conformance run: every shared sample graph imported, evaluated by repayguard and by
zen-engine on generated inputs, the full results compared. ``RESULTS`` keeps the outcome of
the run for the summary table printed at the end of the test session (tests/conftest.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zen
from jdm_inputs import generate, same

from repayguard.rules.jdm import GraphEvaluationError, GraphRefused, evaluate, import_graph

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "jdm-samples"
"""GoRules' own JDM test graphs (MIT, see LICENSE-gorules-zen there), kept with the tests."""
INPUTS_PER_GRAPH = 250
SEED = 20_260_301


@dataclass(frozen=True, slots=True)
class Outcome:
    """One graph's conformance: refused (with the reason) or imported and compared."""

    name: str
    refusal: str | None
    inputs: int = 0
    disagreements: int = 0
    example: str | None = None

    @property
    def imported(self) -> bool:
        return self.refusal is None

    @property
    def matches(self) -> bool:
        return self.imported and self.disagreements == 0


RESULTS: dict[str, Outcome] = {}


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.json"))


def _zen(decision: Any, request: dict[str, Any]) -> tuple[str, Any]:
    try:
        return ("ok", decision.evaluate(request)["result"])
    except RuntimeError as exc:  # zen-engine reports a failed evaluation this way
        return ("error", str(exc).splitlines()[0])


def _ours(graph: Any, request: dict[str, Any]) -> tuple[str, Any]:
    try:
        return ("ok", evaluate(graph, request))
    except GraphEvaluationError as exc:
        return ("error", str(exc))


def _agree(theirs: tuple[str, Any], ours: tuple[str, Any]) -> bool:
    if theirs[0] != ours[0]:
        return False
    return theirs[0] == "error" or same(theirs[1], ours[1])


def run_graph(path: Path, engine: zen.ZenEngine) -> Outcome:
    """Import one sample and compare with zen-engine on generated inputs.

    Both engines read the clock for ``date("now")``; a disagreement is retried twice, so a
    second ticking over between the two evaluations is not counted, while a real one is.
    """
    name = path.stem
    document = json.loads(path.read_text(encoding="utf-8"))
    try:
        graph = import_graph(document)
    except GraphRefused as refused:
        return Outcome(name, str(refused))
    decision = engine.create_decision(json.dumps(document))
    seeds = [t["input"] for t in document.get("tests", []) if isinstance(t.get("input"), dict)]
    inputs = generate(graph, seeds, limit=INPUTS_PER_GRAPH, seed=SEED)
    bad = 0
    example = None
    for request in inputs:
        for _ in range(3):
            theirs, ours = _zen(decision, request), _ours(graph, request)
            if _agree(theirs, ours):
                break
        else:
            bad += 1
            if example is None:
                example = (
                    f"input {json.dumps(request)[:300]}\n  zen-engine: {str(theirs)[:300]}"
                    f"\n  repayguard: {str(ours)[:300]}"
                )
    return Outcome(name, None, len(inputs), bad, example)


def run_all() -> dict[str, Outcome]:
    """Every sample's outcome (computed once per session)."""
    if not RESULTS:
        engine = zen.ZenEngine()
        for path in sample_files():
            RESULTS[path.stem] = run_graph(path, engine)
    return RESULTS


def summary_lines(results: dict[str, Outcome]) -> list[str]:
    """The conformance table: one line per graph, then the totals."""
    width = max((len(n) for n in results), default=10)
    lines = [f"{'graph':<{width}}  {'status':<9} {'inputs':>6} {'disagree':>8}  reason"]
    for outcome in results.values():
        if not outcome.imported:
            reason = (outcome.refusal or "").splitlines()
            lines.append(f"{outcome.name:<{width}}  {'refused':<9} {'-':>6} {'-':>8}  {reason[0]}")
            lines += [f"{'':<{width}}  {'':<9} {'':>6} {'':>8}  {r}" for r in reason[1:]]
            continue
        status = "matches" if outcome.matches else "DIFFERS"
        lines.append(
            f"{outcome.name:<{width}}  {status:<9} {outcome.inputs:>6} {outcome.disagreements:>8}"
        )
    total = len(results)
    imported = sum(o.imported for o in results.values())
    matching = sum(o.matches for o in results.values())
    share = matching / total if total else 0.0
    lines.append(
        f"{total} graphs: {imported} imported, {matching} match zen-engine on every input "
        f"({share:.1%}), {total - imported} refused"
    )
    return lines
