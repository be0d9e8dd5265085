"""Differential tests: every expression and cell of the shared JDM samples, against zen-engine.

Each sample expression is evaluated on 40 generated contexts by ``zen.evaluate_expression`` /
``zen.evaluate_unary_expression`` and by repayguard; both must fail, or both must return the
same value of the same type. None of the samples' constructs may be refused.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import zen
from zen_samples import Outcome, Sample, contexts, same, sample_expressions, zen_outcome

from repayguard.rules.zen import (
    ZenError,
    ZenUnsupported,
    compile_expression,
    compile_unary,
)

CONTEXTS_PER_SAMPLE = 40
SAMPLES = sample_expressions()
ROLES = sorted({s.role for s in SAMPLES})


def ours(sample: Sample, context: dict[str, Any]) -> Outcome:
    try:
        if sample.mode == "unary":
            return Outcome(compile_unary(sample.source).test(context.get("$"), context))
        return Outcome(compile_expression(sample.source).evaluate(context))
    except ZenUnsupported:
        raise
    except ZenError as exc:
        return Outcome(error=str(exc))


def agrees(sample: Sample, theirs: Outcome, mine: Outcome) -> bool:
    if theirs.error is not None or mine.error is not None:
        return theirs.error is not None and mine.error is not None
    if "'now'" in sample.source and isinstance(theirs.value, float):
        # the two engines read the clock a few microseconds apart
        return isinstance(mine.value, float) and abs(theirs.value - mine.value) <= 5
    return same(theirs.value, mine.value)


def test_samples_hold_every_expression_role() -> None:
    counts = Counter(s.role for s in SAMPLES)
    assert counts["unary-cell"] > 500
    assert counts["output-cell"] > 1000
    assert counts["expression"] > 250
    assert counts["field"] > 300
    assert counts["switch"] > 20
    assert counts["condition-cell"] > 100


@pytest.mark.parametrize("role", ROLES)
def test_sample_expressions_evaluate_as_zen_engine_does(role: str) -> None:
    mismatches: list[str] = []
    outcomes: Counter[str] = Counter()
    for sample in (s for s in SAMPLES if s.role == role):
        for context in contexts(sample, CONTEXTS_PER_SAMPLE):
            theirs = zen_outcome(sample.mode, sample.source, context)
            mine = ours(sample, context)
            outcomes["error" if theirs.error else "value"] += 1
            if not agrees(sample, theirs, mine):
                mismatches.append(f"{sample.source!r} on {context}: zen {theirs}, ours {mine}")
    assert not mismatches, f"{len(mismatches)} mismatches, e.g.\n" + "\n".join(mismatches[:10])
    # the contexts reach the success paths, not only type errors
    assert outcomes["value"] > outcomes["error"] / 4


def zen_compiles(sample: Sample) -> bool:
    compile_ = zen.compile_unary_expression if sample.mode == "unary" else zen.compile_expression
    try:
        compile_(sample.source)
    except Exception:  # the binding raises RuntimeError/Exception with a backtrace
        return False
    return True


def test_every_sample_compiles_exactly_where_zen_engine_compiles_it() -> None:
    for sample in SAMPLES:
        try:
            (compile_unary if sample.mode == "unary" else compile_expression)(sample.source)
            ours_ok = True
        except ZenUnsupported as exc:
            pytest.fail(f"a sample construct is refused: {exc}")
        except ZenError:
            ours_ok = False
        assert ours_ok == zen_compiles(sample), sample
