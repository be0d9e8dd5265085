"""The built-in timed transitions: restrictions go live when their notice period ends, due
reviews and expiries are re-decided (or restored), due notice deliveries are (re)tried, and
borrowers are re-decided on the policy's evaluation cadence (:mod:`.cadence`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from repayguard import entitlements
from repayguard.decisions import DecideBorrowers, DecisionEngine, decide_borrowers, triggers
from repayguard.entitlements import Entitlement
from repayguard.notices import Channel, DeliverNotices, DeliveryReport, RetryPolicy, deliver_notices
from repayguard.platform.jobs import Job, JobContext, JobOutcome
from repayguard.scheduler.cadence import EvaluateOnCadence


@dataclass(frozen=True, slots=True)
class ActivateRestrictions:
    """Notice period elapsed -> restriction active (G3). Each restriction is marked active in
    one compare-and-set write together with a ``repayguard.entitlements.activated`` message,
    from which notices writes the explanation (once: notices are unique per occasion).

    "Elapsed" is judged on this unit of work's clock against ``effective_at``, which already
    counts the whole period from when the borrower was told (``entitlements.told_at``, and
    notices' deferral of a late advance notice): a back-dated run's restriction waits too."""

    every: timedelta
    batch: int = 500
    name: str = "entitlements.activate"

    def run(self, context: JobContext) -> JobOutcome:
        activated = 0
        while True:
            with context.uow() as unit:
                now = unit.clock.now()
                pending = entitlements.timed.pending_due(unit.session, now=now, limit=self.batch)
                done = entitlements.timed.activate(unit.session, pending, now=now)
                for message in entitlements.timed.activation_messages(done, at=now):
                    unit.emit(message)
                unit.commit()
            activated += len(done)
            context.heartbeat()
            if len(pending) < self.batch or not done:
                break
        if not activated:
            return JobOutcome("no notice period ended", {"activated": 0})
        return JobOutcome(
            f"{activated} restriction(s) past their notice period now in force (explanations sent)",
            {"activated": activated},
        )


@dataclass(frozen=True, slots=True)
class ReviewEntitlements:
    """Review date or expiry reached -> re-decide, or restore (G4). The borrowers are
    re-decided through the decisions package; then a restriction past its expiry is restored
    to the policy's default states whatever the re-decision said (it never outlives its
    ``max_days``), and one the re-decision left as it was gets its next review date."""

    every: timedelta
    engine: Callable[[], DecisionEngine]
    history_days: int
    batch: int = 500
    name: str = "entitlements.review"

    def run(self, context: JobContext) -> JobOutcome:
        with context.uow() as unit:
            due = entitlements.timed.review_due(
                unit.session, now=unit.clock.now(), limit=self.batch
            )
        if not due:
            return JobOutcome("no review or expiry due", {"due": 0})
        engine = self.engine()
        ids = [e.borrower_id for e in due]
        decide_borrowers(
            DecideBorrowers(borrower_ids=ids, mode="review", trigger=triggers.REVIEW),
            uow=context.uow(),
            engine=engine,
            history_days=self.history_days,
        )
        context.heartbeat()
        with context.uow() as unit:
            now = unit.clock.now()
            current = list(entitlements.load(unit.session, ids).values())
            # Whatever the re-decision wrote, a restriction past its expiry ends now; one the
            # re-decision left as it was has been reviewed and gets its next review date.
            expired = [e for e in current if e.expires_at is not None and e.expires_at <= now]
            restored = entitlements.timed.lapse(
                unit.session, expired, defaults=engine.defaults, now=now
            )
            lapsed = {e.borrower_id for e in expired}
            before = {e.borrower_id: e for e in due}
            confirmed: list[Entitlement] = []
            for entitlement in current:
                if entitlement.borrower_id in lapsed or not _same(
                    entitlement, before[entitlement.borrower_id]
                ):
                    continue
                if entitlement.review_at is None or entitlement.review_at > now:
                    continue
                moved = entitlements.timed.reschedule_review(
                    unit.session,
                    entitlement,
                    review_at=_next_review(entitlement, engine, now),
                    now=now,
                )
                if moved is not None:
                    confirmed.append(moved)
            if restored:
                unit.emit(entitlements.timed.change_message("expiry", restored))
            if confirmed:
                unit.emit(entitlements.timed.change_message("review", confirmed))
            unit.commit()
        changed = sum(
            not _same(e, before[e.borrower_id]) and e.borrower_id not in lapsed for e in current
        )
        return JobOutcome(
            f"{len(due)} due: {changed} changed by re-decision, {len(restored)} restored at "
            f"expiry, {len(confirmed)} confirmed until their next review",
            {
                "due": len(due),
                "changed": changed,
                "restored": len(restored),
                "confirmed": len(confirmed),
            },
            more=len(due) == self.batch,
        )


def _same(now: Entitlement | None, before: Entitlement) -> bool:
    """Whether the entitlement is still the one set by the same decision and rule."""
    return (
        now is not None and now.decision_id == before.decision_id and now.rule_id == before.rule_id
    )


def _next_review(
    entitlement: Entitlement, engine: DecisionEngine, now: datetime
) -> datetime | None:
    """The rule's review interval from now, never after the expiry (the expiry is then the
    next review); an entitlement from outside the policy is next looked at when it expires."""
    days = next(
        (row.review_after_days for row in engine.policy.rows if row.id == entitlement.rule_id),
        None,
    )
    candidate = now + timedelta(days=days) if days else None
    expires = entitlement.expires_at
    if candidate is None or (expires is not None and expires < candidate):
        return expires
    return candidate


@dataclass(frozen=True, slots=True)
class DeliverDueNotices:
    """Notice deliveries due -> send (first attempts a batch left to the worker, and retries
    after backoff); the lease is renewed after every attempt."""

    every: timedelta
    channels: Mapping[str, Channel]
    retry: RetryPolicy
    batch: int = 100
    name: str = "notices.deliver"

    def run(self, context: JobContext) -> JobOutcome:
        if not self.channels:
            return JobOutcome("no channel besides the inbox is enabled", {"attempted": 0})
        total = DeliveryReport()
        while True:
            report = deliver_notices(
                DeliverNotices(limit=self.batch),
                uow=context.uow,
                channels=self.channels,
                retry=self.retry,
                on_attempt=context.heartbeat,
            )
            total.delivered += report.delivered
            total.retrying += report.retrying
            total.failed += report.failed
            total.deferred += report.deferred
            if report.next_retry_at is not None and (
                total.next_retry_at is None or report.next_retry_at < total.next_retry_at
            ):
                total.next_retry_at = report.next_retry_at
            if report.attempted + report.deferred < self.batch:
                break
        counts = {
            "delivered": total.delivered,
            "retrying": total.retrying,
            "failed": total.failed,
            "deferred": total.deferred,
        }
        if not total.attempted:
            return JobOutcome("no delivery due", counts)
        retry = (
            f"; next retry {total.next_retry_at:%Y-%m-%d %H:%M:%S} UTC"
            if total.next_retry_at is not None
            else ""
        )
        return JobOutcome(
            f"{total.delivered} delivered, {total.retrying} will be retried, "
            f"{total.failed} failed for good, {total.deferred} waiting for their channel{retry}",
            counts,
        )


def default_jobs(
    *,
    engine: Callable[[], DecisionEngine],
    history_days: int,
    channels: Mapping[str, Channel],
    retry: RetryPolicy,
    activate_every: timedelta,
    review_every: timedelta,
    deliver_every: timedelta,
    cadence_every: timedelta,
    batch: int,
) -> Sequence[Job]:
    """The timed transitions every repayguard runs (features add theirs to the registry)."""
    return (
        ActivateRestrictions(every=activate_every, batch=batch),
        ReviewEntitlements(
            every=review_every, engine=engine, history_days=history_days, batch=batch
        ),
        DeliverDueNotices(
            every=deliver_every, channels=channels, retry=retry, batch=min(batch, 100)
        ),
        EvaluateOnCadence(
            every=cadence_every, engine=engine, history_days=history_days, batch=batch
        ),
    )
