"""The messages playbooks and overlays emit (also their audit actions).

An overlay's messages carry the overlay as the API shows it (``OverlayRead``), its times in
that JSON form (``Z`` for UTC), so the payloads stay the bytes they have always been; the
overlays that start or end add the risk tiers they reach, which the re-decision reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Self

from repayguard.overlays.schemas import OverlayRead, PlaybookRead
from repayguard.platform.messages import Fact


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybookStep(Fact):
    """A playbook version submitted or approved, and by whom."""

    subject: str
    name: str
    version: int
    content_hash: str
    state: str
    by: str

    @classmethod
    def of(cls, read: PlaybookRead) -> Self:
        return cls(
            subject=f"playbook:{read.name}:{read.version}",
            name=read.name,
            version=read.version,
            content_hash=read.content_hash,
            state=read.state,
            by=read.approved_by or read.submitted_by,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybookSubmitted(PlaybookStep):
    NAME = "repayguard.playbooks.submitted"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybookApproved(PlaybookStep):
    NAME = "repayguard.playbooks.approved"


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayStep(Fact):
    """An overlay as it stands after the step (times as ISO text, as the API gives them)."""

    subject: str
    overlay_id: str
    playbook_name: str
    playbook_version: int
    playbook_hash: str
    armed_by: str
    incident_id: str | None
    armed_at: str
    expires_at: str
    review_due_at: str
    state: str
    reason: str
    reviewed_by: str | None
    reviewed_at: str | None
    lifted_by: str | None
    lifted_at: str | None


def overlay_fields(read: OverlayRead) -> dict[str, Any]:
    """The fields every overlay message takes from the overlay."""
    return {"subject": f"overlay:{read.overlay_id}", **read.model_dump(mode="json")}


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayReviewed(OverlayStep):
    NAME = "repayguard.overlays.reviewed"


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayChanged(OverlayStep):
    """An overlay started or ended: every process swaps the overlays in force and the
    overlay's tiers are decided again."""

    tiers: tuple[str, ...]
    """The risk tiers the overlay reaches."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayArmed(OverlayChanged):
    NAME = "repayguard.overlays.armed"


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayLifted(OverlayChanged):
    NAME = "repayguard.overlays.lifted"


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayExpired(OverlayChanged):
    NAME = "repayguard.overlays.expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayLapsed(OverlayChanged):
    NAME = "repayguard.overlays.lapsed"


CHANGES: Final[tuple[type[OverlayChanged], ...]] = (
    OverlayArmed,
    OverlayLifted,
    OverlayExpired,
    OverlayLapsed,
)
"""The messages that change which overlays are in force."""
PLAYBOOK_SUBMITTED: Final = PlaybookSubmitted.NAME
PLAYBOOK_APPROVED: Final = PlaybookApproved.NAME
OVERLAY_ARMED: Final = OverlayArmed.NAME
OVERLAY_REVIEWED: Final = OverlayReviewed.NAME
OVERLAY_LIFTED: Final = OverlayLifted.NAME
OVERLAY_EXPIRED: Final = OverlayExpired.NAME
OVERLAY_LAPSED: Final = OverlayLapsed.NAME
