"""Approved remedies to the lender's ledger: ``repayguard.remedy.approved`` leaves through the
outbox, and a bus consumer POSTs it, signed, to the ledger's webhook.

Why a bus consumer and not the notices dispatcher: a notice is one message to a borrower over
several channels, each with its own delivery rows; a remedy is one ledger entry to one system,
already a message in the outbox. The outbox gives the retries — a failed POST raises, so the
relay keeps the message and delivers it again (in-process bus) or JetStream redelivers it with
backoff — and ``platform.consumers.idempotent`` with ``exported_at`` make a redelivered message
export nothing twice. Signing is the notices webhook's (same headers, same
``notices.verify_signature`` on the lender's side); the delivery id is the remedy id, which a
ledger deduplicates by should a POST succeed and its acknowledgement be lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from repayguard import __version__, notices
from repayguard.platform.clock import Clock
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork
from repayguard.remedies import repository
from repayguard.remedies.messages import REMEDY_EXPORTED, message
from repayguard.remedies.models import APOLOGY, APPROVED


class LedgerError(Exception):
    """The ledger did not accept an entry (the message is delivered again later)."""


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


def ledger_entry(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the ledger receives for a ``repayguard.remedy.approved`` message."""
    return {"type": "repayguard.remedy", "version": 1, **payload}


class LedgerExport:
    """Handles ``repayguard.remedy.approved`` (wrap it with ``platform.consumers.idempotent``):
    sends the remedy to the ledger and records ``exported_at`` with
    ``repayguard.remedy.exported``. A remedy already exported, or not (or no longer)
    approved, is not sent."""

    def __init__(self, *, ledger: LedgerWebhook) -> None:
        self._ledger = ledger

    def __call__(self, received: Message, uow: UnitOfWork) -> None:
        with uow:
            row = repository.get(uow.session, received.payload["remedy_id"], for_update=True)
            if row is None or row.kind == APOLOGY or row.state != APPROVED:
                return
            if row.exported_at is not None:
                return
            self._ledger.send(ledger_entry(received.payload))
            row.exported_at = uow.clock.now()
            uow.emit(message(REMEDY_EXPORTED, row))
            uow.commit()
