"""The error tree: one base, each feature's refusals in its own module, and
``api/error_tree.py`` listing all of them (the OpenAPI document names refusals from it)."""

from __future__ import annotations

import importlib
import pkgutil

import repayguard
from repayguard.api import error_tree
from repayguard.errors import RepayguardError

# Modules that do something when imported: the policy commands' ``python -m`` entry, the
# columnar reader's child process, Alembic's migration scripts (run by Alembic only).
NOT_IMPORTED = ("__main__", "_sqlite_scan")
NOT_UNDER = "repayguard.platform.migrations"


def every_refusal() -> set[type[RepayguardError]]:
    for found in pkgutil.walk_packages(repayguard.__path__, prefix="repayguard."):
        if not found.name.endswith(NOT_IMPORTED) and not found.name.startswith(NOT_UNDER):
            importlib.import_module(found.name)
    seen: set[type[RepayguardError]] = set()
    todo = [RepayguardError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("repayguard.") and sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return seen


def test_the_tree_lists_every_refusal_defined_anywhere() -> None:
    listed = {getattr(error_tree, name) for name in error_tree.__all__}
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in every_refusal() - listed)
    assert not missing, f"add to src/repayguard/api/error_tree.py: {', '.join(missing)}"


def test_feature_refusals_live_in_errors_modules() -> None:
    for refusal in every_refusal():
        assert refusal.__module__.endswith("errors") or refusal.__module__ == "repayguard.errors", (
            f"{refusal.__name__} is defined in {refusal.__module__}: define refusals in the "
            "feature's errors.py, under repayguard.errors.RepayguardError"
        )


def test_every_code_names_one_refusal() -> None:
    by_code: dict[str, list[str]] = {}
    for refusal in every_refusal() | {RepayguardError}:
        by_code.setdefault(refusal.code, []).append(refusal.__name__)
    shared = {code: names for code, names in by_code.items() if len(names) > 1}
    assert not shared, f"codes used by more than one refusal: {shared}"
