"""Who may make and decide requests, and how a payload is pinned."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

import orjson
from sqlalchemy.orm import Session

from repayguard.audit import canonical_json
from repayguard.errors import NotFound, PermissionDenied
from repayguard.identity import OperatorRead, find_operator, role_allows
from repayguard.identity.errors import OperatorRequired

INITIATE: Final[Mapping[str, str]] = {
    "policy_publish": "policies:write",
    "model_promote": "models:write",
    "override": "overrides:request",
    "emergency_review": "emergencies:request",
    "playbook_approve": "policies:write",
}
"""The permission a maker needs, besides ``approvals:request``, per kind a person may submit
(``decision`` requests are made by repayguard's decision runs only)."""
DECIDE: Final = "approvals:decide"


def payload_sha256(payload: Mapping[str, Any]) -> str:
    """The pinned hash: sha256 of the payload's canonical JSON (the audit chain's form)."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def canonical_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` as it reads back from a JSON column (dates as text, tuples as lists)."""
    value: dict[str, Any] = orjson.loads(canonical_json(payload))
    return value


def operator(session: Session, operator_id: str) -> OperatorRead:
    """The acting operator, who must exist and be active."""
    try:
        found = find_operator(session, operator_id=operator_id)
    except NotFound as exc:
        raise OperatorRequired(
            f"no operator with id {operator_id!r} can act on approvals",
            hint="act as an operator: an operator token, or --as USERNAME",
        ) from exc
    if not found.active:
        raise PermissionDenied(f"operator {found.username} is disabled")
    return found


def may_initiate(role: str, kind: str) -> bool:
    """Whether operators of ``role`` may ask for approvals of ``kind``."""
    needed = INITIATE.get(kind)
    return (
        needed is not None and role_allows(role, "approvals:request") and role_allows(role, needed)
    )
