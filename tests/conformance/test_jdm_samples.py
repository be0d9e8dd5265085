"""Conformance: the shared JDM sample graphs, evaluated by repayguard and by zen-engine.

For every graph in ``tests/data/jdm-samples``: import it; generate inputs (values at and around
every cell boundary, strings from the cells, nulls, values of the wrong type, nested objects
for dotted paths, lists for loops, seeded random mixes, and the graph's own test inputs);
evaluate each with repayguard and with zen-engine and compare the full results (or that both
fail). The session prints the table at its end (a ``summary:`` property, see tests/conftest.py).
Any imported graph that disagrees on any input fails, and so does importing-and-matching fewer
than 90% of the graphs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from jdm_harness import Outcome, run_all, sample_files, summary_lines

NAMES = [p.stem for p in sample_files()]
# One worker runs them all: the outcomes are computed once per process.
pytestmark = pytest.mark.xdist_group("jdm-conformance")


@pytest.fixture(scope="session")
def outcomes() -> dict[str, Outcome]:
    return run_all()


def test_the_shared_samples_are_there() -> None:
    assert len(NAMES) >= 80, "expected the JDM samples in tests/data/jdm-samples"


@pytest.mark.parametrize("name", NAMES)
def test_an_imported_graph_agrees_with_zen_on_every_input(
    name: str, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes[name]
    if not outcome.imported:
        assert outcome.refusal, f"{name} was refused without a reason"
        return
    assert outcome.inputs >= 20, f"{name}: too few generated inputs ({outcome.inputs})"
    assert outcome.disagreements == 0, (
        f"{name}: {outcome.disagreements} of {outcome.inputs} inputs disagree, e.g.\n"
        f"{outcome.example}"
    )


def test_at_least_90_percent_of_the_samples_import_and_match(
    outcomes: dict[str, Outcome], record_property: Callable[[str, object], None]
) -> None:
    record_property("summary:JDM conformance against zen-engine", summary_lines(outcomes))
    matching = sum(o.matches for o in outcomes.values())
    assert matching >= 0.9 * len(outcomes), f"{matching} of {len(outcomes)} import and match"
