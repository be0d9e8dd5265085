"""Differential tests on generated expressions: repayguard and zen-engine agree on all of them.

Hypothesis draws seeds for :mod:`zen_fuzz`, which writes expressions over every operator,
function, closure, access, range and template form, unary tests, and random token soups (to
compare what each parser rejects). An agreement is: both fail, or the same value of the same
type; repayguard may also refuse a construct (ZenUnsupported), which is counted and bounded.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zen_fuzz import arithmetic, context, expression, soup, unary
from zen_samples import Mode, Outcome, same, zen_outcome

from repayguard.rules.zen import ZenError, ZenUnsupported, compile_expression, compile_unary

CASES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ours(mode: Mode, source: str, ctx: dict[str, Any]) -> Outcome | None:
    """Our outcome, or None when the construct is refused."""
    try:
        if mode == "unary":
            return Outcome(compile_unary(source).test(ctx.get("$"), ctx))
        return Outcome(compile_expression(source).evaluate(ctx))
    except ZenUnsupported:
        return None
    except ZenError as exc:
        return Outcome(error=str(exc))


def check(mode: Mode, write: Callable[[random.Random], str], seed: int) -> None:
    rng = random.Random(seed)
    source = write(rng)
    for _ in range(8):
        ctx = context(rng)
        mine = ours(mode, source, ctx)
        if mine is None:
            return
        theirs = zen_outcome(mode, source, ctx)
        if theirs.error is not None or mine.error is not None:
            assert theirs.error is not None, (source, ctx, theirs, mine)
            assert mine.error is not None, (source, ctx, theirs, mine)
        else:
            assert same(theirs.value, mine.value), (source, ctx, theirs, mine)


@CASES
@given(seed=st.integers(0, 2**63))
def test_generated_expressions_agree_with_zen_engine(seed: int) -> None:
    check("standard", expression, seed)


@CASES
@given(seed=st.integers(0, 2**63))
def test_generated_unary_tests_agree_with_zen_engine(seed: int) -> None:
    check("unary", unary, seed)


@CASES
@given(seed=st.integers(0, 2**63))
def test_decimal_arithmetic_keeps_the_engines_digits_and_scale(seed: int) -> None:
    check("standard", arithmetic, seed)


@CASES
@given(seed=st.integers(0, 2**63), mode=st.sampled_from(["standard", "unary"]))
def test_token_soups_are_rejected_exactly_where_zen_engine_rejects_them(
    seed: int, mode: Mode
) -> None:
    check(mode, soup, seed)


def test_generated_expressions_mostly_evaluate_and_are_rarely_refused() -> None:
    rng = random.Random(20250101)
    tally = {"value": 0, "error": 0, "refused": 0}
    for _ in range(2000):
        source, ctx = expression(rng), context(rng)
        mine = ours("standard", source, ctx)
        if mine is None:
            tally["refused"] += 1
        else:
            tally["error" if mine.error else "value"] += 1
    assert tally["value"] > 600
    assert tally["refused"] < 40  # fractional exponents, which the generator writes often
