"""The messages notices emit: notices written, and each external delivery's outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Self

from repayguard.platform.messages import Fact, JSONValue


@dataclass(frozen=True, slots=True)
class NoticeRef:
    """A notice as the messages name it: whose, which kind, about which decision or
    occasion."""

    notice_id: str
    borrower_id: str
    kind: str
    decision_id: str | None
    occasion_id: str | None = None

    def as_payload(self) -> dict[str, JSONValue]:
        """How ``repayguard.notices.created`` names the notice."""
        return {
            "notice_id": self.notice_id,
            "borrower_id": self.borrower_id,
            "kind": self.kind,
            "decision_id": self.decision_id,
            "occasion_id": self.occasion_id,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        return cls(
            notice_id=payload["notice_id"],
            borrower_id=payload["borrower_id"],
            kind=payload["kind"],
            decision_id=payload.get("decision_id"),
            occasion_id=payload.get("occasion_id"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticesCreated(Fact):
    """Notices written (each in the inbox already): the channels deliver them."""

    NAME = "repayguard.notices.created"

    notices: tuple[NoticeRef, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeDelivery(Fact):
    """One external delivery attempt's outcome."""

    notice_id: str
    delivery_id: str
    borrower_id: str
    channel: str
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeDelivered(NoticeDelivery):
    NAME = "repayguard.notices.delivered"


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeDeliveryFailed(NoticeDelivery):
    """The last attempt failed for good (``error``: the channel's answer, cut short)."""

    NAME = "repayguard.notices.delivery_failed"

    error: str | None


NOTICES_CREATED: Final = NoticesCreated.NAME
NOTICE_DELIVERED: Final = NoticeDelivered.NAME
NOTICE_DELIVERY_FAILED: Final = NoticeDeliveryFailed.NAME
