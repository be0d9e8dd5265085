"""The messages ingestion emits: a batch of new events stored, quarantined records moved to
the active key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from repayguard.platform.messages import Fact


@dataclass(frozen=True, slots=True, kw_only=True)
class EventsIngested(Fact):
    """New (not duplicate) events stored: the borrowers they concern are decided again."""

    NAME = "repayguard.events.ingested"

    batch_id: str
    accepted: int
    borrower_ids: tuple[str, ...]
    latest_occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineRotated(Fact):
    """A batch of quarantined records re-encrypted under the active data key."""

    NAME = "repayguard.ingestion.quarantine_rotated"

    subject: str
    key_id: str
    records: int


EVENTS_INGESTED: Final = EventsIngested.NAME
QUARANTINE_ROTATED: Final = QuarantineRotated.NAME
