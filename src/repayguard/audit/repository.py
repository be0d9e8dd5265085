"""Every query of the audit trail: lock and move the head, append, stream records in order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from repayguard.audit.chain import ChainRecord
from repayguard.audit.models import AuditHeadRow, AuditRecordRow
from repayguard.platform.db import table_of
from repayguard.platform.records import record_of

_RECORDS = table_of(AuditRecordRow)
_HEAD = table_of(AuditHeadRow)
_HEAD_ID = 1
# Built once: every audited commit runs these three, and building a statement costs more
# than running it on SQLite.
_LOCK = (
    update(_HEAD)
    .where(_HEAD.c.id == _HEAD_ID)
    .values(updated_at=bindparam("now"))
    .returning(_HEAD.c.chain_id, _HEAD.c.seq, _HEAD.c.hash, _HEAD.c.checkpoint_seq)
)
_MOVE = (
    update(_HEAD)
    .where(_HEAD.c.id == _HEAD_ID)
    .values(
        seq=bindparam("new_seq"),
        hash=bindparam("new_hash"),
        checkpoint_seq=bindparam("new_checkpoint_seq"),
        updated_at=bindparam("now"),
    )
)
_APPEND = insert(_RECORDS)


@dataclass(frozen=True, slots=True)
class Head:
    """Where the chain ends: its id, last record and hash, and the last checkpointed record."""

    chain_id: str
    seq: int
    hash: str
    checkpoint_seq: int


def lock_head(session: Session, *, now: datetime) -> Head | None:
    """Take the chain's append lock for the rest of the transaction and read the head.

    The statement *writes* the head row before anything is read: on PostgreSQL the row lock
    makes concurrent appenders queue here (read committed: the next one then reads the new
    head); on SQLite the write takes the database's write lock as the transaction's first
    write (pysqlite issues BEGIN right before it), so no appender reads a head that another
    is about to move. None when the head row is missing (the chain refuses appends).
    """
    row = session.execute(_LOCK, {"now": now}).one_or_none()
    return None if row is None else Head(row[0], int(row[1]), row[2], int(row[3]))


def read_head(session: Session) -> Head | None:
    row = session.execute(
        select(_HEAD.c.chain_id, _HEAD.c.seq, _HEAD.c.hash, _HEAD.c.checkpoint_seq).where(
            _HEAD.c.id == _HEAD_ID
        )
    ).one_or_none()
    return None if row is None else Head(row[0], int(row[1]), row[2], int(row[3]))


def move_head(
    session: Session, *, seq: int, hash_: str, checkpoint_seq: int, now: datetime
) -> None:
    session.execute(
        _MOVE,
        {"new_seq": seq, "new_hash": hash_, "new_checkpoint_seq": checkpoint_seq, "now": now},
    )


def append(session: Session, records: Sequence[ChainRecord]) -> None:
    """Insert sealed records (one executemany)."""
    session.execute(
        _APPEND,
        [
            {
                "seq": r.seq,
                "message_id": r.message_id,
                "occurred_at": r.occurred_at,
                "actor": r.actor,
                "action": r.action,
                "subject": r.subject,
                "payload": r.payload,
                "payload_sha256": r.payload_sha256,
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            for r in records
        ],
    )


def _record(row: Any) -> ChainRecord:
    return record_of(ChainRecord, row, seq=int(row.seq))


def first_seq_since(session: Session, since: datetime) -> int | None:
    """The first record appended at or after ``since`` (exports run from it to the end)."""
    first = session.scalar(select(func.min(_RECORDS.c.seq)).where(_RECORDS.c.occurred_at >= since))
    return None if first is None else int(first)


def stream(
    session: Session, *, after_seq: int = 0, upto_seq: int | None = None, page: int = 5_000
) -> Iterator[ChainRecord]:
    """Records after ``after_seq`` in ``seq`` order, read in keyset pages (memory stays flat
    on any chain size)."""
    after = after_seq
    while True:
        query = select(_RECORDS).where(_RECORDS.c.seq > after).order_by(_RECORDS.c.seq).limit(page)
        if upto_seq is not None:
            query = query.where(_RECORDS.c.seq <= upto_seq)
        rows = session.execute(query).all()
        if not rows:
            return
        for row in rows:
            yield _record(row)
        after = int(rows[-1].seq)


def count(session: Session, *, after_seq: int = 0) -> int:
    return int(
        session.scalar(select(func.count()).select_from(_RECORDS).where(_RECORDS.c.seq > after_seq))
        or 0
    )


def max_seq(session: Session) -> int:
    return int(session.scalar(select(func.max(_RECORDS.c.seq))) or 0)
