"""The import contracts cover every top-level package the day it appears.

import-linter only checks the modules a contract names, so a new feature folder that no
contract lists would escape every rule. These tests derive the package list from the source
tree and say exactly what to add to ``[tool.importlinter]`` in pyproject.toml.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "repayguard"

# Libraries of their own at the bottom of the house: each imports nothing else of repayguard
# (the contract named first in the value), except the packages the value then allows.
SELF_CONTAINED = {
    "repayguard.core": ("The decision core is pure", {"repayguard.rules"}),
    "repayguard.rules": ("The rules engine", set()),
}


def top_level() -> set[str]:
    """Every top-level module of repayguard: feature folders and single-file modules."""
    names = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {f"repayguard.{n}" for n in names}


def contracts() -> list[dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        found: list[dict[str, Any]] = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    return found


def contract(starting: str) -> dict[str, Any]:
    (found,) = [c for c in contracts() if c["name"].startswith(starting)]
    return found


def test_the_layers_name_every_top_level_package() -> None:
    layers = contract("Layers:")["layers"]
    listed = {m.strip() for layer in layers for m in layer.split("|")}
    missing = sorted(top_level() - listed - {"repayguard.__main__"})
    assert not missing, (
        f"{', '.join(missing)} in no layer of the 'Layers:' contract: add each to the layer "
        "that matches what it imports and what imports it (pyproject.toml)"
    )
    assert not sorted(listed - top_level()), "the layers name packages that no longer exist"


def test_self_contained_libraries_forbid_every_other_package() -> None:
    every = top_level() - {"repayguard.__main__"}
    for source, (name, allowed) in SELF_CONTAINED.items():
        found = contract(name)
        assert found["source_modules"] == [source]
        forbidden = set(found["forbidden_modules"])
        assert not forbidden & allowed, f"'{found['name']}' forbids what {source} may import"
        missing = sorted(every - {source} - allowed - forbidden)
        assert not missing, (
            f"{source} may import {', '.join(missing)}: add them to forbidden_modules of the "
            f"contract '{found['name']}' (pyproject.toml)"
        )


def test_the_core_has_a_contract_for_its_own_layers() -> None:
    found = contract("Inside the decision core")
    assert found["containers"] == ["repayguard.core"]
    core = PACKAGE / "core"
    modules = {p.name for p in core.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules |= {p.stem for p in core.glob("*.py") if p.stem != "__init__"}
    listed = {m.strip() for layer in found["layers"] for m in layer.split("|")}
    assert sorted(modules - listed) == [], "a core module outside the core's layer contract"
