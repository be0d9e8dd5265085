"""Decision runs as others read them: what ran when and why (``repayguard decide runs``), and
the borrowers whose latest decision is old enough to be due again (the worker's cadence)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from repayguard.decisions import repository
from repayguard.decisions.models import DecisionRunRow
from repayguard.platform.records import record_of


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One decision run: its driver (``mode``), its cause (``trigger``), the decision time,
    how many borrowers it decided and changed, and the model and policy it decided with."""

    run_id: str
    mode: str
    trigger: str
    as_of: datetime
    started_at: datetime
    borrowers: int
    changed: int
    tightened: int
    loosened: int
    model_version: str
    policy_version: str
    policy_hash: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["started_at"] = self.started_at.isoformat()
        return data


def _info(row: DecisionRunRow) -> RunInfo:
    return record_of(RunInfo, row)


def recent_runs(session: Session, *, limit: int = 20) -> list[RunInfo]:
    """The latest decision runs, newest first (at most ``limit``)."""
    return [_info(row) for row in repository.recent_runs(session, limit=limit)]


def due_borrowers(
    session: Session, *, tier: int, before: datetime, inclusive: bool, limit: int
) -> list[str]:
    """Up to ``limit`` borrowers in ``tier`` (by their latest decision) last decided before
    ``before`` (or at it, when ``inclusive``), read in the caller's transaction."""
    return repository.due(session, tier=tier, before=before, inclusive=inclusive, limit=limit)
