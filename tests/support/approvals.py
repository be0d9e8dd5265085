"""Builders for maker-checker tests: a team with every role, drafts, override payloads."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi.testclient import TestClient

from repayguard import policies
from repayguard.approvals import ApprovalContext
from repayguard.bootstrap import Container
from repayguard.identity import AddOperator, CreateToken, add_operator, create_token
from repayguard.resources import read_text

from support.builders import policy_text

CN = read_text("policies/cn-default.yaml")
TRIAL = "cn-credit-line-trial"
"""The name drafts get by default: the shipped policy's own name already has version 1 (the
store's seed), and a publication under it would change the policy in force."""
TEAM = {
    "ann": "analyst",
    "alan": "analyst",
    "amy": "admin",
    "adam": "admin",
    "pat": "approver",
    "paul": "approver",
    "cara": "cs_agent",
    "carl": "cs_agent",
    "aud": "auditor",
}
"""username → role: two of each role that makes or checks, one auditor."""

APPROVAL_POLICY = policy_text(
    "approval-test",
    """\
inputs:
  failed_debits_30d: {type: number}
hit_policy: first
rows:
  - id: needs-approval
    when: {failed_debits_30d: ">= 3"}
    then: {early_repayment: restricted, auto_debit: disabled}
    reasons: [REPEATED_FAILED_DEBITS]
    requires_approval: true
    notice_days: 3
    max_days: 30
    review_after_days: 14
""",
)
"""A policy whose tightening row requires approval (three failed debits in 30 days)."""


def make_team(container: Container) -> dict[str, str]:
    """Add the team as operators; username → operator id."""
    return {
        name: add_operator(AddOperator(name, role), uow=container.uow()).operator_id
        for name, role in TEAM.items()
    }


def team_tokens(container: Container, team: dict[str, str]) -> dict[str, str]:
    """An operator API token for each member of ``team``; username → token secret."""
    return {
        name: create_token(CreateToken("operator", name), uow=container.uow()).secret
        for name in team
    }


class Api:
    """The API as each member of the team (or anyone holding a token) calls it, by name."""

    def __init__(self, http: TestClient, tokens: dict[str, str]) -> None:
        self.http = http
        self.tokens = tokens

    def post(self, who: str, url: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.http.post(url, headers=headers, json=body or {})

    def get(self, who: str, url: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.http.get(url, headers=headers, params=params)


def context_of(container: Container) -> ApprovalContext:
    assert container.approvals is not None
    return container.approvals


def policy_source(name: str = TRIAL, *, note: str = "") -> str:
    """The shipped CN policy under another name (another subject), optionally reworded."""
    doc: dict[str, Any] = yaml.safe_load(CN)
    doc.pop("version", None)
    doc["name"] = name
    if note:
        doc["description"] = f"{doc['description']} {note}"
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def submit_draft(container: Container, name: str = TRIAL, note: str = "") -> str:
    """A stored draft's id."""
    draft = policies.submit_policy(
        policies.SubmitPolicy(policy_source(name, note=note), "ann"),
        uow=container.uow(),
        profiles=policies.profiles(),
    )
    return draft.draft_id


def override(borrower: str, **changes: Any) -> dict[str, Any]:
    """An override payload that gives every method back, for 10 days."""
    return {
        "borrower_id": borrower,
        "auto_debit": "optional",
        "early_repayment": "allowed",
        "manual": "allowed",
        "manual_channels": ["app_balance", "bank_card", "counter"],
        "reasons": ["MANUAL_OVERRIDE"],
        "days": 10,
        **changes,
    }
