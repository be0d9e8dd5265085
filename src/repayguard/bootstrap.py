"""The one place that wires repayguard together: database, bus, relay, engine, consumers.

Entry points (API, CLI, tests) call :func:`bootstrap` with a :class:`Settings` and get a
:class:`Container`; nothing else creates engines, buses or relays, and nothing is global.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from repayguard import (
    borrowers,
    decisions,
    entitlements,
    ingestion,
    keys,
    monitoring,
    notices,
    overlays,
    policies,
    remedies,
    resources,
    risk,
    shadow,
)
from repayguard.approvals import (
    APPROVAL_APPROVED,
    APPROVAL_EXPIRED,
    APPROVAL_REJECTED,
    APPROVAL_WITHDRAWN,
    KINDS,
    ApprovalContext,
    ExpireOverdueRequests,
    HeldDecisions,
    ProposedRemedies,
    SupersededHeldDecisions,
    withdraw_outdated_publications,
)
from repayguard.audit import (
    SYSTEM_ACTOR,
    AuditTrail,
    acting_as,
    make_audit_observer,
    seal_job,
    write_checkpoint_now,
)
from repayguard.complaints import (
    COMPLAINT_FILED,
    COMPLAINT_RESOLVED,
    ComplaintSetup,
    Redecide,
    ReversalOutcomes,
    escalation_job,
)
from repayguard.config import BusSettings, NoticeSettings, Settings
from repayguard.core.risk_moves import tier_move
from repayguard.decisions import DecisionEngine, EngineSlot, OnlineHandler, open_slot
from repayguard.entitlements import EntitlementView
from repayguard.errors import DatabaseNotReady, ModelNotUsableForDecisions
from repayguard.hardship import (
    HARDSHIP_CLOSED,
    HARDSHIP_OPENED,
    HardshipSetup,
    hardship_escalation_job,
)
from repayguard.identity import TokenResolver
from repayguard.instrumentation import count_committed, plug_probes
from repayguard.platform import schema
from repayguard.platform.bus import Bus, InProcessBus
from repayguard.platform.clock import Clock, SystemClock
from repayguard.platform.consumers import idempotent, idempotent_batch
from repayguard.platform.crypto import Keyring, Pseudonymizer
from repayguard.platform.db import make_engine, make_session_factory
from repayguard.platform.messages import Message
from repayguard.platform.nats_bus import NatsBus
from repayguard.platform.outbox import BackgroundRelay, OutboxRelay
from repayguard.platform.telemetry import Telemetry
from repayguard.platform.uow import CommitObserver, CommittedObserver, UnitOfWork
from repayguard.scheduler import JobRegistry, default_jobs

__all__ = ["Container", "bootstrap"]


@dataclass(slots=True)
class Container:
    """Everything a running repayguard needs, built once per process."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    bus: Bus
    relay: OutboxRelay
    engines: EngineSlot
    """The decision engine in force (the store's published policy); see ``decision_engine``."""
    telemetry: Telemetry
    """This process's Prometheus instruments (``GET /metrics``, the worker's metrics port)."""
    view: EntitlementView | None = None
    tokens: TokenResolver | None = None
    background: BackgroundRelay | None = None
    observers: list[CommitObserver] = field(default_factory=list)
    committed: list[CommittedObserver] = field(default_factory=list)
    """Told the messages of every unit of work after it committed (the metrics)."""
    keyring: Keyring | None = None
    pseudonymizer: Pseudonymizer | None = None
    audit_trail: AuditTrail | None = None
    approvals: ApprovalContext | None = None
    notice_setup: notices.NoticeSetup | None = None
    complaints: ComplaintSetup | None = None
    hardship: HardshipSetup | None = None
    remedy_setup: remedies.RemedySetup | None = None
    channels: dict[str, notices.Channel] = field(default_factory=dict)
    """The enabled external notice channels by name (the inbox is always on)."""
    ledger: remedies.LedgerWebhook | None = None
    """Where approved remedies are exported (None: ``remedies.ledger_webhook_url`` unset)."""
    alerts: monitoring.AlertWebhooks | None = None
    """Where incident alerts are sent (None: ``monitoring.alert_webhooks`` unset)."""
    retry: notices.RetryPolicy = field(default_factory=notices.RetryPolicy)
    jobs: JobRegistry = field(default_factory=JobRegistry)
    """What 'repayguard worker' runs; a feature registers its timed jobs here."""
    monitor: monitoring.PortfolioMonitor | None = None
    """The portfolio metrics' sliding windows of this process (``current_snapshot``)."""
    _closed: bool = field(default=False, repr=False)

    @property
    def decision_engine(self) -> DecisionEngine:
        """The engine to decide with now; refused (PolicyNotInForce) while the store holds no
        published version of ``decisions.policy_name``. A run takes it once and keeps it."""
        return self.engines.current()

    @decision_engine.setter
    def decision_engine(self, engine: DecisionEngine) -> None:
        self.engines.replace(engine)

    @property
    def ingest(self) -> ingestion.IngestSetup:
        """What ingestion needs from this process: the event time window and the keyring."""
        assert self.keyring is not None  # opened before anything can ingest
        config = self.settings.ingestion
        return ingestion.IngestSetup.of(
            keyring=self.keyring,
            max_future_seconds=config.max_future_seconds,
            oldest_event_days=config.oldest_event_days,
        )

    def uow(self) -> UnitOfWork:
        """A fresh unit of work; committing it hands its messages to the relay."""
        after_commit = self.background.notify if self.background else self._drain
        return UnitOfWork(
            self.session_factory,
            clock=self.clock,
            after_commit=after_commit,
            observers=self.observers,
            committed=self.committed,
        )

    def _drain(self) -> None:
        self.relay.drain()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.background is not None:
            self.background.stop()
        self._seal_audit_chain()
        self.bus.close()
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if callable(close):
                close()
        if self.ledger is not None:
            self.ledger.close()
        if self.alerts is not None:
            self.alerts.close()
        self.engine.dispose()

    def _seal_audit_chain(self) -> None:
        """A process that appended audit records signs the head as it stops, so its last
        records are not left unsealed until the next timer (a failure is logged: shutdown
        goes on, and the worker's timer seals them later)."""
        trail = self.audit_trail
        if trail is None or trail.checkpoints is None or not trail.appended:
            return
        try:
            write_checkpoint_now(trail.checkpoints, uow=self.uow(), only_unsealed=True)
        except Exception:  # the database may be what failed; the timer seals later
            structlog.get_logger(__name__).warning("audit.seal_at_shutdown_failed", exc_info=True)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    bus: Bus | None = None,
    migrate: bool = False,
    serve_view: bool = False,
    production_model: bool = True,
    channels: Mapping[str, notices.Channel] | None = None,
    consume: bool = False,
    ledger: remedies.LedgerWebhook | None = None,
    series: monitoring.SeriesSource | None = None,
    alerts: monitoring.AlertWebhooks | None = None,
) -> Container:
    """Build the container.

    ``migrate`` applies pending migrations first (serve and demo do); otherwise a database
    that is not at the current schema is refused with what to run. ``serve_view`` loads the
    in-memory entitlement view that authorize reads, and keeps it current from the bus.
    ``production_model`` decides with the registry's production model (unless
    ``decisions.model_path`` names a file) and switches to a newly promoted one; commands that
    manage models turn it off, so a damaged production artefact never locks them out.
    ``channels`` offers notice channel adapters by name (used when ``notices.channels``
    enables them), besides the webhook and installed adapters. ``ledger`` replaces the ledger
    webhook ``remedies.ledger_webhook_url`` would build. ``series`` gives the detection job its
    daily metric series (default: the portfolio's own, ``monitoring.daily_series``);
    ``alerts`` replaces the signed sender ``monitoring.alert_webhooks`` would build.

    The bus is ``bus``, else the one ``bus.url`` names (NATS JetStream), else the in-process
    bus. It is opened before any state is loaded and started after all wiring (the catch-up
    rule, ``platform.nats_bus``). ``consume`` makes this process one of those that handle
    effects on a shared bus (serve and worker); a one-shot command only publishes and follows.
    The in-process bus delivers everything inline in the committing process either way.
    """
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    if migrate:
        schema.upgrade(engine)
    elif not schema.is_current(engine):
        engine.dispose()
        raise DatabaseNotReady(
            f"the database at {settings.database_url} is not at the current schema",
            hint="run 'repayguard db upgrade' first",
        )
    session_factory = make_session_factory(engine)
    clock = clock or SystemClock()
    bus = bus or _bus_from(settings.bus)
    try:
        # Before anything is loaded from the database: the position following starts from.
        bus.open()
        engines = open_slot(
            policy_name=settings.decisions.policy_name,
            policy_path=settings.decisions.policy_path,
            model_path=settings.decisions.model_path,
            bands_path=settings.decisions.bands_path,
            profiles=policies.profiles(),
        )
    except BaseException:
        bus.close()
        engine.dispose()
        raise
    relay = OutboxRelay(session_factory, bus, clock=clock)
    container = Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        clock=clock,
        bus=bus,
        relay=relay,
        engines=engines,
        telemetry=Telemetry(clock=clock),
    )
    container.committed.append(count_committed(container.telemetry))
    container.pseudonymizer = keys.open_pseudonymizer(settings)
    try:
        paths = keys.key_paths(settings)
        container.keyring = keys.open_keyring(paths)
        bus.follow(keys.KEYS_ROTATED, keys.reload_on_rotation(container.keyring))
        if settings.audit.enabled:
            container.audit_trail = make_audit_observer(
                pseudonymizer=container.pseudonymizer,
                clock=clock,
                checkpoints=keys.open_checkpoints(paths),
            )
            container.observers.append(container.audit_trail)
        seeded = migrate and _seed_shipped_policy(container)
        _reload_policy(container)
        _reload_challenger(container)
        _reload_overlays(container)
        if production_model and settings.decisions.model_path is None:
            _decide_with_production_model(container)
    except BaseException:
        container.close()
        raise
    bus.follow(policies.POLICY_PUBLISHED, lambda message: _follow_policy(container, message))
    bus.follow(shadow.CHALLENGER_CHANGED, lambda _: _reload_challenger(container))
    if production_model and settings.decisions.model_path is None:
        bus.follow(risk.MODEL_PROMOTED, lambda _: _decide_with_production_model(container))
    if settings.decisions.online:
        handler = OnlineHandler(
            engine=lambda: container.decision_engine,
            history_days=settings.decisions.history_days,
        )
        bus.subscribe_batch(
            ingestion.EVENTS_INGESTED,
            idempotent_batch("decisions.online", handler, uow=container.uow),
            consumer="decisions.online",
            max_batch=settings.decisions.online_coalesce,
        )
    _wire_approvals(container)
    if settings.security.auth == "required":
        container.tokens = TokenResolver(
            session_factory,
            clock=clock,
            ttl=timedelta(seconds=settings.security.token_cache_seconds),
        )
        for name in ("repayguard.token.revoked", "repayguard.operator.disabled"):
            bus.follow(name, container.tokens.on_revoked)
    if serve_view:
        in_force = container.decision_engine
        view = EntitlementView(
            defaults=in_force.defaults,
            channels=in_force.policy.channels,
            unknown_borrower=settings.entitlements.unknown_borrower,
        )
        with session_factory() as session:
            view.load(entitlements.load(session).values())
        bus.follow(entitlements.ENTITLEMENTS_CHANGED, view.on_changed)
        container.view = view
    try:
        _wire_notices(container, channels or {})
    except BaseException:
        container.close()
        raise
    _wire_scheduler(container)
    container.jobs.register(
        ExpireOverdueRequests(every=timedelta(seconds=settings.approvals.expire_every_seconds))
    )
    container.jobs.register(
        ingestion.expiry_job(
            retention=timedelta(days=settings.ingestion.quarantine_retention_days),
            every=timedelta(seconds=settings.ingestion.quarantine_expiry_every_seconds),
        )
    )
    trail = container.audit_trail
    if trail is not None and trail.checkpoints is not None and trail.checkpoints.seal_every:
        container.jobs.register(seal_job(trail.checkpoints, trail.checkpoints.seal_every))
    try:
        _wire_remedies(container, ledger)
        _wire_complaints(container)
        _wire_hardship(container)
        _wire_monitoring(container, series or monitoring.daily_series, alerts)
        _wire_overlays(container)
    except BaseException:
        container.close()
        raise
    _wire_portfolio_monitor(container)
    _reload_on_gap(container, production_model=production_model)
    plug_probes(
        container.telemetry,
        session_factory=session_factory,
        clock=clock,
        relay=relay,
        bus=bus,
        engines=engines,
        view=container.view,
    )
    if settings.bus.relay == "background":
        container.background = BackgroundRelay(relay)
        container.background.start()
    elif seeded:
        container.relay.drain()  # the seed's messages, now that every consumer is wired
    try:
        bus.start(effects=consume)
    except BaseException:
        container.close()
        raise
    return container


def _bus_from(settings: BusSettings) -> Bus:
    """The shared NATS JetStream bus when ``bus.url`` names a server, else the in-process bus."""
    if settings.url is None:
        return InProcessBus()
    return NatsBus(
        url=settings.url,
        stream=settings.stream,
        subject_prefix=settings.subject_prefix,
        ack_wait_seconds=settings.ack_wait_seconds,
        publish_timeout_seconds=settings.publish_timeout_seconds,
        connect_timeout_seconds=settings.connect_timeout_seconds,
        reconnect_wait_seconds=settings.reconnect_wait_seconds,
        max_age_days=settings.max_age_days,
        duplicate_window_seconds=settings.duplicate_window_seconds,
        poll_seconds=min(1.0, settings.max_view_age_seconds / 4),
    )


def _reload_on_gap(container: Container, *, production_model: bool) -> None:
    """What rebuilds this process's followed state from its sources when the bus may have
    missed messages for it: the authorize view, the token cache, the policy in force, the
    keyring, the production model. Whatever else follows the bus registers its own reload
    here too."""
    bus = container.bus
    view = container.view
    if view is not None:
        factory = container.session_factory

        def reload_view() -> None:
            with factory() as session:
                view.load(entitlements.load(session).values())

        bus.on_gap(reload_view)
    if container.tokens is not None:
        bus.on_gap(container.tokens.forget_all)
    bus.on_gap(lambda: _refresh_policy(container))
    keyring = container.keyring
    if keyring is not None:

        def reload_keys() -> None:
            keyring.reload()  # in place: every holder shares this keyring

        bus.on_gap(reload_keys)
    if production_model and container.settings.decisions.model_path is None:
        bus.on_gap(lambda: _decide_with_production_model(container))


def _wire_approvals(container: Container) -> None:
    """Maker-checker: what applying an approved request needs, and decisions held for
    approval turned into requests (one pending per borrower)."""
    hours = container.settings.approvals
    lifetimes = {kind: timedelta(hours=getattr(hours, f"{kind}_hours")) for kind in KINDS}
    container.approvals = ApprovalContext(
        profiles=policies.profiles(),
        registry=risk.default_registry(container.settings.data_dir),
        engine=lambda: container.decision_engine,
        lifetimes=lifetimes,
    )
    container.bus.subscribe(
        entitlements.DECISIONS_HELD,
        idempotent(
            "approvals.held_decisions",
            HeldDecisions(lifetime=lifetimes["decision"]),
            uow=container.uow,
        ),
        consumer="approvals.held_decisions",
    )
    superseded = SupersededHeldDecisions()
    container.bus.subscribe(
        entitlements.ENTITLEMENTS_CHANGED,
        idempotent("approvals.superseded_by_change", superseded.on_changed, uow=container.uow),
        consumer="approvals.superseded_by_change",
    )
    container.bus.subscribe(
        decisions.RUN_COMPLETED,
        idempotent("approvals.superseded_by_run", superseded.on_run, uow=container.uow),
        consumer="approvals.superseded_by_run",
    )


def _wire_notices(container: Container, offered: Mapping[str, notices.Channel]) -> None:
    """Notices: written when entitlements change (after the view has them) or go live, in the
    inbox at once and delivered through the enabled external channels."""
    config = container.settings.notices
    composer = notices.NoticeComposer(
        policy=lambda: container.decision_engine.compiled,
        zone=ZoneInfo(config.timezone),
        templates_dir=config.templates_dir,
        risk=lambda: tier_move(container.decision_engine.model, container.decision_engine.bands),
    )
    composer.check_templates()
    made = _built_in_channels(container, offered=offered)
    built = {**offered, **made}
    try:
        container.channels = notices.resolve_channels(config.channels, built=built)
    except BaseException:
        _close_channels(made.values())
        raise
    _close_channels(c for name, c in built.items() if name not in container.channels)
    container.retry = notices.RetryPolicy(
        max_attempts=config.max_attempts,
        base_seconds=config.backoff_base_seconds,
        cap_seconds=config.backoff_cap_seconds,
        # A claim covers a batch of 100 attempts that each may take the slowest channel's
        # whole timeout.
        claim_seconds=60 + 100 * config.slowest_attempt_seconds(),
    )
    setup = notices.NoticeSetup(
        composer=composer,
        defaults=lambda: container.decision_engine.defaults,
        read_inputs=decisions.inputs_of,
        channels=tuple(container.channels),
        default_locale=config.default_locale,
    )
    container.notice_setup = setup
    bus = container.bus
    bus.subscribe(
        entitlements.ENTITLEMENTS_CHANGED,
        idempotent("notices.changed", notices.NoticeHandler(setup=setup), uow=container.uow),
        consumer="notices.changed",
    )
    bus.subscribe(
        entitlements.ENTITLEMENTS_ACTIVATED,
        idempotent(
            "notices.activated",
            notices.NoticeHandler(setup=setup, activated=True),
            uow=container.uow,
        ),
        consumer="notices.activated",
    )
    if container.channels:
        bus.subscribe(
            notices.NOTICES_CREATED,
            notices.DispatchHandler(
                uow=container.uow, channels=container.channels, retry=container.retry
            ),
            consumer="notices.dispatch",
        )


def _built_in_channels(
    container: Container, *, offered: Mapping[str, notices.Channel]
) -> dict[str, notices.Channel]:
    """The built-in channels the settings enable and nothing offered replaces: the webhook,
    and sms and email when their settings are given (otherwise an installed adapter of that
    name is, which the settings checked). SMS and e-mail read contacts from the profiles."""
    config = container.settings.notices
    enabled = set(config.channels) - set(offered)
    made: dict[str, notices.Channel] = {}
    try:
        if notices.WEBHOOK in enabled:
            assert config.webhook_url is not None  # the settings refuse a webhook without them
            assert config.webhook_secret is not None
            made[notices.WEBHOOK] = notices.WebhookChannel(
                url=config.webhook_url,
                secret=config.webhook_secret.get_secret_value().encode(),
                timeout_seconds=config.webhook_timeout_seconds,
                clock=container.clock,
            )
        assert container.keyring is not None  # opened before any feature is wired
        contacts = borrowers.ContactBook(
            session_factory=container.session_factory, keyring=container.keyring
        )
        if notices.SMS in enabled and config.sms_configured:
            made[notices.SMS] = _sms_channel(config, contacts)
        if notices.EMAIL in enabled and config.email_configured:
            made[notices.EMAIL] = _email_channel(config, contacts, clock=container.clock)
    except BaseException:
        _close_channels(made.values())
        raise
    return made


def _sms_channel(config: NoticeSettings, contacts: borrowers.ContactBook) -> notices.Channel:
    assert config.sms_gateway_url is not None  # the settings refuse sms without them
    assert config.sms_api_key is not None
    return notices.SmsGatewayChannel(
        url=config.sms_gateway_url,
        api_key=config.sms_api_key.get_secret_value(),
        phone_of=contacts.phone_of,
        timeout_seconds=config.sms_timeout_seconds,
        sender=config.sms_sender,
        default_country_code=config.sms_default_country_code,
        max_chars=config.sms_max_chars,
    )


def _email_channel(
    config: NoticeSettings, contacts: borrowers.ContactBook, *, clock: Clock
) -> notices.Channel:
    assert config.smtp_host is not None  # the settings refuse e-mail without them
    assert config.smtp_from is not None
    return notices.EmailChannel(
        host=config.smtp_host,
        port=config.smtp_port,
        security=config.smtp_security,
        sender=config.smtp_from,
        email_of=contacts.email_of,
        clock=clock,
        timeout_seconds=config.smtp_timeout_seconds,
        username=config.smtp_username,
        password=config.smtp_password.get_secret_value() if config.smtp_password else None,
    )


def _close_channels(channels: Iterable[notices.Channel]) -> None:
    """Release what channels hold (an HTTP client's connections); not every channel has any."""
    for channel in channels:
        close = getattr(channel, "close", None)
        if callable(close):
            close()


def _wire_remedies(container: Container, ledger: remedies.LedgerWebhook | None) -> None:
    """Remedies of reversed restrictions: how they are computed, the approval requests of
    those above the auto-approval amount, and approved ones exported to the lender's ledger
    (when a ledger webhook is configured or given)."""
    config = container.settings.remedies
    assert container.notice_setup is not None  # notices are wired before remedies
    assert container.approvals is not None
    container.remedy_setup = remedies.RemedySetup(
        notices=container.notice_setup,
        rates=remedies.Rates(
            failed_debit_fee=config.failed_debit_fee,
            failed_debit_penalty_rate=config.failed_debit_penalty_rate,
            early_repayment_interest_rate=config.early_repayment_interest_rate,
            late_mark_dpd=config.late_mark_dpd,
        ),
        currency=config.currency,
        auto_approve_up_to_minor=round(config.auto_approve_up_to * 100),
    )
    bus = container.bus
    bus.subscribe(
        remedies.REMEDY_PROPOSED,
        idempotent(
            "approvals.proposed_remedies",
            ProposedRemedies(lifetime=container.approvals.lifetimes["remedy"]),
            uow=container.uow,
        ),
        consumer="approvals.proposed_remedies",
    )
    if ledger is None and config.ledger_webhook_url is not None:
        assert config.ledger_webhook_secret is not None  # the settings refuse one without
        ledger = remedies.LedgerWebhook(
            url=config.ledger_webhook_url,
            secret=config.ledger_webhook_secret.get_secret_value().encode(),
            timeout_seconds=config.ledger_webhook_timeout_seconds,
            clock=container.clock,
        )
    if ledger is not None:
        container.ledger = ledger
        bus.subscribe(
            remedies.REMEDY_APPROVED,
            idempotent(
                "remedies.ledger",
                remedies.LedgerExport(ledger=ledger, retry=container.retry),
                uow=container.uow,
            ),
            consumer="remedies.ledger",
        )
        container.jobs.register(
            remedies.ExportRemedies(
                ledger=ledger,
                retry=container.retry,
                every=timedelta(seconds=container.settings.remedies.export_every_seconds),
            )
        )


def _wire_complaints(container: Container) -> None:
    """Complaints and appeals: the setup the use-cases share, the borrower re-decided when a
    case opens or closes, reversals followed through their approval, SLA escalation on the
    worker. What the borrower is told about a case goes out as notices (inbox and channels)."""
    settings = container.settings
    config = settings.complaints
    assert container.keyring is not None  # opened before any feature is wired
    assert container.approvals is not None
    assert container.notice_setup is not None  # notices are wired before complaints
    setup = ComplaintSetup(
        keyring=container.keyring,
        notices=container.notice_setup,
        approvals=container.approvals,
        engine=lambda: container.decision_engine,
        sla=timedelta(days=config.sla_days),
        escalate_before=timedelta(days=config.escalate_before_days),
        reversal_days=config.reversal_days,
        remedies=container.remedy_setup,
    )
    container.complaints = setup
    bus = container.bus
    redecide = idempotent(
        "complaints.redecide",
        Redecide(
            engine=lambda: container.decision_engine,
            history_days=settings.decisions.history_days,
        ),
        uow=container.uow,
    )
    for name in (COMPLAINT_FILED, COMPLAINT_RESOLVED):
        bus.subscribe(name, redecide, consumer="complaints.redecide")
    reversals = idempotent("complaints.reversals", ReversalOutcomes(setup=setup), uow=container.uow)
    for name in (APPROVAL_APPROVED, APPROVAL_REJECTED, APPROVAL_WITHDRAWN, APPROVAL_EXPIRED):
        bus.subscribe(name, reversals, consumer="complaints.reversals")
    container.jobs.register(
        escalation_job(
            every=timedelta(seconds=config.escalate_every_seconds),
            escalate_before=timedelta(days=config.escalate_before_days),
            batch=settings.scheduler.batch_size,
        )
    )


def _wire_hardship(container: Container) -> None:
    """Hardship cases: their setup, the borrower re-decided when a case opens or closes (the
    same consumer as appeals, with its own trigger), SLA escalation on the worker."""
    settings = container.settings
    config = settings.hardship
    assert container.keyring is not None  # opened before any feature is wired
    assert container.notice_setup is not None  # notices are wired before hardship
    container.hardship = HardshipSetup(
        keyring=container.keyring,
        notices=container.notice_setup,
        sla=timedelta(days=config.sla_days),
        escalate_before=timedelta(days=config.escalate_before_days),
    )
    redecide = idempotent(
        "hardship.redecide",
        Redecide(
            engine=lambda: container.decision_engine,
            history_days=settings.decisions.history_days,
            trigger=decisions.triggers.HARDSHIP,
        ),
        uow=container.uow,
    )
    for name in (HARDSHIP_OPENED, HARDSHIP_CLOSED):
        container.bus.subscribe(name, redecide, consumer="hardship.redecide")
    container.jobs.register(
        hardship_escalation_job(
            every=timedelta(seconds=config.escalate_every_seconds),
            escalate_before=timedelta(days=config.escalate_before_days),
            batch=settings.scheduler.batch_size,
        )
    )


def _wire_monitoring(
    container: Container,
    series: monitoring.SeriesSource | None,
    alerts: monitoring.AlertWebhooks | None,
) -> None:
    """Monitoring: the thresholds (checked at start-up, so a bad file stops the process with
    the key named), the detection job when a series source is given, and incident alerts to
    the configured webhooks (first attempt by a consumer, retries on the worker)."""
    config = container.settings.monitoring
    thresholds = monitoring.load_thresholds(config.thresholds_path)
    webhooks = tuple(config.alert_webhooks)
    if alerts is None and webhooks:
        assert config.alert_secret is not None  # the settings refuse webhooks without one
        alerts = monitoring.AlertWebhooks(
            secret=config.alert_secret.get_secret_value().encode(),
            timeout_seconds=config.alert_timeout_seconds,
            clock=container.clock,
        )
    if series is not None:
        container.jobs.register(
            monitoring.DetectIncidents(
                source=series,
                thresholds=thresholds,
                every=timedelta(seconds=config.detect_every_seconds),
                alert_webhooks=webhooks if alerts is not None else (),
            )
        )
    if alerts is None:
        return
    container.alerts = alerts
    container.bus.subscribe(
        monitoring.INCIDENT_OPENED,
        idempotent(
            "monitoring.alerts",
            monitoring.AlertOnIncident(sender=alerts, retry=container.retry, uow=container.uow),
            uow=container.uow,
        ),
        consumer="monitoring.alerts",
    )
    container.jobs.register(
        monitoring.RetryAlerts(
            sender=alerts,
            retry=container.retry,
            every=timedelta(seconds=config.alert_retry_every_seconds),
        )
    )


def _wire_overlays(container: Container) -> None:
    """Emergency overlays: every process swaps the overlays in force when one starts or ends;
    one consumer re-decides the overlay's segment at once; incidents arm matching playbooks;
    the worker ends overlays past their expiry or review deadline."""
    settings = container.settings
    bus = container.bus
    redecide = idempotent(
        "overlays.redecide",
        overlays.RedecideSegment(
            engine=lambda: container.decision_engine,
            refresh=lambda: _reload_overlays(container),
            reader=container.uow,
            history_days=settings.decisions.history_days,
        ),
        uow=container.uow,
    )
    for name in overlays.CHANGES:
        bus.follow(name, lambda _: _reload_overlays(container))
        bus.subscribe(name, redecide, consumer="overlays.redecide")
    if settings.overlays.arm_on_incidents:
        bus.subscribe(
            overlays.INCIDENT_OPENED,
            idempotent(
                "overlays.incidents",
                overlays.ArmOnIncident(uow=container.uow, profiles=policies.profiles),
                uow=container.uow,
            ),
            consumer="overlays.incidents",
        )
    container.jobs.register(
        overlays.expire_job(
            every=timedelta(seconds=settings.overlays.expire_every_seconds),
            batch=settings.scheduler.batch_size,
        )
    )


def _reload_overlays(container: Container) -> None:
    """Put the overlays in force (armed or reviewed, in arming order) into the engine slot."""
    with container.session_factory() as session:
        found = overlays.active_overlays(session)
    container.engines.use_overlays(found)


def _wire_scheduler(container: Container) -> None:
    """The timed transitions 'repayguard worker' runs (features register more jobs here)."""
    config = container.settings.scheduler
    container.jobs = JobRegistry(
        default_jobs(
            engine=lambda: container.decision_engine,
            history_days=container.settings.decisions.history_days,
            channels=container.channels,
            retry=container.retry,
            activate_every=timedelta(seconds=config.activate_every_seconds),
            review_every=timedelta(seconds=config.review_every_seconds),
            deliver_every=timedelta(seconds=config.deliver_every_seconds),
            cadence_every=timedelta(seconds=config.cadence_every_seconds),
            batch=config.batch_size,
        )
    )


def _wire_portfolio_monitor(container: Container) -> None:
    """The portfolio monitor, made stale by every message that changes the portfolio; its
    latest day is what ``/metrics`` exports as ``repayguard_portfolio``."""
    registry = risk.default_registry(container.settings.data_dir)
    container.monitor = monitoring.PortfolioMonitor(
        uow=container.uow,
        clock=container.clock,
        refresh=timedelta(seconds=container.settings.monitoring.refresh_seconds),
        score_reference=lambda: monitoring.production_reference(
            uow=container.uow(), registry=registry
        ),
    )
    for name in monitoring.FOLLOWED:
        container.bus.follow(name, container.monitor.on_message)
    container.telemetry.probes.portfolio = monitoring.PortfolioGauges(container.monitor)


def _seed_shipped_policy(container: Container) -> bool:
    """Publish the shipped policy as version 1 when it is the configured policy and the store
    has no version of it (policies/seed.py); True when it did. Its messages stay in the
    outbox until every consumer is wired (the caller drains or the relay thread does)."""
    source = resources.read_text(decisions.DEFAULT_POLICY)
    shipped = policies.load_policy_text(source, profiles=policies.profiles()).name
    if container.settings.decisions.policy_name != shipped:
        return False
    uow = UnitOfWork(
        container.session_factory, clock=container.clock, observers=container.observers
    )
    with acting_as(SYSTEM_ACTOR):
        published = policies.seed_policy(
            policies.SeedPolicy(source),
            uow=uow,
            profiles=policies.profiles(),
            also=withdraw_outdated_publications,
        )
    return published is not None


def _reload_policy(container: Container) -> bool:
    """Take the latest published version of the policy in force from the store."""
    with container.session_factory() as session:
        return container.engines.reload_policy(session, profiles=policies.profiles())


def _reload_challenger(container: Container) -> None:
    """Put the shadow challenger in effect (or none) into this process's engine slot."""
    with container.session_factory() as session:
        challenger = shadow.load_challenger(session, profiles=policies.profiles())
    container.engines.use_challenger(challenger)


def _follow_policy(container: Container, message: Message) -> None:
    """A version was published (here or in another process): when it is of the policy in
    force, swap the engine and the authorize view's defaults and declared channels."""
    if message.payload.get("name") == container.engines.policy_name:
        _refresh_policy(container)


def _refresh_policy(container: Container) -> None:
    """Reload the policy in force from the store; when it moved, the view's defaults and
    declared channels follow."""
    if not _reload_policy(container):
        return
    engine = container.engines.loaded
    if container.view is not None and engine is not None:
        container.view.use_defaults(engine.defaults, channels=engine.policy.channels)


def _decide_with_production_model(container: Container) -> None:
    """Put the registry's production model (verified) into the decision engine, if any."""
    registry = risk.default_registry(container.settings.data_dir)
    uow = UnitOfWork(container.session_factory, clock=container.clock)
    model = risk.load_production_model(uow=uow, registry=registry)
    if model is None:
        return
    missing = risk.missing_decision_inputs(model)
    if missing:
        raise ModelNotUsableForDecisions(
            f"production model {model.version} needs inputs repayguard does not compute: "
            f"{', '.join(missing)}",
            hint="promote a model trained from the event store ('repayguard model train')",
        )
    container.engines.use_model(model)
