"""Gated changes have one way in: nothing in repayguard publishes a policy, promotes a model,
overrides a borrower's methods or releases a held decision except an approved request (and
the system's one seed: the shipped policy as version 1 of an empty store)."""

from __future__ import annotations

import ast
from pathlib import Path

import repayguard

SRC = Path(repayguard.__file__).parent
GATED = {
    "publish_policy": {"policies/service.py"},
    "publish_policy_within": {"policies/service.py", "policies/seed.py", "approvals/kinds.py"},
    "promote_model": {"risk/lifecycle.py"},
    "promote_model_within": {"risk/lifecycle.py", "approvals/kinds.py"},
    "apply_override": {"entitlements/approved.py", "approvals/kinds.py"},
    "release_decision": {"entitlements/approved.py", "approvals/kinds.py"},
}
"""Use-case → the only modules that may call it (its own, and approvals applying a request;
policies/seed.py publishes the shipped policy as version 1 of a store that has none)."""


def _calls(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name is not None:
                found.add(name)
    return found


def test_gated_use_cases_are_called_only_when_a_request_is_approved() -> None:
    offenders = [
        f"{path.relative_to(SRC)} calls {name}"
        for path in sorted(SRC.rglob("*.py"))
        for name in _calls(path) & set(GATED)
        if str(path.relative_to(SRC)) not in GATED[name]
    ]
    assert offenders == []


def test_the_check_sees_calls_through_a_module_and_by_name(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from x import promote_model\npromote_model(1)\npolicies.publish_policy(2)\n")
    assert _calls(sample) >= {"promote_model", "publish_policy"}
