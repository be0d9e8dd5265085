"""Notice use-cases: write the notices an entitlement change calls for, deliver them through
their channels with retries and backoff, and list a borrower's notices."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from repayguard import borrowers, entitlements
from repayguard.core.reasons import LOCALES
from repayguard.entitlements import Entitlement, MethodStates
from repayguard.notices import repository
from repayguard.notices.channels import INBOX, Channel, ChannelError, Envelope
from repayguard.notices.composer import NoticeComposer
from repayguard.notices.messages import (
    NoticeDelivered,
    NoticeDeliveryFailed,
    NoticeRef,
    NoticesCreated,
)
from repayguard.notices.models import NoticeDeliveryRow, NoticeRow
from repayguard.notices.planning import (
    NoticeKind,
    NoticePlan,
    announced_late,
    plan_activation,
    plan_change,
)
from repayguard.platform.messages import Message
from repayguard.platform.records import record_of
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger(__name__)


InputsReader = Callable[[Session, Sequence[str]], Mapping[str, Mapping[str, Any]]]
"""The policy inputs of logged decisions, by decision id (the decisions package reads them)."""


@dataclass(frozen=True, slots=True)
class NoticeSetup:
    """What writing notices needs, built once by bootstrap."""

    composer: NoticeComposer
    defaults: Callable[[], MethodStates]
    """The policy's default states: what a borrower never restricted has."""
    read_inputs: InputsReader
    channels: tuple[str, ...] = ()
    """External channels every notice is also delivered through (the inbox always is)."""
    default_locale: str = "zh-CN"
    """For borrowers without a profile (or with a locale notices have no templates for)."""


@dataclass(frozen=True, slots=True)
class RecordChanges:
    """Write the notices for changed entitlements (``activated``: their notice period ended
    and the restriction is now in force; the entitlements are given as they were pending)."""

    entitlements: Sequence[Entitlement]
    activated: bool = False
    told_at: datetime | None = None
    """When their notice periods started (``entitlements.TOLD_AT`` of the message); a
    restriction announced later than that is deferred by the delay (G3)."""


def record_changes(cmd: RecordChanges, *, uow: UnitOfWork, setup: NoticeSetup) -> list[NoticeRef]:
    """Plan, render and store the notices for a batch of entitlement changes, in one
    transaction with ``repayguard.notices.created``.

    Each notice is in the borrower's inbox at once (its inbox delivery is recorded as
    delivered) and pending on every external channel. A notice whose occasion (borrower,
    decision, rule, kind) already has one is not written again.
    """
    with uow:
        session = uow.session
        now = uow.clock.now()
        latest = {e.borrower_id: e for e in cmd.entitlements}
        previous = repository.baselines(session, list(latest))
        defaults = setup.defaults()
        plans: list[NoticePlan] = []
        seen: list[Entitlement] = []
        deferred: list[Entitlement] = []
        for borrower_id, entitlement in latest.items():
            before = previous.get(borrower_id)
            if cmd.activated:
                plan = plan_activation(entitlement)
                if before is None or before.decision_id == entitlement.decision_id:
                    seen.append(replace(entitlement, interim=None))
            else:
                if announced_late(before, entitlement, told_at=cmd.told_at, now=now):
                    assert cmd.told_at is not None
                    moved = entitlements.timed.defer(
                        session, entitlement, by=now - cmd.told_at, now=now
                    )
                    if moved is not None:
                        entitlement = moved
                        deferred.append(moved)
                plan = plan_change(before, entitlement, defaults=defaults, now=now)
                if (
                    before is not None
                    or entitlement.interim is not None
                    or (entitlement.states != defaults)
                ):
                    seen.append(entitlement)
            if plan is not None:
                plans.append(plan)
        created = _write(session, plans, now=now, setup=setup)
        repository.save_baselines(session, seen, now=now)
        if created:
            uow.emit(Message(NoticesCreated(notices=tuple(created))))
        if deferred:
            uow.emit(entitlements.timed.change_message("notice", deferred))
        uow.commit()
    return created


def _write(
    session: Session, plans: Sequence[NoticePlan], *, now: datetime, setup: NoticeSetup
) -> list[NoticeRef]:
    def occasion(plan: NoticePlan) -> repository.Occasion:
        e = plan.entitlement
        return (e.borrower_id, e.decision_id, e.rule_id, plan.kind.value)

    existing = repository.existing_occasions(session, (occasion(p) for p in plans))
    fresh = [p for p in plans if occasion(p) not in existing]
    if not fresh:
        return []
    locales = borrowers.locales(session, [p.borrower_id for p in fresh])
    explained = [p for p in fresh if _explains(p)]
    inputs = (
        setup.read_inputs(session, sorted({p.entitlement.decision_id for p in explained}))
        if explained
        else {}
    )
    notices: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    refs: list[NoticeRef] = []
    for plan in fresh:
        entitlement = plan.entitlement
        locale = notice_locale(locales.get(plan.borrower_id), setup)
        outlook = (
            setup.composer.outlook(plan, inputs.get(entitlement.decision_id))
            if _explains(plan)
            else ()
        )
        rendered = setup.composer.render(plan, locale, outlook)
        notice_id = uuid.uuid4().hex
        notices.append(
            {
                "notice_id": notice_id,
                "borrower_id": plan.borrower_id,
                "kind": plan.kind.value,
                "decision_id": entitlement.decision_id,
                "rule_id": entitlement.rule_id,
                "occasion_id": None,
                "locale": locale,
                "subject": rendered.subject[:300],
                "body": rendered.body,
                "reasons": list(rendered.reasons),
                "changes": [c.as_dict() for c in plan.changes],
                "what_would_change": [o.as_dict() for o in outlook],
                "effective_at": plan.effective_at,
                "created_at": now,
            }
        )
        deliveries.extend(delivery_rows(notice_id, setup, now=now))
        refs.append(
            NoticeRef(notice_id, plan.borrower_id, plan.kind.value, entitlement.decision_id)
        )
    repository.add(session, notices, deliveries)
    return refs


def _explains(plan: NoticePlan) -> bool:
    """Explanations, and restorations that leave something restricted, say what would change
    the outcome."""
    return plan.kind == NoticeKind.EXPLANATION or (
        plan.kind == NoticeKind.RESTORATION and bool(plan.entitlement.states.restricted())
    )


def notice_locale(profile_locale: str | None, setup: NoticeSetup) -> str:
    """The locale a notice is written in: the borrower's profile locale when notices have
    templates for it, else the configured default."""
    if profile_locale is not None and profile_locale in LOCALES:
        return profile_locale
    return setup.default_locale


def delivery_rows(notice_id: str, setup: NoticeSetup, *, now: datetime) -> list[dict[str, Any]]:
    """A new notice's deliveries: in the inbox at once, pending (due now) on every external
    channel, from where the dispatcher sends them with retries and backoff."""
    return [
        _delivery(notice_id, INBOX, now=now, delivered=True),
        *(_delivery(notice_id, channel, now=now, delivered=False) for channel in setup.channels),
    ]


def _delivery(notice_id: str, channel: str, *, now: datetime, delivered: bool) -> dict[str, Any]:
    return {
        "delivery_id": uuid.uuid4().hex,
        "notice_id": notice_id,
        "channel": channel,
        "status": "delivered" if delivered else "pending",
        "attempts": 1 if delivered else 0,
        "next_attempt_at": None if delivered else now,
        "last_error": None,
        "delivered_at": now if delivered else None,
        "claim_token": None,
        "updated_at": now,
    }


# -- delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a failing delivery is tried again: exponential backoff from ``base_seconds``
    doubling per attempt, never more than ``cap_seconds`` apart, ``max_attempts`` in all."""

    max_attempts: int = 8
    base_seconds: float = 30.0
    cap_seconds: float = 3_600.0
    claim_seconds: float = 300.0
    """How long a dispatcher holds the rows it claimed before another may take them."""

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1)))


@dataclass(frozen=True, slots=True)
class DeliverNotices:
    """Deliver due notices: of the named notices only, or every due one (None)."""

    notice_ids: Sequence[str] | None = None
    limit: int = 100


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0
    """Claimed but not tried: their channel had just failed, so they wait with it."""
    next_retry_at: datetime | None = None
    by_channel: dict[str, int] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


def deliver_notices(
    cmd: DeliverNotices,
    *,
    uow: UnitOfWorkFactory,
    channels: Mapping[str, Channel],
    retry: RetryPolicy,
    on_attempt: Callable[[], None] | None = None,
) -> DeliveryReport:
    """Claim due deliveries, send each through its channel, record every attempt.

    The claim commits before anything is sent, so two dispatchers (the server's relay and a
    worker) never send the same row at once; each attempt's outcome commits on its own. A
    failure schedules the next attempt with backoff, or fails the delivery after
    ``max_attempts``; the channel's other claimed rows then wait until that same time (one
    unreachable endpoint costs one timeout per pass, not one per notice). ``on_attempt`` runs
    after each attempt (the scheduler extends its lease there).
    """
    report = DeliveryReport()
    token = uuid.uuid4().hex
    with uow() as unit:
        now = unit.clock.now()
        ids = repository.due(
            unit.session,
            now=now,
            channels=sorted(channels),
            notice_ids=cmd.notice_ids,
            limit=cmd.limit,
        )
        if not ids:
            return report
        repository.claim(
            unit.session,
            ids,
            token=token,
            now=now,
            until=now + timedelta(seconds=retry.claim_seconds),
        )
        unit.commit()
    with uow() as unit:
        claimed = [
            _Claimed(delivery.channel, delivery.attempts, _envelope(delivery, notice))
            for delivery, notice in repository.claimed(unit.session, token)
        ]
    blocked: dict[str, datetime] = {}
    waiting: dict[str, list[str]] = {}
    for item in claimed:
        if item.channel in blocked:
            waiting.setdefault(item.channel, []).append(item.envelope.delivery_id)
            continue
        failure = _send(channels[item.channel], item.envelope)
        retry_at = _record(item, failure, token=token, uow=uow, retry=retry, report=report)
        if retry_at is not None:
            blocked[item.channel] = retry_at
        if on_attempt is not None:
            on_attempt()
    if waiting:
        with uow() as unit:
            for channel, held in waiting.items():
                repository.release(unit.session, held, token=token, at=blocked[channel])
                report.deferred += len(held)
            unit.commit()
    return report


def _send(channel: Channel, envelope: Envelope) -> ChannelError | None:
    try:
        channel.send(envelope)
    except ChannelError as failure:
        return failure
    except Exception as exc:  # an adapter's bug must not stop the other deliveries
        log.exception("notices.channel_crashed", channel=channel.name)
        return ChannelError(f"{type(exc).__name__}: {exc}")
    return None


@dataclass(frozen=True, slots=True)
class _Claimed:
    """A claimed delivery, read while its claim transaction was open."""

    channel: str
    attempts: int
    envelope: Envelope


def _record(
    item: _Claimed,
    failure: ChannelError | None,
    *,
    token: str,
    uow: UnitOfWorkFactory,
    retry: RetryPolicy,
    report: DeliveryReport,
) -> datetime | None:
    """Store one attempt's outcome; returns when the channel may be tried again after a
    failure (None after a success or a final failure)."""
    attempts = item.attempts + 1
    delivery_id = item.envelope.delivery_id
    with uow() as unit:
        now = unit.clock.now()
        final = failure is not None and (failure.permanent or attempts >= retry.max_attempts)
        status = "delivered" if failure is None else "failed" if final else "pending"
        retry_at = now + retry.delay(attempts) if failure is not None and not final else None
        error = str(failure)[:2_000] if failure is not None else None
        kept = repository.record_attempt(
            unit.session,
            delivery_id,
            token=token,
            now=now,
            attempts=attempts,
            status=status,
            error=error,
            next_attempt_at=retry_at,
        )
        if not kept:
            # Our claim ran out and another dispatcher took the row: its record wins.
            log.warning("notices.claim_lost", delivery_id=delivery_id)
            return None
        which = {
            "notice_id": item.envelope.notice_id,
            "delivery_id": delivery_id,
            "borrower_id": item.envelope.borrower_id,
            "channel": item.channel,
        }
        if status == "delivered":
            unit.emit(Message(NoticeDelivered(**which, attempts=attempts)))
        elif status == "failed":
            unit.emit(Message(NoticeDeliveryFailed(**which, attempts=attempts, error=error)))
        unit.commit()
    report.by_channel[item.channel] = report.by_channel.get(item.channel, 0) + 1
    if status == "delivered":
        report.delivered += 1
    elif status == "failed":
        report.failed += 1
        log.error("notices.delivery_failed", delivery_id=delivery_id, error=error)
    else:
        report.retrying += 1
        if retry_at is not None and (
            report.next_retry_at is None or retry_at < report.next_retry_at
        ):
            report.next_retry_at = retry_at
    return retry_at


def _envelope(delivery: NoticeDeliveryRow, notice: NoticeRow) -> Envelope:
    return Envelope(
        delivery_id=delivery.delivery_id,
        notice_id=notice.notice_id,
        borrower_id=notice.borrower_id,
        kind=notice.kind,
        locale=notice.locale,
        subject=notice.subject,
        body=notice.body,
        reasons=tuple(notice.reasons),
        effective_at=notice.effective_at,
        created_at=notice.created_at,
    )


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListNotices:
    """A borrower's notices, newest first (``kind``: only of that kind)."""

    borrower_id: str
    limit: int = 50
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class NoticeInfo:
    notice_id: str
    borrower_id: str
    kind: str
    locale: str
    subject: str
    body: str
    reasons: tuple[str, ...]
    changes: tuple[dict[str, Any], ...]
    what_would_change: tuple[dict[str, Any], ...]
    effective_at: datetime | None
    created_at: datetime
    decision_id: str | None
    rule_id: str | None
    """None for a notice about another occasion than a change of methods."""
    deliveries: tuple[DeliveryInfo, ...]
    occasion_id: str | None = None
    """What a notice not about a change of methods is about (a complaint's id)."""


def list_notices(cmd: ListNotices, *, uow: UnitOfWork) -> list[NoticeInfo]:
    """The borrower's inbox with each notice's delivery record per channel."""
    with uow:
        rows = repository.for_borrower(uow.session, cmd.borrower_id, limit=cmd.limit, kind=cmd.kind)
        return notice_infos(uow.session, rows)


def notice_infos(session: Session, rows: Sequence[NoticeRow]) -> list[NoticeInfo]:
    """``rows`` as callers see them, each with its delivery record per channel."""
    deliveries = repository.deliveries_of(session, [r.notice_id for r in rows])
    return [
        record_of(
            NoticeInfo,
            row,
            reasons=tuple(row.reasons),
            changes=tuple(row.changes),
            what_would_change=tuple(row.what_would_change),
            deliveries=tuple(
                DeliveryInfo(
                    d.channel, d.status, d.attempts, d.next_attempt_at, d.delivered_at, d.last_error
                )
                for d in deliveries.get(row.notice_id, [])
            ),
        )
        for row in rows
    ]
