"""Playbook and overlay use-cases: submit, approve (through approvals), arm, review, lift,
expire and lapse. Each commits once and says what happened on the outbox (hence the audit
trail); the segment's borrowers are re-decided by :mod:`repayguard.overlays.consumers` when
``repayguard.overlays.armed|lifted|expired|lapsed`` leaves the outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from repayguard.core.policy import Profiles
from repayguard.core.policy.overlay import Overlay
from repayguard.core.policy.playbook import (
    Playbook,
    PlaybookInvalid,
    check_playbook,
    load_playbook,
    playbook_of,
)
from repayguard.overlays import repository
from repayguard.overlays.errors import (
    OverlayNotActive,
    OverlayNotFound,
    OverlayReviewerNotAllowed,
    PlaybookNotApproved,
    PlaybookNotFound,
    PlaybookRefused,
    PlaybookVersionConflict,
)
from repayguard.overlays.messages import (
    OverlayArmed,
    OverlayChanged,
    OverlayExpired,
    OverlayLapsed,
    OverlayLifted,
    OverlayReviewed,
    PlaybookApproved,
    PlaybookSubmitted,
    overlay_fields,
)
from repayguard.overlays.models import (
    ACTIVE,
    APPROVED,
    ARMED,
    DRAFT,
    EXPIRED,
    LAPSED,
    LIFTED,
    REVIEWED,
    OverlayRow,
    PlaybookRow,
)
from repayguard.overlays.schemas import OverlayRead, PlaybookRead
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

_ENDED: Final[dict[str, type[OverlayChanged]]] = {
    LIFTED: OverlayLifted,
    EXPIRED: OverlayExpired,
    LAPSED: OverlayLapsed,
}


@dataclass(frozen=True, slots=True)
class SubmitPlaybook:
    """Store a playbook document (YAML) as a draft for a second person to approve."""

    text: str
    by: str


@dataclass(frozen=True, slots=True)
class ApprovePlaybook:
    """Approve exactly the draft pinned by ``content_hash`` (approvals applies it)."""

    name: str
    version: int
    content_hash: str
    approved_by: str


@dataclass(frozen=True, slots=True)
class ArmOverlay:
    """Arm the latest approved version of ``playbook`` (or ``version``) now."""

    playbook: str
    reason: str
    armed_by: str
    armed_by_id: str | None = None
    version: int | None = None
    incident_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewOverlay:
    """A second person endorses an armed overlay before its review deadline."""

    overlay_id: str
    reviewer: str
    reviewer_id: str


@dataclass(frozen=True, slots=True)
class LiftOverlay:
    overlay_id: str
    by: str
    reason: str = ""


def parse_checked(text: str, *, profiles: Profiles) -> Playbook:
    """A playbook document loaded and statically checked; PlaybookRefused names each finding."""
    try:
        playbook = load_playbook(text)
    except PlaybookInvalid as exc:
        raise PlaybookRefused(str(exc), findings=exc.findings) from None
    findings = check_playbook(playbook, profiles)
    if findings:
        raise PlaybookRefused(
            f"playbook {playbook.name} v{playbook.version} refused: " + "; ".join(findings),
            findings=findings,
        )
    return playbook


def submit_playbook(cmd: SubmitPlaybook, *, uow: UnitOfWork, profiles: Profiles) -> PlaybookRead:
    """Check and store a draft; the same document submitted again is returned unchanged."""
    playbook = parse_checked(cmd.text, profiles=profiles)
    with uow:
        session = uow.session
        found = repository.get_playbook(session, playbook.name, playbook.version)
        if found is not None:
            if found.content_hash != playbook.content_hash:
                raise PlaybookVersionConflict(
                    f"playbook {playbook.name} v{playbook.version} exists with other content",
                    hint="raise 'version' in the document to submit a change",
                )
            return PlaybookRead.of(found)
        row = PlaybookRow(
            name=playbook.name,
            version=playbook.version,
            content=playbook.model_dump(mode="json"),
            content_hash=playbook.content_hash,
            state=DRAFT,
            submitted_by=cmd.by,
            submitted_at=uow.clock.now(),
        )
        repository.add(session, row)
        read = PlaybookRead.of(row)
        uow.emit(Message(PlaybookSubmitted.of(read)))
        uow.commit()
    return read


def find_playbook(session: Session, name: str, version: int) -> PlaybookRead:
    row = repository.get_playbook(session, name, version)
    if row is None:
        raise PlaybookNotFound(
            f"no playbook {name} v{version}", hint="see 'repayguard playbooks list'"
        )
    return PlaybookRead.of(row)


def list_playbooks(session: Session) -> list[PlaybookRead]:
    return [PlaybookRead.of(row) for row in repository.playbooks(session)]


def approve_playbook_within(
    cmd: ApprovePlaybook, *, uow: UnitOfWork, profiles: Profiles
) -> PlaybookRead:
    """Approve the pinned draft inside the caller's unit of work (an approval's): its hash
    must be unchanged and it is checked again against today's jurisdiction profiles."""
    session = uow.session
    row = repository.get_playbook(session, cmd.name, cmd.version)
    if row is None:
        raise PlaybookNotFound(f"no playbook {cmd.name} v{cmd.version}")
    if row.content_hash != cmd.content_hash:
        raise PlaybookVersionConflict(
            f"playbook {cmd.name} v{cmd.version} changed since submission"
        )
    if row.state != DRAFT:
        raise PlaybookVersionConflict(f"playbook {cmd.name} v{cmd.version} is {row.state} already")
    findings = check_playbook(playbook_of(row.content), profiles)
    if findings:
        raise PlaybookRefused("; ".join(findings), findings=findings)
    row.state = APPROVED
    row.approved_by = cmd.approved_by
    row.approved_at = uow.clock.now()
    read = PlaybookRead.of(row)
    uow.emit(Message(PlaybookApproved.of(read)))
    return read


def arm_overlay(cmd: ArmOverlay, *, uow: UnitOfWork, profiles: Profiles) -> OverlayRead:
    """Arm an approved playbook: the overlay is in force from this commit, expires after the
    playbook's ``max_duration_hours`` and lapses unless reviewed within
    ``review_within_hours``. ``repayguard.overlays.armed`` makes every process apply it and
    re-decides the segment at once."""
    with uow:
        session = uow.session
        row = _approved(session, cmd.playbook, cmd.version)
        playbook = playbook_of(row.content)
        findings = check_playbook(playbook, profiles)  # G1/G2 again: profiles may have moved
        if findings:
            raise PlaybookRefused("; ".join(findings), findings=findings)
        now = uow.clock.now()
        overlay = OverlayRow(
            overlay_id=uuid.uuid4().hex,
            playbook_name=row.name,
            playbook_version=row.version,
            playbook_hash=row.content_hash,
            armed_by=cmd.armed_by,
            armed_by_id=cmd.armed_by_id,
            incident_id=cmd.incident_id,
            armed_at=now,
            expires_at=now + timedelta(hours=playbook.max_duration_hours),
            review_due_at=now + timedelta(hours=playbook.review_within_hours),
            state=ARMED,
            reason=cmd.reason,
        )
        repository.add(session, overlay)
        read = OverlayRead.of(overlay)
        uow.emit(Message(OverlayArmed(**overlay_fields(read), tiers=tuple(playbook.segment.tiers))))
        uow.commit()
    return read


def _approved(session: Session, name: str, version: int | None) -> PlaybookRow:
    row = (
        repository.latest_approved(session, name)
        if version is None
        else repository.get_playbook(session, name, version)
    )
    if row is None and version is None and repository.playbooks(session):
        raise PlaybookNotApproved(
            f"no approved version of playbook {name!r}",
            hint="submit it and have a second person approve it ('repayguard playbooks submit')",
        )
    if row is None:
        raise PlaybookNotFound(f"no playbook {name!r}", hint="see 'repayguard playbooks list'")
    if row.state != APPROVED:
        raise PlaybookNotApproved(f"playbook {name} v{row.version} is not approved")
    return row


def review_overlay(cmd: ReviewOverlay, *, uow: UnitOfWork) -> OverlayRead:
    """Record the after-the-fact review: a second person (never whoever armed it), before
    ``review_due_at``; without it the overlay lapses."""
    with uow:
        row = _active(uow.session, cmd.overlay_id)
        now = uow.clock.now()
        if row.armed_by_id == cmd.reviewer_id:
            raise OverlayReviewerNotAllowed(
                f"{cmd.reviewer} armed overlay {row.overlay_id} and may not review it",
                hint="a second person reviews an emergency overlay",
            )
        if row.state != ARMED:
            raise OverlayNotActive(f"overlay {row.overlay_id} was reviewed already")
        if now >= row.review_due_at:
            raise OverlayReviewerNotAllowed(
                f"the review of overlay {row.overlay_id} was due by "
                f"{row.review_due_at.isoformat()}; it lapses"
            )
        row.state, row.reviewed_by, row.reviewed_at = REVIEWED, cmd.reviewer, now
        read = OverlayRead.of(row)
        uow.emit(Message(OverlayReviewed(**overlay_fields(read))))
        uow.commit()
    return read


def lift_overlay(cmd: LiftOverlay, *, uow: UnitOfWork) -> OverlayRead:
    """End an overlay by hand; the segment is re-decided and methods restore with notices."""
    with uow:
        row = _active(uow.session, cmd.overlay_id)
        read = _end(
            row, LIFTED, by=cmd.by, now=uow.clock.now(), uow=uow, tiers=_tiers(uow.session, row)
        )
        uow.commit()
    return read


def expire_overlays(*, uow: UnitOfWork, limit: int = 100) -> list[OverlayRead]:
    """End every overlay past its expiry (``expired``) or, unreviewed, past its review
    deadline (``lapsed``): the worker's ``overlays.expire`` job."""
    with uow:
        now = uow.clock.now()
        ended = []
        for row in repository.overdue(uow.session, now, limit=limit):
            state = EXPIRED if row.expires_at <= now else LAPSED
            ended.append(
                _end(row, state, by="repayguard", now=now, uow=uow, tiers=_tiers(uow.session, row))
            )
        uow.commit()
    return ended


def _end(
    row: OverlayRow, state: str, *, by: str, now: datetime, uow: UnitOfWork, tiers: list[str]
) -> OverlayRead:
    row.state, row.lifted_by, row.lifted_at = state, by, now
    read = OverlayRead.of(row)
    uow.emit(Message(_ENDED[state](**overlay_fields(read), tiers=tuple(tiers))))
    return read


def _playbook(session: Session, row: OverlayRow) -> Playbook:
    """The playbook version an overlay was armed from."""
    found = repository.get_playbook(session, row.playbook_name, row.playbook_version)
    if found is None:
        raise PlaybookNotFound(f"playbook {row.playbook_name} v{row.playbook_version} is gone")
    return playbook_of(found.content)


def _tiers(session: Session, row: OverlayRow) -> list[str]:
    return list(_playbook(session, row).segment.tiers)


def _active(session: Session, overlay_id: str) -> OverlayRow:
    row = repository.get_overlay(session, overlay_id, lock=True)
    if row is None:
        raise OverlayNotFound(f"no overlay {overlay_id!r}", hint="see 'repayguard overlays list'")
    if row.state not in ACTIVE:
        raise OverlayNotActive(f"overlay {overlay_id} is {row.state}")
    return row


def list_overlays(session: Session, *, active_only: bool = False) -> list[OverlayRead]:
    return [OverlayRead.of(row) for row in repository.overlays(session, active_only=active_only)]


def active_overlays(session: Session) -> tuple[Overlay, ...]:
    """The overlays in force, in arming order, as the decision core applies them (each
    playbook's hash verified against the one the overlay was armed with)."""
    found = []
    for row in repository.active_in_arming_order(session):
        playbook = _playbook(session, row)
        if playbook.content_hash != row.playbook_hash:
            raise PlaybookVersionConflict(
                f"playbook {row.playbook_name} v{row.playbook_version} no longer matches the "
                f"hash overlay {row.overlay_id} was armed with"
            )
        found.append(Overlay.of(row.overlay_id, playbook))
    return tuple(found)
