"""Approved remedies to the lender's ledger: signed POSTs to the ledger's webhook, at once
when ``repayguard.remedy.approved`` leaves the outbox, and retried with backoff by the worker.

Why not raise in the bus consumer and let the outbox retry: the relay keeps order, so a message
whose handler fails holds back every message behind it — a ledger outage would stall
entitlement changes and notices for everyone. So, like notice deliveries, a remedy carries its
own schedule (``next_export_at``, ``export_attempts``, ``export_error``): the consumer tries it
once and records a failure instead of raising; :class:`ExportRemedies`, a worker job, tries
again whatever is due (exponential backoff, never given up: money owed is never dropped).
Signing is the notices webhook's (same headers, ``notices.verify_signature`` on the lender's
side); the delivery id is the remedy id, by which the ledger deduplicates an entry whose
acknowledgement was lost (delivery is at least once). A remedy the ledger acknowledged is never
sent again: ``exported_at`` is checked under the row's lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import structlog

from repayguard import __version__, notices
from repayguard.platform.clock import Clock
from repayguard.platform.jobs import JobContext, JobOutcome
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory
from repayguard.remedies import repository
from repayguard.remedies.messages import RemedyApproved, RemedyExported
from repayguard.remedies.models import APOLOGY, APPROVED, RemedyRow

log = structlog.get_logger(__name__)


class LedgerError(Exception):
    """The ledger did not accept an entry (it is tried again later, see the module docstring)."""


class LedgerWebhook:
    """POSTs one ledger entry as JSON, signed with HMAC-SHA256 like the notices webhook
    (``X-Repayguard-Timestamp``, ``X-Repayguard-Signature``, ``X-Repayguard-Delivery``: the
    remedy id). Any 2xx is accepted; anything else, a timeout or a connection error raises."""

    def __init__(
        self,
        *,
        url: str,
        secret: bytes,
        timeout_seconds: float,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self._secret = secret
        self._clock = clock
        self._client = httpx.Client(
            timeout=timeout_seconds, follow_redirects=False, transport=transport
        )

    def send(self, entry: Mapping[str, Any]) -> None:
        body = orjson.dumps(dict(entry), option=orjson.OPT_SORT_KEYS)
        timestamp = str(int(self._clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"repayguard/{__version__}",
            notices.TIMESTAMP_HEADER: timestamp,
            notices.SIGNATURE_HEADER: notices.signature(self._secret, timestamp, body),
            notices.DELIVERY_HEADER: str(entry["remedy_id"]),
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise LedgerError(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise LedgerError(f"HTTP {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self._client.close()


def ledger_entry(row: RemedyRow) -> dict[str, Any]:
    """What the ledger receives: the ``repayguard.remedy.approved`` message's payload."""
    return {"type": "repayguard.remedy", "version": 1, **RemedyApproved.of(row).payload()}


@dataclass(slots=True)
class ExportReport:
    exported: int = 0
    failed: int = 0


def export_remedy(
    remedy_id: str, *, uow: UnitOfWork, ledger: LedgerWebhook, retry: notices.RetryPolicy
) -> bool | None:
    """Send one remedy that is due to the ledger in its own transaction: True when the ledger
    took it (``repayguard.remedy.exported``), False when the attempt failed (the next one is
    scheduled), None when there was nothing to send (already exported, not approved)."""
    with uow:
        row = repository.get(uow.session, remedy_id, for_update=True)
        if row is None or row.state != APPROVED or row.kind == APOLOGY:
            return None
        if row.exported_at is not None or row.next_export_at is None:
            return None
        now = uow.clock.now()
        try:
            ledger.send(ledger_entry(row))
        except LedgerError as failed:
            row.export_attempts += 1
            row.export_error = str(failed)[:2_000]
            row.next_export_at = now + retry.delay(row.export_attempts)
            log.warning(
                "remedies.export_failed",
                remedy_id=remedy_id,
                attempts=row.export_attempts,
                retry_at=row.next_export_at.isoformat(),
                error=row.export_error,
            )
            uow.commit()
            return False
        row.export_attempts += 1
        row.exported_at = now
        row.next_export_at = None
        row.export_error = None
        uow.emit(Message(RemedyExported.of(row)))
        uow.commit()
        return True


def export_due(
    now: datetime,
    *,
    uow: UnitOfWorkFactory,
    ledger: LedgerWebhook,
    retry: notices.RetryPolicy,
    limit: int = 100,
) -> ExportReport:
    """Send every approved remedy due for the ledger by ``now`` (at most ``limit``)."""
    with uow() as probe:
        due = repository.due_for_export(probe.session, now, limit=limit)
    report = ExportReport()
    for remedy_id in due:
        sent = export_remedy(remedy_id, uow=uow(), ledger=ledger, retry=retry)
        if sent is True:
            report.exported += 1
        elif sent is False:
            report.failed += 1
    return report


class LedgerExport:
    """Handles ``repayguard.remedy.approved`` (wrap it with ``platform.consumers.idempotent``):
    the first attempt at once. Never raises for the ledger's sake (see the module
    docstring)."""

    def __init__(self, *, ledger: LedgerWebhook, retry: notices.RetryPolicy) -> None:
        self._ledger = ledger
        self._retry = retry

    def __call__(self, received: Message[RemedyApproved], uow: UnitOfWork) -> None:
        # Nothing to send (exported already, refused meanwhile) commits nothing: a redelivery
        # then finds nothing to send either.
        export_remedy(received.fact.remedy_id, uow=uow, ledger=self._ledger, retry=self._retry)


@dataclass(frozen=True, slots=True)
class ExportRemedies:
    """The worker's retry of ledger exports that failed (or were approved while no consumer
    ran): whatever is due, in batches."""

    ledger: LedgerWebhook
    retry: notices.RetryPolicy
    every: timedelta
    batch: int = 100
    name: str = "remedies.export"

    def run(self, context: JobContext) -> JobOutcome:
        report = export_due(
            context.clock.now(),
            uow=context.uow,
            ledger=self.ledger,
            retry=self.retry,
            limit=self.batch,
        )
        counts = {"exported": report.exported, "failed": report.failed}
        more = report.exported + report.failed >= self.batch
        if not report.exported and not report.failed:
            return JobOutcome("no remedy is due for the ledger", counts)
        return JobOutcome(
            f"{report.exported} remedy(ies) exported to the ledger, {report.failed} to retry",
            counts,
            more=more,
        )
