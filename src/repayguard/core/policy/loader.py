"""Load a policy from YAML text, running every static check and reporting all problems at once.

Refused, each finding naming the row and field: YAML or schema errors; duplicate row ids; a
condition-less row before the last; a default row that does not state every method; undeclared
channels; unknown reason codes; input declarations that do not fit their type; cells that do
not parse, name undeclared inputs or do not fit the input's type; rows no input can match,
rows shadowed under ``first`` and gaps without a default row (:mod:`checks`); an evaluation
cadence for a tier the ``tier`` input does not allow; and guardrails
G1, G2 (with the jurisdiction's profile) and G4 (:mod:`repayguard.core.policy.guardrails`).
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from repayguard.core.policy import guardrails
from repayguard.core.policy.analysis import policy_boxes
from repayguard.core.policy.checks import reachability
from repayguard.core.policy.ir import bind_cell, build_ir, dead_null_test
from repayguard.core.policy.jurisdiction import JurisdictionProfile, Profiles
from repayguard.core.policy.model import Outputs, Policy
from repayguard.core.policy.problems import PolicyInvalid, PolicyProblem
from repayguard.core.policy.safe_yaml import load_yaml
from repayguard.core.reasons import is_known


def parse_policy(text: str) -> Policy:
    """Parse (``yaml.safe_load``) and validate the structure only; raises PolicyInvalid."""
    try:
        raw: Any = load_yaml(text)
    except yaml.YAMLError as exc:
        raise PolicyInvalid([PolicyProblem(None, "yaml", f"not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise PolicyInvalid([PolicyProblem(None, "document", "a policy is a YAML mapping")])
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyInvalid(_schema_problems(raw, exc)) from exc


def load_policy(text: str, *, profiles: Profiles | None = None) -> Policy:
    """Parse and check a policy; raises PolicyInvalid with every problem.

    ``profiles`` (jurisdiction code -> profile) enable G2; without them G2 is not checked, so
    callers outside tests pass the shipped profiles (``repayguard.policies.profiles()``).
    """
    policy = parse_policy(text)
    problems = check_policy(policy, profiles=profiles)
    if problems:
        raise PolicyInvalid(problems)
    return policy


def check_policy(policy: Policy, *, profiles: Profiles | None = None) -> list[PolicyProblem]:
    """Every static check of a structurally valid policy; empty when it may be published."""
    problems = check_document(policy)
    cells_ok = True
    for row in policy.rows:
        for name, text in row.when.items():
            cell, problem = bind_cell(row.id, name, text, policy.inputs.get(name))
            if problem is not None:
                problems.append(problem)
                cells_ok = False
            elif cell is not None and (dead := dead_null_test(row.id, name, cell)) is not None:
                problems.append(dead)
    profile: JurisdictionProfile | None = None
    if profiles is not None:
        profile = profiles.get(policy.jurisdiction)
        if profile is None:
            problems.append(
                PolicyProblem(
                    None,
                    "jurisdiction",
                    f"no jurisdiction profile for "
                    f"{policy.jurisdiction!r}; known: {sorted(profiles)}",
                )
            )
    default = policy.default_row
    complete = default is None or _states_every_method(default.then)
    if not (cells_ok and complete):
        return problems + guardrails.check_policy(policy, profile=profile)
    ir = build_ir(policy)
    boxes = policy_boxes(ir.rows, policy.inputs)
    problems += reachability(policy, ir, boxes)
    return problems + guardrails.check_policy(policy, ir=ir, boxes=boxes, profile=profile)


def _states_every_method(then: Any) -> bool:
    return isinstance(then, Outputs) and None not in (
        then.auto_debit,
        then.early_repayment,
        then.manual,
        then.manual_channels,
    )


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
    if default is not None and not _states_every_method(default.then):
        problems.append(
            PolicyProblem(
                default.id,
                "then",
                "the default row must state auto_debit, early_repayment, "
                "manual and manual_channels (it is what other rows fall back to)",
            )
        )
    for name, spec in policy.inputs.items():
        where = f"inputs.{name}"
        if spec.enum is not None and spec.type != "string":
            problems.append(PolicyProblem(None, where, "enum is for string inputs"))
        bounded = spec.minimum is not None or spec.maximum is not None
        if bounded and spec.type not in ("number", "integer"):
            problems.append(PolicyProblem(None, where, "minimum/maximum are for number inputs"))
        if spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
            problems.append(PolicyProblem(None, where, "minimum is above maximum"))
    return problems + _evaluation_problems(policy)


def _evaluation_problems(policy: Policy) -> list[PolicyProblem]:
    """A cadence for a tier the policy's ``tier`` input cannot hold would never apply."""
    evaluation = policy.evaluation
    tier = policy.inputs.get("tier")
    if evaluation is None or tier is None or tier.enum is None:
        return []
    return [
        PolicyProblem(
            None,
            f"evaluation.tiers.{label}",
            f"unknown tier {label!r}; the tier input allows {', '.join(tier.enum)}",
        )
        for label in evaluation.tiers
        if label not in tier.enum
    ]


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
        problems.append(PolicyProblem(row_id, field, error["msg"].removeprefix("Value error, ")))
    return problems
