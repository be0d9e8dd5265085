"""Policy-as-code: the decision-table document, its unary-test cells, loader and compiler."""

from __future__ import annotations

from repayguard.core.policy.cells import Cell, CellSyntaxError, parse_cell
from repayguard.core.policy.compiler import (
    DECISION_SCHEMA,
    CompiledPolicy,
    RowDecision,
    compile_policy,
    content_hash,
)
from repayguard.core.policy.loader import check_document, load_policy
from repayguard.core.policy.model import (
    Channel,
    HitPolicy,
    InputSpec,
    Methods,
    Outputs,
    Policy,
    Row,
    policy_json_schema,
)
from repayguard.core.policy.problems import PolicyInvalid, PolicyProblem

__all__ = [
    "DECISION_SCHEMA",
    "Cell",
    "CellSyntaxError",
    "Channel",
    "CompiledPolicy",
    "HitPolicy",
    "InputSpec",
    "Methods",
    "Outputs",
    "Policy",
    "PolicyInvalid",
    "PolicyProblem",
    "Row",
    "RowDecision",
    "check_document",
    "compile_policy",
    "content_hash",
    "load_policy",
    "parse_cell",
    "policy_json_schema",
]
