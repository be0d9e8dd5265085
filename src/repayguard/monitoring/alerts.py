"""Incident alerts: each new incident POSTed to every configured webhook
(``monitoring.alert_webhooks``), signed exactly like the notices webhook, at once when
``repayguard.monitoring.incident_opened`` leaves the outbox and retried by the worker.

Like the remedies' ledger export, an alert carries its own schedule (``incident_alerts``:
attempts, next attempt, last error) instead of raising in the bus consumer: the relay keeps
order, so a consumer that raised would hold back every later message while a receiver is
down. The consumer tries each pending alert once; :class:`RetryAlerts` (``monitoring.alerts``
on the worker) tries again what is due, with the notices' exponential backoff, until
``max_attempts``. Receivers check ``notices.verify_signature`` on ``X-Repayguard-Signature``
and deduplicate by ``X-Repayguard-Delivery`` (the incident id; delivery is at least once).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx
import orjson
import structlog

from repayguard import __version__, notices
from repayguard.monitoring import incident_repository as repository
from repayguard.monitoring.incidents import opened
from repayguard.monitoring.messages import IncidentOpened
from repayguard.platform.clock import Clock
from repayguard.platform.jobs import JobContext, JobOutcome
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger(__name__)
ALERT_TYPE: Final = "repayguard.monitoring.incident"


class AlertFailed(Exception):
    """A webhook did not accept an alert (it is tried again later)."""


class AlertWebhooks:
    """Signed JSON POSTs to alert webhooks: ``X-Repayguard-Timestamp``,
    ``X-Repayguard-Signature`` (``notices.signature``: HMAC-SHA256 of ``<timestamp>.<body>``)
    and ``X-Repayguard-Delivery``. Any 2xx is accepted; redirects are not followed."""

    def __init__(
        self,
        *,
        secret: bytes,
        timeout_seconds: float,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not secret:
            raise ValueError("alert webhooks need a signing secret")
        self._secret = secret
        self._clock = clock
        self._client = httpx.Client(
            timeout=timeout_seconds, follow_redirects=False, transport=transport
        )

    def send(self, url: str, alert: dict[str, Any], *, delivery_id: str) -> None:
        body = orjson.dumps(alert, option=orjson.OPT_SORT_KEYS)
        timestamp = str(int(self._clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"repayguard/{__version__}",
            notices.TIMESTAMP_HEADER: timestamp,
            notices.SIGNATURE_HEADER: notices.signature(self._secret, timestamp, body),
            notices.DELIVERY_HEADER: delivery_id,
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise AlertFailed(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise AlertFailed(f"HTTP {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self._client.close()


def alert_body(facts: IncidentOpened, opened_at: datetime) -> dict[str, Any]:
    """What a webhook receives: the ``incident_opened`` payload, typed and versioned."""
    return {
        "type": ALERT_TYPE,
        "version": IncidentOpened.VERSION,
        "opened_at": opened_at.isoformat(),
        **asdict(facts),
    }


def deliver_alert(
    incident_id: str,
    webhook: str,
    *,
    uow: UnitOfWork,
    sender: AlertWebhooks,
    retry: notices.RetryPolicy,
) -> bool | None:
    """Try one pending alert in its own transaction: True when delivered, False when the
    attempt failed (the next is scheduled, or none after ``retry.max_attempts``), None when
    nothing was due."""
    with uow:
        session = uow.session
        row = repository.alert(session, incident_id, webhook, for_update=True)
        if row is None or row.delivered_at is not None or row.next_attempt_at is None:
            return None
        incident = repository.get(session, incident_id)
        assert incident is not None  # the foreign key holds it
        now = uow.clock.now()
        row.attempts += 1
        try:
            sender.send(
                webhook, alert_body(opened(incident), incident.opened_at), delivery_id=incident_id
            )
        except AlertFailed as failed:
            row.last_error = str(failed)[:2_000]
            row.next_attempt_at = (
                now + retry.delay(row.attempts) if row.attempts < retry.max_attempts else None
            )
            log.warning(
                "monitoring.alert_failed",
                incident_id=incident_id,
                attempts=row.attempts,
                retry_at=row.next_attempt_at.isoformat() if row.next_attempt_at else None,
                error=row.last_error,
            )
            uow.commit()
            return False
        row.delivered_at, row.next_attempt_at, row.last_error = now, None, None
        uow.commit()
        return True


class AlertOnIncident:
    """Handles ``repayguard.monitoring.incident_opened`` (wrap it with
    ``platform.consumers.idempotent``): the first attempt at every webhook at once. Never
    raises for a receiver's sake (see the module docstring)."""

    def __init__(
        self, *, sender: AlertWebhooks, retry: notices.RetryPolicy, uow: UnitOfWorkFactory
    ) -> None:
        self._sender = sender
        self._retry = retry
        self._uow = uow

    def __call__(self, received: Message[IncidentOpened], uow: UnitOfWork) -> None:
        incident_id = received.fact.incident_id
        with self._uow() as probe:
            webhooks = [a.webhook for a in repository.alerts_of(probe.session, incident_id)]
        for webhook in webhooks:
            deliver_alert(
                incident_id, webhook, uow=self._uow(), sender=self._sender, retry=self._retry
            )
        with uow:
            uow.commit()  # the idempotency marker: this message's first attempts are made


@dataclass(frozen=True, slots=True)
class RetryAlerts:
    """The worker's retry of alerts that failed (or were opened while no consumer ran)."""

    sender: AlertWebhooks
    retry: notices.RetryPolicy
    every: timedelta
    batch: int = 100
    name: str = "monitoring.alerts"

    def run(self, context: JobContext) -> JobOutcome:
        with context.uow() as probe:
            due = repository.alerts_due(probe.session, context.clock.now(), limit=self.batch)
        sent = failed = 0
        for incident_id, webhook in due:
            done = deliver_alert(
                incident_id, webhook, uow=context.uow(), sender=self.sender, retry=self.retry
            )
            sent += done is True
            failed += done is False
        counts = {"delivered": sent, "failed": failed}
        if not due:
            return JobOutcome("no incident alert is due", counts)
        return JobOutcome(
            f"{sent} incident alert(s) delivered, {failed} failed",
            counts,
            more=len(due) >= self.batch,
        )
