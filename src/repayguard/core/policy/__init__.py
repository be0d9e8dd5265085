"""Policy-as-code: the decision-table document, its unary-test cells, checks and compiler."""

from __future__ import annotations

from repayguard.core.policy.cells import Cell, CellSyntaxError, parse_cell
from repayguard.core.policy.compiler import (
    DECISION_SCHEMA,
    OUTPUT_SCHEMA,
    CompiledPolicy,
    canonical_json,
    compile_policy,
    content_hash,
)
from repayguard.core.policy.jurisdiction import (
    JurisdictionProfile,
    ProfileInvalid,
    Profiles,
    load_profile,
)
from repayguard.core.policy.loader import check_document, check_policy, load_policy, parse_policy
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
from repayguard.core.policy.outcome import NO_MATCH, RowDecision, merge
from repayguard.core.policy.problems import PolicyInvalid, PolicyProblem
from repayguard.core.policy.semantics import zen_match

__all__ = [
    "DECISION_SCHEMA",
    "NO_MATCH",
    "OUTPUT_SCHEMA",
    "Cell",
    "CellSyntaxError",
    "Channel",
    "CompiledPolicy",
    "HitPolicy",
    "InputSpec",
    "JurisdictionProfile",
    "Methods",
    "Outputs",
    "Policy",
    "PolicyInvalid",
    "PolicyProblem",
    "ProfileInvalid",
    "Profiles",
    "Row",
    "RowDecision",
    "canonical_json",
    "check_document",
    "check_policy",
    "compile_policy",
    "content_hash",
    "load_policy",
    "load_profile",
    "merge",
    "parse_cell",
    "parse_policy",
    "policy_json_schema",
    "zen_match",
]
