"""Golden decisions of every shipped policy version: inputs -> the expected decision and reasons.

Each ``<policy name>/v<version>/cases.yaml`` pins the content hash of the shipped policy it was
written for: changing a shipped policy without a new version (and a new golden folder) fails
here, so a published version's behaviour never changes silently. Every case is decided in the
row form, the vectorized form and by zen-engine on the exported decision table.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
import zen

from repayguard.core.policy import CompiledPolicy, content_hash
from repayguard.core.policy.inputs import coerce_inputs
from repayguard.core.policy.jdm import matched_rules, to_jdm, zen_context
from repayguard.policies import compile_checked, load_policy_text, profiles
from repayguard.resources import read_text

GOLDEN = Path(__file__).parent
FOLDERS = sorted(path.parent for path in GOLDEN.glob("*/v*/cases.yaml"))


@cache
def golden(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((folder / "cases.yaml").read_text(encoding="utf-8"))
    return document


@cache
def compiled(resource: str) -> CompiledPolicy:
    known = profiles()
    return compile_checked(load_policy_text(read_text(resource), profiles=known), profiles=known)


def cases() -> list[Any]:
    out = []
    for folder in FOLDERS:
        for case in golden(folder)["cases"]:
            label = f"{folder.parent.name}/{folder.name}/{case['name']}"
            out.append(pytest.param(folder, case, id=label))
    return out


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f"{f.parent.name}/{f.name}")
def test_the_golden_folder_pins_the_shipped_policy_it_was_written_for(folder: Path) -> None:
    """The shipped file states no number (the store assigns it); the folder names the version
    the store publishes it as, and pins the hash decisions' lineage names for it."""
    document = golden(folder)
    policy = compiled(document["policy"]).policy
    assert policy.version is None, "a shipped policy is a draft: the store numbers versions"
    published = policy.model_copy(update={"version": str(document["version"])})
    assert (policy.name, f"v{published.version}") == (folder.parent.name, folder.name)
    assert content_hash(published) == document["content_hash"], (
        f"{document['policy']} changed: it is no longer version {published.version}; add "
        f"tests/golden/{policy.name}/v<next>/ for the version it will be published as"
    )


def test_every_shipped_policy_version_has_golden_cases() -> None:
    shipped = importlib_resources.files("repayguard.resources").joinpath("policies")
    covered = {golden(folder)["policy"] for folder in FOLDERS}
    for entry in shipped.iterdir():
        if entry.name.endswith(".yaml"):
            assert f"policies/{entry.name}" in covered, f"no golden cases for {entry.name}"


@pytest.mark.parametrize(("folder", "case"), cases())
def test_golden_case(folder: Path, case: dict[str, Any]) -> None:
    policy = compiled(golden(folder)["policy"])
    inputs = coerce_inputs(policy.policy, case["inputs"])
    expected = case["expect"]
    assert policy.evaluate_row(inputs).as_dict() == expected
    frame = pl.DataFrame(
        [{name: inputs.get(name) for name in policy.input_types}],
        schema={name: _dtype(kind) for name, kind in policy.input_types.items()},
    )
    assert policy.evaluate(frame).to_dicts() == [expected]
    decision = zen.ZenEngine().create_decision(json.dumps(to_jdm(policy.policy)))
    theirs = matched_rules(decision.evaluate(zen_context(inputs))["result"])
    if policy.hit_policy == "first":
        assert theirs == [expected["rule_id"]]
    else:
        assert (theirs or [expected["rule_id"]]) == expected["rule_ids"]


def _dtype(kind: str) -> pl.DataType:
    return {
        "number": pl.Float64(),
        "integer": pl.Int64(),
        "string": pl.String(),
        "boolean": pl.Boolean(),
        "date": pl.Date(),
    }[kind]
