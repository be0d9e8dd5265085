"""Reading the audit trail for people: the chain's head and its records, newest first, narrowed
by action family, subject, actor or a borrower's pseudonym (the console's audit viewer).

Records are stored already redacted (borrowers as ``bp_…`` pseudonyms, personal fields
dropped), so what this returns may be shown as is. It never turns a pseudonym back into an id:
a caller looking for one borrower pseudonymises the id it was given and asks for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.sql.elements import ColumnElement

from repayguard.audit import repository
from repayguard.audit.checkpoints import Checkpoint
from repayguard.audit.models import AuditRecordRow
from repayguard.platform.db import table_of
from repayguard.platform.uow import UnitOfWork

_RECORDS = table_of(AuditRecordRow)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which records to read, newest first.

    ``action_prefixes``: the action starts with any of these (``repayguard.policy.``); none:
    every action. ``subject`` / ``actor``: starts with this text (``approval:``, ``operator:``).
    ``borrower``: a borrower's pseudonym (``bp_…``): records about them, made by them, or whose
    payload names them (an ingested batch, a run's entitlement changes) — the payload search
    reads every record older than ``before_seq`` until a page is full, so it is the slow one.
    ``before_seq``: only records older than this one (the next page).
    """

    action_prefixes: tuple[str, ...] = ()
    subject: str | None = None
    actor: str | None = None
    borrower: str | None = None
    before_seq: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One record as a reader sees it (the link fields stay for ``verify``)."""

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]
    hash: str

    @property
    def hash_prefix(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Records newest first; ``older`` is the ``before_seq`` of the next page (None: no more)."""

    items: list[AuditEntry] = field(default_factory=list)
    older: int | None = None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain ends and what the last signed checkpoint covers.

    ``checkpoint_at`` is the signing time read from the checkpoint file, when the file is in
    ``checkpoint_dir`` (the database records only the sequence number).
    """

    chain_id: str
    last_seq: int
    hash: str
    checkpoint_seq: int
    checkpoint_at: datetime | None


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.action_prefixes:
        where.append(
            or_(*(_RECORDS.c.action.startswith(p, autoescape=True) for p in query.action_prefixes))
        )
    if query.subject:
        where.append(_RECORDS.c.subject.startswith(query.subject, autoescape=True))
    if query.actor:
        where.append(_RECORDS.c.actor.startswith(query.actor, autoescape=True))
    if query.borrower:
        label = f"borrower:{query.borrower}"
        where.append(
            or_(
                _RECORDS.c.subject == label,
                _RECORDS.c.actor == label,
                # JSON as text on both backends; a pseudonym is hex, nothing to escape.
                cast(_RECORDS.c.payload, String).contains(query.borrower, autoescape=True),
            )
        )
    if query.before_seq is not None:
        where.append(_RECORDS.c.seq < query.before_seq)
    return where


def recent_records(query: AuditQuery, *, uow: UnitOfWork, limit: int = 50) -> AuditPage:
    """Up to ``limit`` records matching ``query``, newest first (a keyset page on ``seq``, so
    paging stays correct while new records are appended)."""
    statement = (
        select(
            _RECORDS.c.seq,
            _RECORDS.c.occurred_at,
            _RECORDS.c.actor,
            _RECORDS.c.action,
            _RECORDS.c.subject,
            _RECORDS.c.payload,
            _RECORDS.c.hash,
        )
        .where(*_conditions(query))
        .order_by(_RECORDS.c.seq.desc())
        .limit(limit + 1)
    )
    with uow:
        rows = uow.session.execute(statement).all()
    items = [
        AuditEntry(
            seq=int(r.seq),
            occurred_at=r.occurred_at,
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            payload=r.payload if isinstance(r.payload, dict) else {"value": r.payload},
            hash=r.hash,
        )
        for r in rows[:limit]
    ]
    older = items[-1].seq if len(rows) > limit else None
    return AuditPage(items, older)


def chain_head(*, uow: UnitOfWork, checkpoint_dir: Path | None) -> ChainHead | None:
    """The chain's head and last checkpoint; None when the head row is missing (then nothing
    can be appended, and ``verify`` says so)."""
    with uow:
        head = repository.read_head(uow.session)
    if head is None:
        return None
    return ChainHead(
        chain_id=head.chain_id,
        last_seq=head.seq,
        hash=head.hash,
        checkpoint_seq=head.checkpoint_seq,
        checkpoint_at=_signed_at(checkpoint_dir, head.chain_id, head.checkpoint_seq),
    )


def _signed_at(directory: Path | None, chain_id: str, seq: int) -> datetime | None:
    """When the checkpoint of ``seq`` was signed, from its file (unverified: only a time to
    show; ``verify`` checks the signatures). None when there is no such readable file."""
    if directory is None or seq == 0:
        return None
    path = directory / Checkpoint(chain_id, seq, "", "", "").file_name()
    try:
        return datetime.fromisoformat(Checkpoint.from_json(path.read_bytes()).created_at)
    except (OSError, ValueError, KeyError, TypeError):
        return None
