"""The one publication that needs no approval: the shipped policy as version 1 of a new store.

A store must hold a published version before anything decides (only the store's versions are
in force). On ``repayguard db upgrade``, ``demo`` and any start-up that migrates, repayguard
publishes its shipped policy as version 1 of its name when no version of that name exists —
published by ``system``, with its content hash and its ``repayguard.policy.published``
message through the outbox, so the audit trail records it like any other publication. Every
later version goes through maker-checker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from repayguard.core.policy import Profiles
from repayguard.platform.uow import UnitOfWork
from repayguard.policies import repository
from repayguard.policies.errors import PolicyVersionConflict
from repayguard.policies.service import (
    PublishPolicy,
    VersionInfo,
    add_draft,
    publish_policy_within,
)
from repayguard.policies.sources import load_policy_text

SYSTEM: Final = "system"


@dataclass(frozen=True, slots=True)
class SeedPolicy:
    """Publish ``source`` (the shipped policy) as version 1 of its name if none is published."""

    source: str


def _nothing(uow: UnitOfWork, published: VersionInfo) -> None:
    return None


def seed_policy(
    cmd: SeedPolicy,
    *,
    uow: UnitOfWork,
    profiles: Profiles,
    also: Callable[[UnitOfWork, VersionInfo], None] = _nothing,
) -> VersionInfo | None:
    """The version published, or None when the store already holds one of that name.

    ``also`` runs in the same transaction after the publication (approvals withdraws publish
    requests whose stated number this version took). Two processes seeding at once: one
    publishes, the other finds the number taken and returns None.
    """
    policy = load_policy_text(cmd.source, profiles=profiles)
    try:
        with uow:
            if repository.latest_number(uow.session, policy.name):
                return None
            draft = add_draft(uow, cmd.source, policy, submitted_by=SYSTEM)
            published = publish_policy_within(
                PublishPolicy(draft.draft_id, SYSTEM, content_hash=draft.content_hash),
                uow=uow,
                profiles=profiles,
            )
            also(uow, published)
            uow.commit()
    except PolicyVersionConflict:
        return None  # published concurrently by another process: the store has its version 1
    return published
