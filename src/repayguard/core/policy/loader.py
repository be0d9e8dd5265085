"""Load a policy from YAML text, running every static check and reporting all problems at once.

Refused: YAML or schema errors; duplicate row ids; a default row that is not last or does not
state every method; rows after a condition-less row (unreachable); undeclared channels; string
enums on non-string inputs; unknown reason codes; and everything ``guardrails.check_policy`` finds
(bad cells, unknown inputs, type mismatches, guardrail G1 with a counter-example).
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from repayguard.core import guardrails  # module import: guardrails imports this package
from repayguard.core.policy.model import Outputs, Policy
from repayguard.core.policy.problems import PolicyInvalid, PolicyProblem
from repayguard.core.reasons import is_known


def load_policy(text: str) -> Policy:
    """Parse (``yaml.safe_load``) and validate a policy; raises PolicyInvalid with every problem."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyInvalid([PolicyProblem(None, "yaml", f"not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise PolicyInvalid([PolicyProblem(None, "document", "a policy is a YAML mapping")])
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyInvalid(_schema_problems(raw, exc)) from exc
    problems = check_document(policy) + guardrails.check_policy(policy)
    if problems:
        raise PolicyInvalid(problems)
    return policy


def check_document(policy: Policy) -> list[PolicyProblem]:
    """Document-level checks beyond the schema (see the module docstring)."""
    problems: list[PolicyProblem] = []
    seen: set[str] = set()
    rows = policy.rows
    for index, row in enumerate(rows):
        if row.id in seen:
            problems.append(PolicyProblem(row.id, "id", "row ids must be unique"))
        seen.add(row.id)
        if not row.when and index < len(rows) - 1:
            problems.append(
                PolicyProblem(
                    row.id,
                    "when",
                    "only the last (default) row may have no conditions; "
                    "every row after this one is unreachable",
                )
            )
        if isinstance(row.then, Outputs):
            unknown = [c for c in row.then.manual_channels or () if c not in policy.channels]
            if unknown:
                problems.append(
                    PolicyProblem(
                        row.id, "then.manual_channels", f"undeclared channel(s) {unknown}"
                    )
                )
        for code in row.reasons:
            if not is_known(code):
                problems.append(PolicyProblem(row.id, "reasons", f"unknown reason code {code!r}"))
    default = policy.default_row
    if default.when:
        problems.append(PolicyProblem(default.id, "when", "the last row must be the default row, "
                                      "without conditions"))  # fmt: skip
    then = default.then
    if not isinstance(then, Outputs) or None in (
        then.auto_debit,
        then.early_repayment,
        then.manual,
        then.manual_channels,
    ):
        problems.append(
            PolicyProblem(
                default.id,
                "then",
                "the default row must state auto_debit, early_repayment, "
                "manual and manual_channels (it is what other rows fall back to)",
            )
        )
    for name, spec in policy.inputs.items():
        if spec.enum is not None and spec.type != "string":
            problems.append(PolicyProblem(None, f"inputs.{name}", "enum is for string inputs"))
    return problems


def _schema_problems(raw: dict[str, Any], exc: ValidationError) -> list[PolicyProblem]:
    rows = raw.get("rows")
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        row_id = None
        in_row = len(loc) >= 2 and loc[0] == "rows" and isinstance(loc[1], int)
        if in_row and isinstance(rows, list):
            assert isinstance(loc[1], int)
            row = rows[loc[1]] if loc[1] < len(rows) else None
            row_id = str(row.get("id")) if isinstance(row, dict) and "id" in row else f"#{loc[1]}"
            loc = loc[2:]
        field = ".".join(str(p) for p in loc) or "document"
        problems.append(PolicyProblem(row_id, field, error["msg"]))
    return problems
