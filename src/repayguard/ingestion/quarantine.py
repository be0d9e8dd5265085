"""Quarantine of rejected records: sealed under the data keyring, reasons redacted, expiring.

A rejected record may carry personal data (a ``contact_change`` with the new phone number, a
field a sender should never have sent), so its raw text is encrypted per row (AES-GCM under
the keyring's active key, bound to its batch and index) and only an operator holding the
keyring reads it back to fix and resend it. The reasons stay readable — they are what a
sender needs — but any personal value a reason could quote is replaced by ``[redacted]``.
Rows are deleted once older than the configured retention (the ``ingestion.quarantine_expiry``
job), and re-sealed under the new active key when the data key rotates, like every other
sealed value, so no retired key is still needed to read them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func, select

from repayguard.ingestion.messages import QuarantineRotated
from repayguard.ingestion.models import QuarantineRow
from repayguard.ingestion.validation import Rejection
from repayguard.platform.crypto import Keyring
from repayguard.platform.jobs import FunctionJob, JobContext, JobOutcome, job
from repayguard.platform.messages import Message
from repayguard.platform.redaction import PERSONAL_KEYS, REDACTED, SensitiveValues, scrub_text
from repayguard.platform.sealed import SealedRotation
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

RAW_LIMIT: Final = 20_000
"""Characters of a rejected record kept (before encryption)."""
EXPIRY_JOB: Final = "ingestion.quarantine_expiry"
"""Emitted per re-sealed batch of quarantined records when the data key rotates."""
_EXPIRY_CHUNK: Final = 1_000
# Keys that hold personal data under other spellings than the log redactor's exact keys
# (``new_phone``, ``contact_email``, ``first_name``…).
_PERSONAL_PARTS: Final = ("phone", "mobile", "email", "name", "national_id", "id_number")
_EMAIL: Final = re.compile(r"[^\s@'\"]+@[^\s@'\"]+\.[A-Za-z]{2,}")


def raw_context(batch_id: str, record_index: int) -> str:
    """The associated data a quarantined record's ciphertext is bound to (table, row, column):
    a ciphertext copied to another row no longer decrypts."""
    return f"quarantine/{batch_id}/{record_index}/raw"


@dataclass(frozen=True, slots=True)
class QuarantinedRecord:
    """A quarantined record read back by an operator: its reasons and the record as sent
    (None when it was not kept: a row written before records were sealed)."""

    batch_id: str
    record_index: int
    event_id: str | None
    errors: list[dict[str, str]]
    raw: str | None
    received_at: datetime


def quarantine_rows(
    rejections: Sequence[Rejection], *, batch_id: str, now: datetime, keyring: Keyring
) -> list[dict[str, Any]]:
    """The quarantine rows of a batch's rejections, each record sealed under the active key."""
    ring = keyring.snapshot()  # every row of the batch under one key, named on each row
    rows = []
    for rejection in rejections:
        sensitive = SensitiveValues(_personal_values(rejection.raw))
        raw = json.dumps(rejection.raw, default=str, ensure_ascii=False)[:RAW_LIMIT]
        rows.append(
            {
                "batch_id": batch_id,
                "record_index": rejection.index,
                "event_id": rejection.event_id and _clean(rejection.event_id, sensitive),
                "errors": [
                    {"field": _clean(e.field, sensitive), "reason": _clean(e.reason, sensitive)}
                    for e in rejection.errors
                ],
                "raw": ring.encrypt(raw, context=raw_context(batch_id, rejection.index)),
                "key_id": ring.active,
                "received_at": now,
            }
        )
    return rows


def read_quarantined(keyring: Keyring, row: QuarantineRow) -> QuarantinedRecord:
    """A quarantine row with its record decrypted (raises ``PersonalDataUnreadable`` when
    the key it was sealed with is gone or the row was tampered with)."""
    raw = (
        keyring.decrypt(row.raw, context=raw_context(row.batch_id, row.record_index))
        if row.key_id is not None
        else None
    )
    return QuarantinedRecord(
        row.batch_id, row.record_index, row.event_id, row.errors, raw, row.received_at
    )


def quarantined(batch_id: str, *, uow: UnitOfWork, keyring: Keyring) -> list[QuarantinedRecord]:
    """The rejected records of one batch, in batch order, decrypted for an operator who may
    fix and resend them."""
    with uow:
        rows = uow.session.scalars(
            select(QuarantineRow)
            .where(QuarantineRow.batch_id == batch_id)
            .order_by(QuarantineRow.record_index)
        )
        return [read_quarantined(keyring, row) for row in rows]


def expire_quarantine(*, uow: UnitOfWork, retention: timedelta, limit: int) -> int:
    """Delete up to ``limit`` quarantined records received more than ``retention`` ago (by the
    unit of work's clock); returns how many went. One commit."""
    with uow:
        cutoff = uow.clock.now() - retention
        ids = list(
            uow.session.scalars(
                select(QuarantineRow.id)
                .where(QuarantineRow.received_at < cutoff)
                .order_by(QuarantineRow.id)
                .limit(limit)
            )
        )
        if ids:
            uow.session.execute(delete(QuarantineRow).where(QuarantineRow.id.in_(ids)))
        uow.commit()
    return len(ids)


def expiry_job(*, retention: timedelta, every: timedelta) -> FunctionJob:
    """The worker job deleting quarantined records past ``retention``, a chunk per commit."""

    def run(context: JobContext) -> JobOutcome:
        deleted = 0
        while True:
            gone = expire_quarantine(uow=context.uow(), retention=retention, limit=_EXPIRY_CHUNK)
            deleted += gone
            if gone < _EXPIRY_CHUNK:
                break
            context.heartbeat()
        days = retention.days
        return JobOutcome(
            f"{deleted:,} quarantined record(s) older than {days:,} days deleted",
            {"deleted": deleted},
        )

    return job(EXPIRY_JOB, every, run)


QuarantineRotation = SealedRotation


def _on_older_key(query: Any, active: str) -> Any:
    return query.where(QuarantineRow.key_id.is_not(None), QuarantineRow.key_id != active)


def quarantine_key_usage(*, uow: UnitOfWork) -> dict[str, int]:
    """Quarantined records per data key id (a key still in use must stay in the keyring)."""
    with uow:
        rows = uow.session.execute(
            select(QuarantineRow.key_id, func.count())
            .where(QuarantineRow.key_id.is_not(None))
            .group_by(QuarantineRow.key_id)
        ).all()
        return {str(key_id): int(count) for key_id, count in rows}


def rotate_quarantine(
    *, uow: UnitOfWorkFactory, keyring: Keyring, batch_size: int = 500
) -> QuarantineRotation:
    """Re-seal every quarantined record under the active key, one transaction per batch
    (resumable); each batch emits ``repayguard.ingestion.quarantine_rotated``."""
    ring = keyring.snapshot()
    rotated, after = 0, 0
    while True:
        with uow() as unit:
            query = _on_older_key(select(QuarantineRow), ring.active)
            rows = list(
                unit.session.scalars(
                    query.where(QuarantineRow.id > after)
                    .order_by(QuarantineRow.id)
                    .limit(batch_size)
                    .with_for_update()
                )
            )
            if not rows:
                count = select(func.count()).select_from(QuarantineRow)
                remaining = int(unit.session.scalar(_on_older_key(count, ring.active)) or 0)
                return QuarantineRotation(ring.active, rotated, remaining)
            for row in rows:
                context = raw_context(row.batch_id, row.record_index)
                row.raw = ring.encrypt(ring.decrypt(row.raw, context=context), context=context)
                row.key_id = ring.active
            after = rows[-1].id
            unit.emit(
                Message(
                    QuarantineRotated(
                        subject=f"data_key:{ring.active}", key_id=ring.active, records=len(rows)
                    )
                )
            )
            unit.commit()
        rotated += len(rows)


def _clean(text: str, sensitive: SensitiveValues) -> str:
    """Text fit for a readable column: no personal value of the record, no phone, ID or
    e-mail pattern, and no NUL (PostgreSQL refuses it; written as its JSON escape)."""
    scrubbed = _EMAIL.sub(REDACTED, scrub_text(text, sensitive))
    return scrubbed.replace("\x00", "\\u0000")


def _personal_values(value: Any, personal: bool = False) -> Iterator[str]:
    """Every scalar under a personal key of the record, however deeply nested."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _personal_values(item, personal or _is_personal(str(key)))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _personal_values(item, personal)
    elif personal and value is not None and not isinstance(value, bool):
        yield str(value)


def _is_personal(key: str) -> bool:
    lowered = key.lower()
    return lowered in PERSONAL_KEYS or any(part in lowered for part in _PERSONAL_PARTS)
