"""Bus consumers of notices: write notices when entitlements change or become active, and
deliver new notices through the external channels right away."""

from __future__ import annotations

from collections.abc import Mapping

from repayguard.entitlements import EntitlementsActivated, EntitlementsChanged
from repayguard.notices.channels import Channel
from repayguard.notices.messages import NoticesCreated
from repayguard.notices.service import (
    DeliverNotices,
    NoticeSetup,
    RecordChanges,
    RetryPolicy,
    deliver_notices,
    record_changes,
)
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

IMMEDIATE_LIMIT = 50
"""Deliveries a ``notices.created`` message sends at once; a larger batch (a portfolio
re-decision) is left to the worker's delivery job, so the relay is never held up for long."""


class NoticeHandler:
    """Writes notices for ``repayguard.entitlements.changed`` (or, with ``activated``, for
    ``repayguard.entitlements.activated``). Wrap it with ``platform.consumers.idempotent``."""

    def __init__(self, *, setup: NoticeSetup, activated: bool = False) -> None:
        self._setup = setup
        self._activated = activated

    def __call__(
        self, message: Message[EntitlementsChanged | EntitlementsActivated], uow: UnitOfWork
    ) -> None:
        fact = message.fact
        record_changes(
            RecordChanges(
                fact.entitlements,
                activated=self._activated,
                told_at=fact.told_at if isinstance(fact, EntitlementsChanged) else None,
            ),
            uow=uow,
            setup=self._setup,
        )


class DispatchHandler:
    """Delivers the notices named by ``repayguard.notices.created`` through the external
    channels. Not wrapped by ``idempotent``: each row is claimed in the database before it is
    sent, which already keeps a redelivered message (or a worker) from sending it twice."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, channels: Mapping[str, Channel], retry: RetryPolicy
    ) -> None:
        self._uow = uow
        self._channels = channels
        self._retry = retry

    def __call__(self, message: Message[NoticesCreated]) -> None:
        ids = [notice.notice_id for notice in message.fact.notices]
        deliver_notices(
            DeliverNotices(notice_ids=ids[:IMMEDIATE_LIMIT], limit=IMMEDIATE_LIMIT),
            uow=self._uow,
            channels=self._channels,
            retry=self._retry,
        )
