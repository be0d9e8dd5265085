"""Every query of the policy tables; nothing here commits, and versions are never updated."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repayguard.policies.models import PolicyDraftRow, PolicyVersionRow


def add_draft(session: Session, draft: PolicyDraftRow) -> None:
    session.add(draft)


def get_draft(session: Session, draft_id: str) -> PolicyDraftRow | None:
    return session.get(PolicyDraftRow, draft_id)


def mark_published(session: Session, draft: PolicyDraftRow, version: int) -> None:
    """Record which version a draft became (the draft row, never the version, changes)."""
    draft.published_version = version


def add_version(session: Session, version: PolicyVersionRow) -> None:
    session.add(version)
    session.flush()  # a concurrent publish of the same number fails here, inside the use-case


def latest_number(session: Session, name: str) -> int:
    """The highest published version number of ``name`` (0 when none)."""
    found = session.scalar(
        select(func.max(PolicyVersionRow.version)).where(PolicyVersionRow.name == name)
    )
    return int(found or 0)


def get_version(session: Session, name: str, version: int | None) -> PolicyVersionRow | None:
    """One version of ``name``; the latest when ``version`` is None."""
    if version is not None:
        return session.get(PolicyVersionRow, (name, version))
    return session.scalars(
        select(PolicyVersionRow)
        .where(PolicyVersionRow.name == name)
        .order_by(PolicyVersionRow.version.desc())
        .limit(1)
    ).first()


def list_versions(
    session: Session, name: str | None, *, limit: int, offset: int
) -> tuple[Sequence[PolicyVersionRow], int]:
    """Versions (newest first per name) and the total count, optionally of one name."""
    query = select(PolicyVersionRow)
    counted = select(func.count()).select_from(PolicyVersionRow)
    if name is not None:
        query = query.where(PolicyVersionRow.name == name)
        counted = counted.where(PolicyVersionRow.name == name)
    rows = session.scalars(
        query.order_by(PolicyVersionRow.name, PolicyVersionRow.version.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, int(session.scalar(counted) or 0)
