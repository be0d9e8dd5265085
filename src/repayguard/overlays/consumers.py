"""Bus handlers of overlays: arm on a detector's incident, re-decide a segment when an overlay
starts or ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal, Protocol

from repayguard import decisions
from repayguard.core.policy import Profiles
from repayguard.core.policy.playbook import Playbook, playbook_of
from repayguard.decisions import DecideBorrowers, DecisionEngine, decide_borrowers
from repayguard.overlays import repository, service
from repayguard.overlays.messages import OverlayChanged
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

_EVERYONE: Final = timedelta(days=36_500)


class IncidentFacts(Protocol):
    """What overlays reads of an opened incident (monitoring publishes it, a layer above
    overlays: the entry points hand its fact over, overlays depends on these fields only)."""

    @property
    def incident_id(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def segment(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def deviation_sigma(self) -> float: ...
    @property
    def since(self) -> str: ...


@dataclass(frozen=True, slots=True)
class IncidentOpened:
    """An opened incident as overlays reads it."""

    incident_id: str
    metric: str
    segment: str
    direction: Literal["up", "down"]
    deviation_sigma: float
    since: date

    @classmethod
    def of(cls, facts: IncidentFacts) -> IncidentOpened:
        if facts.direction not in ("up", "down"):
            raise ValueError(f"incident direction must be up or down, not {facts.direction!r}")
        return cls(
            incident_id=facts.incident_id,
            metric=facts.metric,
            segment=facts.segment,
            direction="up" if facts.direction == "up" else "down",
            deviation_sigma=facts.deviation_sigma,
            since=date.fromisoformat(facts.since),
        )


class ArmOnIncident:
    """Handles ``repayguard.monitoring.incident_opened`` (the entry points subscribe it and
    hand over :meth:`IncidentOpened.of` monitoring's fact): arms every approved playbook (its
    latest approved version) whose ``arm_on`` names the incident's metric, segment and
    direction. Idempotent per incident: a playbook an incident armed once is not armed again.
    Each arming is its own unit of work; the handler's own one records the message."""

    def __init__(self, *, uow: UnitOfWorkFactory, profiles: Callable[[], Profiles]) -> None:
        self._uow = uow
        self._profiles = profiles

    def __call__(self, incident: IncidentOpened, uow: UnitOfWork) -> None:
        with self._uow() as reading:
            session = reading.session
            done = repository.armed_by_incident(session, incident.incident_id)
            latest: dict[str, Playbook] = {}
            for row in repository.playbooks(session, state="approved"):
                latest[row.name] = playbook_of(row.content)  # ordered by version: last wins
        for name, playbook in sorted(latest.items()):
            if name in done or not _arms(playbook, incident):
                continue
            # Each arming commits on its own (and re-decides the segment as soon as its message
            # leaves); a redelivered incident finds the playbooks it armed and skips them.
            service.arm_overlay(
                service.ArmOverlay(
                    playbook=name,
                    version=playbook.version,
                    reason=f"incident {incident.incident_id}: {incident.metric} "
                    f"{incident.direction} {incident.deviation_sigma:.1f} sigma in "
                    f"{incident.segment} since {incident.since.isoformat()}",
                    armed_by=f"incident:{incident.incident_id}",
                    incident_id=incident.incident_id,
                ),
                uow=self._uow(),
                profiles=self._profiles(),
            )
        with uow:
            uow.commit()  # records the incident as handled


def _arms(playbook: Playbook, incident: IncidentOpened) -> bool:
    """Whether the incident is one the playbook's ``arm_on`` lists."""
    seen = (incident.metric, incident.segment, incident.direction)
    return any((a.metric, a.segment, a.direction) == seen for a in playbook.arm_on)


class RedecideSegment:
    """Handles ``repayguard.overlays.armed|lifted|expired|lapsed``: the borrowers of the
    overlay's tiers (by their latest decision) are decided again at once with the overlays now
    in force (trigger ``overlay:<id>``), so a tightening applies and a lift restores through
    the normal path, with its notices. ``refresh`` first puts the store's overlays into this
    process's engine (the follower may not have run yet)."""

    def __init__(
        self,
        *,
        engine: Callable[[], DecisionEngine],
        refresh: Callable[[], None],
        reader: UnitOfWorkFactory,
        history_days: int,
    ) -> None:
        self._engine = engine
        self._refresh = refresh
        self._reader = reader
        self._history_days = history_days

    def __call__(self, message: Message[OverlayChanged], uow: UnitOfWork) -> None:
        self._refresh()
        tiers = [int(t[1:]) for t in message.fact.tiers]
        with self._reader() as reading:
            session, now = reading.session, reading.clock.now()
            borrowers = sorted(
                {
                    b
                    for tier in tiers
                    for b in decisions.due_borrowers(
                        session, tier=tier, before=now + _EVERYONE, inclusive=True, limit=10**9
                    )
                }
            )
        if not borrowers:
            with uow:
                uow.commit()  # nothing to decide; the message still counts as handled
            return
        decide_borrowers(
            DecideBorrowers(
                trigger=decisions.triggers.overlay(message.fact.overlay_id),
                borrower_ids=borrowers,
                mode="batch",
            ),
            uow=uow,
            engine=self._engine(),
            history_days=self._history_days,
        )
