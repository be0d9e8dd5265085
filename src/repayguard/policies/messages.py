"""The messages policy versioning emits: a draft submitted, a version published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from repayguard.platform.messages import Fact


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySubmitted(Fact):
    """A checked policy stored as a draft, pinned by its content hash."""

    NAME = "repayguard.policy.submitted"

    draft_id: str
    name: str
    content_hash: str
    submitted_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyPublished(Fact):
    """A new version of a policy: every process running that policy swaps its engine."""

    NAME = "repayguard.policy.published"

    name: str
    version: int
    content_hash: str
    jurisdiction: str
    hit_policy: str
    rows: int
    draft_id: str
    published_by: str
    published_at: datetime


POLICY_SUBMITTED: Final = PolicySubmitted.NAME
POLICY_PUBLISHED: Final = PolicyPublished.NAME
