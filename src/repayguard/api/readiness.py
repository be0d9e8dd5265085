"""Readiness as named checks: what ``GET /readyz`` answers (and ``/healthz`` reports).

- ``database``: a ``SELECT 1`` answers;
- ``migrations``: the database's Alembic revision is the head this code ships (a replica of a
  newer release before ``repayguard db upgrade``, or a database restored from an older backup,
  is not ready);
- ``authorize_view``: the in-memory entitlement view is loaded (``skipped`` in a process that
  serves no view);
- ``bus``: the state followed from the bus (view, token cache, engine) is no older than
  ``bus.max_view_age_seconds``; whether the bus is connected is said too.

Each check is ``{"status": "ok" | "failed" | "skipped", "detail": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Final

from sqlalchemy import text

from repayguard.bootstrap import Container
from repayguard.platform import schema
from repayguard.platform.bus import BusHealth

OK: Final = "ok"
FAILED: Final = "failed"
SKIPPED: Final = "skipped"


@dataclass(frozen=True, slots=True)
class Check:
    status: str
    detail: str

    def body(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail}


@dataclass
class Readiness:
    """The checks of one probe, in order, and the bus's health as read."""

    checks: dict[str, Check] = field(default_factory=dict)
    bus: BusHealth | None = None

    @property
    def ready(self) -> bool:
        return all(check.status != FAILED for check in self.checks.values())

    def body(self) -> dict[str, dict[str, str]]:
        return {name: check.body() for name, check in self.checks.items()}

    def summary(self) -> str:
        """The failed checks in words (the problem's detail)."""
        return "; ".join(
            f"{name}: {check.detail}"
            for name, check in self.checks.items()
            if check.status == FAILED
        )


@cache
def _heads() -> frozenset[str]:
    """The Alembic heads this code ships (read from the migration scripts once)."""
    return frozenset(schema.head_revisions())


def readiness(container: Container) -> Readiness:
    """Run every check (the database's two only when it answers)."""
    found = Readiness()
    found.checks["database"] = _database(container)
    if found.checks["database"].status == OK:
        found.checks["migrations"] = _migrations(container)
    else:
        found.checks["migrations"] = Check(SKIPPED, "the database does not answer")
    view = container.view
    found.checks["authorize_view"] = (
        Check(OK, f"{len(view):,} borrowers loaded")
        if view is not None
        else Check(SKIPPED, "this process serves no authorize view")
    )
    found.bus = container.bus.health()
    found.checks["bus"] = _bus(found.bus, container.settings.bus.max_view_age_seconds)
    return found


def _database(container: Container) -> Check:
    try:
        with container.session_factory() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        return Check(FAILED, f"the database does not answer ({type(exc).__name__})")
    return Check(OK, "answers")


def _migrations(container: Container) -> Check:
    try:
        current = schema.current_revisions(container.engine)
    except Exception as exc:
        return Check(FAILED, f"the schema revision cannot be read ({type(exc).__name__})")
    heads = _heads()
    if current == heads:
        return Check(OK, f"at {_revisions(current)}")
    return Check(
        FAILED,
        f"the database is at {_revisions(current)}, this release needs {_revisions(heads)}; "
        "run 'repayguard db upgrade'",
    )


def _bus(health: BusHealth, bound: float) -> Check:
    connected = "connected" if health.connected else "disconnected"
    if health.staleness_seconds <= bound:
        return Check(OK, f"{connected}; state {health.staleness_seconds:.1f} s old")
    why = (
        f"the state followed from the bus is {health.staleness_seconds:.1f} s old "
        f"(bound {bound:g} s)"
    )
    if health.disconnected_since is not None:
        why += f"; bus disconnected since {health.disconnected_since.isoformat()}"
    if health.problem:
        why += f"; {health.problem}"
    return Check(FAILED, why)


def _revisions(revisions: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(revisions)) if revisions else "no revision (an empty database)"
