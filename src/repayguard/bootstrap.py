"""The one place that wires repayguard together: database, bus, relay, engine, consumers.

Entry points (API, CLI, tests) call :func:`bootstrap` with a :class:`Settings` and get a
:class:`Container`; nothing else creates engines, buses or relays, and nothing is global.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import ExitStack
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
    APPROVALS_DECIDED,
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
    ComplaintFiled,
    ComplaintResolved,
    ComplaintSetup,
    Redecide,
    ReversalOutcomes,
    escalation_job,
)
from repayguard.config import BusSettings, NoticeSettings, Settings
from repayguard.core.risk_moves import tier_move
from repayguard.decisions import DecisionEngine, EngineSlot, OnlineHandler, open_slot
from repayguard.entitlements import EntitlementView
from repayguard.errors import DatabaseNotReady
from repayguard.hardship import (
    HardshipClosed,
    HardshipFact,
    HardshipOpened,
    HardshipSetup,
    hardship_escalation_job,
)
from repayguard.identity import OperatorDisabled, TokenResolver, TokenRevoked
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
from repayguard.risk.errors import ModelNotUsableForDecisions
from repayguard.scheduler import JobRegistry, default_jobs

__all__ = ["Container", "Plumbing", "bootstrap"]


@dataclass(frozen=True, slots=True)
class Plumbing:
    """What every feature is wired onto: the database, the clock, the bus and its relay, the
    decision engine slot, the keys and the audit trail of this process. Built first; each
    feature's ``_wire_*`` takes it (and the parts of other features it needs) and returns its
    own part, so the order of wiring is what each one needs."""

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
    keyring: Keyring
    pseudonymizer: Pseudonymizer
    audit_trail: AuditTrail | None
    observers: tuple[CommitObserver, ...]
    committed: tuple[CommittedObserver, ...]
    """Told the messages of every unit of work after it committed (the metrics)."""
    background: BackgroundRelay | None
    """The relay thread (``bus.relay = background``), started once everything is wired;
    None: each commit drains the outbox inline."""

    @property
    def decision_engine(self) -> DecisionEngine:
        """The engine to decide with now; refused (PolicyNotInForce) while the store holds no
        published version of ``decisions.policy_name``. A run takes it once and keeps it."""
        return self.engines.current()

    @property
    def ingest(self) -> ingestion.IngestSetup:
        """What ingestion needs from this process: the event time window and the keyring."""
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


@dataclass(frozen=True, slots=True)
class NoticeWiring:
    """The notices part: what the use-cases share, the enabled external channels by name (the
    inbox is always on) and the delivery retry policy other exports reuse."""

    setup: notices.NoticeSetup
    channels: Mapping[str, notices.Channel]
    retry: notices.RetryPolicy


@dataclass(frozen=True, slots=True)
class Container(Plumbing):
    """Everything a running repayguard needs, built once per process by :func:`bootstrap`
    and never changed afterwards: the plumbing plus the part each feature wired onto it.
    ``close`` releases what it holds in the reverse order of opening."""

    view: EntitlementView | None
    """The in-memory entitlements authorize reads (``serve_view``), kept current from the bus."""
    tokens: TokenResolver | None
    approvals: ApprovalContext
    notice_setup: notices.NoticeSetup
    channels: Mapping[str, notices.Channel]
    """The enabled external notice channels by name (the inbox is always on)."""
    retry: notices.RetryPolicy
    remedy_setup: remedies.RemedySetup
    ledger: remedies.LedgerWebhook | None
    """Where approved remedies are exported (None: ``remedies.ledger_webhook_url`` unset)."""
    complaints: ComplaintSetup
    hardship: HardshipSetup
    alerts: monitoring.AlertWebhooks | None
    """Where incident alerts are sent (None: ``monitoring.alert_webhooks`` unset)."""
    jobs: JobRegistry
    """What 'repayguard worker' runs; each feature registered its timed jobs here."""
    monitor: monitoring.PortfolioMonitor
    """The portfolio metrics' sliding windows of this process (``current_snapshot``)."""
    resources: ExitStack = field(repr=False)
    """What closing releases: relay thread, audit seal, bus, channels, webhooks, engine."""

    def close(self) -> None:
        """Stop the relay thread, seal the audit chain's head, stop the bus, close channels
        and webhooks, dispose of the database engine (a second call does nothing)."""
        self.resources.close()

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

    Whatever is opened is registered on one exit stack as it opens: a failure anywhere while
    wiring releases all of it, and the container's ``close`` does the same later.
    """
    resources = ExitStack()
    with ExitStack() as failing:
        failing.callback(resources.close)
        container = _wire(
            resources,
            _plumbing(resources, settings, clock=clock, bus=bus, migrate=migrate),
            migrate=migrate,
            serve_view=serve_view,
            production_model=production_model,
            offered=channels or {},
            consume=consume,
            ledger=ledger,
            series=series or monitoring.daily_series,
            alerts=alerts,
        )
        failing.pop_all()
    return container


def _plumbing(
    resources: ExitStack,
    settings: Settings,
    *,
    clock: Clock | None,
    bus: Bus | None,
    migrate: bool,
) -> Plumbing:
    """The database (migrated or checked current), the bus (opened before anything is loaded
    from the database: the position following starts from), the engine slot, keys, audit."""
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    resources.callback(engine.dispose)
    if migrate:
        schema.upgrade(engine)
    elif not schema.is_current(engine):
        raise DatabaseNotReady(
            f"the database at {settings.database_url} is not at the current schema",
            hint="run 'repayguard db upgrade' first",
        )
    session_factory = make_session_factory(engine)
    clock = clock or SystemClock()
    bus = bus or _bus_from(settings.bus)
    resources.callback(bus.close)
    bus.open()
    engines = open_slot(
        policy_name=settings.decisions.policy_name,
        policy_path=settings.decisions.policy_path,
        model_path=settings.decisions.model_path,
        bands_path=settings.decisions.bands_path,
        profiles=policies.profiles(),
    )
    relay = OutboxRelay(session_factory, bus, clock=clock)
    telemetry = Telemetry(clock=clock)
    paths = keys.key_paths(settings)
    keyring = keys.open_keyring(paths)
    bus.follow(keys.KeysRotated, keys.reload_on_rotation(keyring))
    pseudonymizer = keys.open_pseudonymizer(settings)
    trail = (
        make_audit_observer(
            pseudonymizer=pseudonymizer, clock=clock, checkpoints=keys.open_checkpoints(paths)
        )
        if settings.audit.enabled
        else None
    )
    return Plumbing(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        clock=clock,
        bus=bus,
        relay=relay,
        engines=engines,
        telemetry=telemetry,
        keyring=keyring,
        pseudonymizer=pseudonymizer,
        audit_trail=trail,
        observers=(trail,) if trail is not None else (),
        committed=(count_committed(telemetry),),
        background=BackgroundRelay(relay) if settings.bus.relay == "background" else None,
    )


def _wire(
    resources: ExitStack,
    plumbing: Plumbing,
    *,
    migrate: bool,
    serve_view: bool,
    production_model: bool,
    offered: Mapping[str, notices.Channel],
    consume: bool,
    ledger: remedies.LedgerWebhook | None,
    series: monitoring.SeriesSource,
    alerts: monitoring.AlertWebhooks | None,
) -> Container:
    """Every feature onto the plumbing, each given what it needs, then the container; the bus
    starts last, once every consumer is subscribed."""
    p = plumbing
    settings = p.settings
    seeded = migrate and _seed_shipped_policy(p)
    _reload_policy(p)
    _reload_challenger(p)
    _reload_overlays(p)
    follows_model = production_model and settings.decisions.model_path is None
    if follows_model:
        _decide_with_production_model(p)
    _wire_online(p)
    # The view first: on the in-process bus an entitlement change reaches authorize before
    # the effect consumers of the same message (approvals, notices) have run.
    view = _wire_view(p) if serve_view else None
    approvals = _wire_approvals(p)
    tokens = _wire_tokens(p)
    _follow_engine(p, view=view, follows_model=follows_model)
    wired = _wire_notices(p, offered, resources)
    jobs = _wire_scheduler(p, wired)
    remedy_setup, ledger = _wire_remedies(p, wired, approvals, jobs, ledger, resources)
    complaints = _wire_complaints(p, wired.setup, approvals, remedy_setup, jobs)
    hardship = _wire_hardship(p, wired.setup, jobs)
    alerts = _wire_monitoring(p, jobs, series, alerts, wired.retry, resources)
    _wire_overlays(p, jobs)
    monitor = _wire_portfolio_monitor(p)
    _reload_on_gap(p, view=view, tokens=tokens, follows_model=follows_model)
    plug_probes(
        p.telemetry,
        session_factory=p.session_factory,
        clock=p.clock,
        relay=p.relay,
        bus=p.bus,
        engines=p.engines,
        view=view,
    )
    container = Container(
        **{name: getattr(p, name) for name in Plumbing.__dataclass_fields__},
        view=view,
        tokens=tokens,
        approvals=approvals,
        notice_setup=wired.setup,
        channels=wired.channels,
        retry=wired.retry,
        remedy_setup=remedy_setup,
        ledger=ledger,
        complaints=complaints,
        hardship=hardship,
        alerts=alerts,
        jobs=jobs,
        monitor=monitor,
        resources=resources,
    )
    # Closing runs these first (an exit stack unwinds in reverse): the relay thread stops,
    # the audit chain's head is sealed, the bus stops before the channels its consumers use.
    resources.callback(p.bus.close)
    resources.callback(_seal_audit_chain, p)
    if p.background is not None:
        p.background.start()
        resources.callback(p.background.stop)
    elif seeded:
        p.relay.drain()  # the seed's messages, now that every consumer is wired
    p.bus.start(effects=consume)
    return container


def _seal_audit_chain(plumbing: Plumbing) -> None:
    """A process that appended audit records signs the head as it stops, so its last records
    are not left unsealed until the next timer (a failure is logged: shutdown goes on, and the
    worker's timer seals them later)."""
    trail = plumbing.audit_trail
    if trail is None or trail.checkpoints is None or not trail.appended:
        return
    try:
        write_checkpoint_now(trail.checkpoints, uow=plumbing.uow(), only_unsealed=True)
    except Exception:  # the database may be what failed; the timer seals later
        structlog.get_logger(__name__).warning("audit.seal_at_shutdown_failed", exc_info=True)


def _wire_online(p: Plumbing) -> None:
    """The online driver: waiting ``events.ingested`` batches decided together, exactly once."""
    config = p.settings.decisions
    if not config.online:
        return
    handler = OnlineHandler(engine=lambda: p.decision_engine, history_days=config.history_days)
    p.bus.subscribe_batch(
        ingestion.EventsIngested,
        idempotent_batch("decisions.online", handler, uow=p.uow),
        consumer="decisions.online",
        max_batch=config.online_coalesce,
    )


def _wire_tokens(p: Plumbing) -> TokenResolver | None:
    """API tokens resolved through a short cache that revocations empty on every process."""
    security = p.settings.security
    if security.auth != "required":
        return None
    tokens = TokenResolver(
        p.session_factory, clock=p.clock, ttl=timedelta(seconds=security.token_cache_seconds)
    )
    p.bus.follow(TokenRevoked, tokens.on_revoked)
    p.bus.follow(OperatorDisabled, tokens.on_revoked)
    return tokens


def _wire_view(p: Plumbing) -> EntitlementView:
    """The in-memory entitlements authorize reads, loaded now and kept current from the bus."""
    in_force = p.decision_engine
    view = EntitlementView(
        defaults=in_force.defaults,
        channels=in_force.policy.channels,
        unknown_borrower=p.settings.entitlements.unknown_borrower,
    )
    with p.session_factory() as session:
        view.load(entitlements.load(session).values())
    p.bus.follow(entitlements.EntitlementsChanged, view.on_changed)
    return view


def _follow_engine(p: Plumbing, *, view: EntitlementView | None, follows_model: bool) -> None:
    """Swap what the engine slot holds when another process (or this one) publishes a policy
    version, changes the challenger or promotes a model."""
    p.bus.follow(policies.PolicyPublished, lambda message: _follow_policy(p, view, message))
    p.bus.follow(shadow.ChallengerChanged, lambda _: _reload_challenger(p))
    if follows_model:
        p.bus.follow(risk.ModelPromoted, lambda _: _decide_with_production_model(p))


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


def _reload_on_gap(
    p: Plumbing,
    *,
    view: EntitlementView | None,
    tokens: TokenResolver | None,
    follows_model: bool,
) -> None:
    """What rebuilds this process's followed state from its sources when the bus may have
    missed messages for it: the authorize view, the token cache, the policy in force, the
    keyring, the production model. Whatever else follows the bus registers its own reload
    here too."""
    bus = p.bus
    if view is not None:

        def reload_view() -> None:
            with p.session_factory() as session:
                view.load(entitlements.load(session).values())

        bus.on_gap(reload_view)
    if tokens is not None:
        bus.on_gap(tokens.forget_all)
    bus.on_gap(lambda: _refresh_policy(p, view))
    keyring = p.keyring

    def reload_keys() -> None:
        keyring.reload()  # in place: every holder shares this keyring

    bus.on_gap(reload_keys)
    if follows_model:
        bus.on_gap(lambda: _decide_with_production_model(p))


def _wire_approvals(p: Plumbing) -> ApprovalContext:
    """Maker-checker: what applying an approved request needs, and decisions held for
    approval turned into requests (one pending per borrower)."""
    hours = p.settings.approvals
    lifetimes = {kind: timedelta(hours=getattr(hours, f"{kind}_hours")) for kind in KINDS}
    approvals = ApprovalContext(
        profiles=policies.profiles(),
        registry=risk.default_registry(p.settings.data_dir),
        engine=lambda: p.decision_engine,
        lifetimes=lifetimes,
    )
    p.bus.subscribe(
        entitlements.DecisionsHeld,
        idempotent(
            "approvals.held_decisions",
            HeldDecisions(lifetime=lifetimes["decision"]),
            uow=p.uow,
        ),
        consumer="approvals.held_decisions",
    )
    superseded = SupersededHeldDecisions()
    p.bus.subscribe(
        entitlements.EntitlementsChanged,
        idempotent("approvals.superseded_by_change", superseded.on_changed, uow=p.uow),
        consumer="approvals.superseded_by_change",
    )
    p.bus.subscribe(
        decisions.RunCompleted,
        idempotent("approvals.superseded_by_run", superseded.on_run, uow=p.uow),
        consumer="approvals.superseded_by_run",
    )
    return approvals


def _wire_notices(
    p: Plumbing, offered: Mapping[str, notices.Channel], resources: ExitStack
) -> NoticeWiring:
    """Notices: written when entitlements change (after the view has them) or go live, in the
    inbox at once and delivered through the enabled external channels."""
    config = p.settings.notices
    composer = notices.NoticeComposer(
        policy=lambda: p.decision_engine.compiled,
        zone=ZoneInfo(config.timezone),
        templates_dir=config.templates_dir,
        risk=lambda: tier_move(p.decision_engine.model, p.decision_engine.bands),
    )
    composer.check_templates()
    made = _built_in_channels(p, offered=offered)
    built = {**offered, **made}
    with ExitStack() as failing:
        failing.callback(_close_channels, made.values())
        channels = notices.resolve_channels(config.channels, built=built)
        failing.pop_all()
    _close_channels(c for name, c in built.items() if name not in channels)
    resources.callback(_close_channels, list(channels.values()))
    retry = notices.RetryPolicy(
        max_attempts=config.max_attempts,
        base_seconds=config.backoff_base_seconds,
        cap_seconds=config.backoff_cap_seconds,
        # A claim covers a batch of 100 attempts that each may take the slowest channel's
        # whole timeout.
        claim_seconds=60 + 100 * config.slowest_attempt_seconds(),
    )
    setup = notices.NoticeSetup(
        composer=composer,
        defaults=lambda: p.decision_engine.defaults,
        read_inputs=decisions.inputs_of,
        channels=tuple(channels),
        default_locale=config.default_locale,
    )
    bus = p.bus
    bus.subscribe(
        entitlements.EntitlementsChanged,
        idempotent("notices.changed", notices.NoticeHandler(setup=setup), uow=p.uow),
        consumer="notices.changed",
    )
    bus.subscribe(
        entitlements.EntitlementsActivated,
        idempotent(
            "notices.activated",
            notices.NoticeHandler(setup=setup, activated=True),
            uow=p.uow,
        ),
        consumer="notices.activated",
    )
    if channels:
        bus.subscribe(
            notices.NoticesCreated,
            notices.DispatchHandler(uow=p.uow, channels=channels, retry=retry),
            consumer="notices.dispatch",
        )
    return NoticeWiring(setup=setup, channels=channels, retry=retry)


def _built_in_channels(
    p: Plumbing, *, offered: Mapping[str, notices.Channel]
) -> dict[str, notices.Channel]:
    """The built-in channels the settings enable and nothing offered replaces: the webhook,
    and sms and email when their settings are given (otherwise an installed adapter of that
    name is, which the settings checked). SMS and e-mail read contacts from the profiles."""
    config = p.settings.notices
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
                clock=p.clock,
            )
        contacts = borrowers.ContactBook(session_factory=p.session_factory, keyring=p.keyring)
        if notices.SMS in enabled and config.sms_configured:
            made[notices.SMS] = _sms_channel(config, contacts)
        if notices.EMAIL in enabled and config.email_configured:
            made[notices.EMAIL] = _email_channel(config, contacts, clock=p.clock)
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


def _wire_remedies(
    p: Plumbing,
    wired: NoticeWiring,
    approvals: ApprovalContext,
    jobs: JobRegistry,
    ledger: remedies.LedgerWebhook | None,
    resources: ExitStack,
) -> tuple[remedies.RemedySetup, remedies.LedgerWebhook | None]:
    """Remedies of reversed restrictions: how they are computed, the approval requests of
    those above the auto-approval amount, and approved ones exported to the lender's ledger
    (when a ledger webhook is configured or given). Returns the setup and the ledger."""
    config = p.settings.remedies
    setup = remedies.RemedySetup(
        notices=wired.setup,
        rates=remedies.Rates(
            failed_debit_fee=config.failed_debit_fee,
            failed_debit_penalty_rate=config.failed_debit_penalty_rate,
            early_repayment_interest_rate=config.early_repayment_interest_rate,
            late_mark_dpd=config.late_mark_dpd,
        ),
        currency=config.currency,
        auto_approve_up_to_minor=round(config.auto_approve_up_to * 100),
    )
    bus = p.bus
    bus.subscribe(
        remedies.RemedyProposed,
        idempotent(
            "approvals.proposed_remedies",
            ProposedRemedies(lifetime=approvals.lifetimes["remedy"]),
            uow=p.uow,
        ),
        consumer="approvals.proposed_remedies",
    )
    if ledger is None and config.ledger_webhook_url is not None:
        assert config.ledger_webhook_secret is not None  # the settings refuse one without
        ledger = remedies.LedgerWebhook(
            url=config.ledger_webhook_url,
            secret=config.ledger_webhook_secret.get_secret_value().encode(),
            timeout_seconds=config.ledger_webhook_timeout_seconds,
            clock=p.clock,
        )
    if ledger is None:
        return setup, None
    resources.callback(ledger.close)
    bus.subscribe(
        remedies.RemedyApproved,
        idempotent(
            "remedies.ledger",
            remedies.LedgerExport(ledger=ledger, retry=wired.retry),
            uow=p.uow,
        ),
        consumer="remedies.ledger",
    )
    jobs.register(
        remedies.ExportRemedies(
            ledger=ledger,
            retry=wired.retry,
            every=timedelta(seconds=config.export_every_seconds),
        )
    )
    return setup, ledger


def _wire_complaints(
    p: Plumbing,
    notice_setup: notices.NoticeSetup,
    approvals: ApprovalContext,
    remedy_setup: remedies.RemedySetup,
    jobs: JobRegistry,
) -> ComplaintSetup:
    """Complaints and appeals: the setup the use-cases share, the borrower re-decided when a
    case opens or closes, reversals followed through their approval, SLA escalation on the
    worker. What the borrower is told about a case goes out as notices (inbox and channels)."""
    settings = p.settings
    config = settings.complaints
    setup = ComplaintSetup(
        keyring=p.keyring,
        notices=notice_setup,
        approvals=approvals,
        engine=lambda: p.decision_engine,
        sla=timedelta(days=config.sla_days),
        escalate_before=timedelta(days=config.escalate_before_days),
        reversal_days=config.reversal_days,
        remedies=remedy_setup,
    )
    bus = p.bus
    redecide = idempotent(
        "complaints.redecide",
        Redecide(engine=lambda: p.decision_engine, history_days=settings.decisions.history_days),
        uow=p.uow,
    )
    for case in (ComplaintFiled, ComplaintResolved):
        bus.subscribe(case, redecide, consumer="complaints.redecide")
    reversals = idempotent("complaints.reversals", ReversalOutcomes(setup=setup), uow=p.uow)
    for decided in APPROVALS_DECIDED:
        bus.subscribe(decided, reversals, consumer="complaints.reversals")
    jobs.register(
        escalation_job(
            every=timedelta(seconds=config.escalate_every_seconds),
            escalate_before=timedelta(days=config.escalate_before_days),
            batch=settings.scheduler.batch_size,
        )
    )
    return setup


def _wire_hardship(
    p: Plumbing, notice_setup: notices.NoticeSetup, jobs: JobRegistry
) -> HardshipSetup:
    """Hardship cases: their setup, the borrower re-decided when a case opens or closes (the
    same consumer as appeals, with its own trigger), SLA escalation on the worker."""
    settings = p.settings
    config = settings.hardship
    setup = HardshipSetup(
        keyring=p.keyring,
        notices=notice_setup,
        sla=timedelta(days=config.sla_days),
        escalate_before=timedelta(days=config.escalate_before_days),
    )
    borrower = Redecide(
        engine=lambda: p.decision_engine,
        history_days=settings.decisions.history_days,
        trigger=decisions.triggers.HARDSHIP,
    ).borrower

    def redecide_case(message: Message[HardshipFact], unit: UnitOfWork) -> None:
        borrower(message.fact.borrower_id, unit)

    redecide = idempotent("hardship.redecide", redecide_case, uow=p.uow)
    for case in (HardshipOpened, HardshipClosed):
        p.bus.subscribe(case, redecide, consumer="hardship.redecide")
    jobs.register(
        hardship_escalation_job(
            every=timedelta(seconds=config.escalate_every_seconds),
            escalate_before=timedelta(days=config.escalate_before_days),
            batch=settings.scheduler.batch_size,
        )
    )
    return setup


def _wire_monitoring(
    p: Plumbing,
    jobs: JobRegistry,
    series: monitoring.SeriesSource,
    alerts: monitoring.AlertWebhooks | None,
    retry: notices.RetryPolicy,
    resources: ExitStack,
) -> monitoring.AlertWebhooks | None:
    """Monitoring: the thresholds (checked at start-up, so a bad file stops the process with
    the key named), the detection job over ``series``, and incident alerts to the configured
    webhooks (first attempt by a consumer, retries on the worker). Returns the alert sender."""
    config = p.settings.monitoring
    thresholds = monitoring.load_thresholds(config.thresholds_path)
    webhooks = tuple(config.alert_webhooks)
    if alerts is None and webhooks:
        assert config.alert_secret is not None  # the settings refuse webhooks without one
        alerts = monitoring.AlertWebhooks(
            secret=config.alert_secret.get_secret_value().encode(),
            timeout_seconds=config.alert_timeout_seconds,
            clock=p.clock,
        )
    jobs.register(
        monitoring.DetectIncidents(
            source=series,
            thresholds=thresholds,
            every=timedelta(seconds=config.detect_every_seconds),
            alert_webhooks=webhooks if alerts is not None else (),
        )
    )
    if alerts is None:
        return None
    resources.callback(alerts.close)
    p.bus.subscribe(
        monitoring.IncidentOpened,
        idempotent(
            "monitoring.alerts",
            monitoring.AlertOnIncident(sender=alerts, retry=retry, uow=p.uow),
            uow=p.uow,
        ),
        consumer="monitoring.alerts",
    )
    jobs.register(
        monitoring.RetryAlerts(
            sender=alerts,
            retry=retry,
            every=timedelta(seconds=config.alert_retry_every_seconds),
        )
    )
    return alerts


def _wire_overlays(p: Plumbing, jobs: JobRegistry) -> None:
    """Emergency overlays: every process swaps the overlays in force when one starts or ends;
    one consumer re-decides the overlay's segment at once; incidents arm matching playbooks;
    the worker ends overlays past their expiry or review deadline."""
    settings = p.settings
    bus = p.bus
    redecide = idempotent(
        "overlays.redecide",
        overlays.RedecideSegment(
            engine=lambda: p.decision_engine,
            refresh=lambda: _reload_overlays(p),
            reader=p.uow,
            history_days=settings.decisions.history_days,
        ),
        uow=p.uow,
    )
    for change in overlays.CHANGES:
        bus.follow(change, lambda _: _reload_overlays(p))
        bus.subscribe(change, redecide, consumer="overlays.redecide")
    if settings.overlays.arm_on_incidents:
        arm = overlays.ArmOnIncident(uow=p.uow, profiles=policies.profiles)

        def arm_on(message: Message[monitoring.IncidentOpened], unit: UnitOfWork) -> None:
            arm(overlays.IncidentOpened.of(message.fact), unit)

        bus.subscribe(
            monitoring.IncidentOpened,
            idempotent("overlays.incidents", arm_on, uow=p.uow),
            consumer="overlays.incidents",
        )
    jobs.register(
        overlays.expire_job(
            every=timedelta(seconds=settings.overlays.expire_every_seconds),
            batch=settings.scheduler.batch_size,
        )
    )


def _reload_overlays(p: Plumbing) -> None:
    """Put the overlays in force (armed or reviewed, in arming order) into the engine slot."""
    with p.session_factory() as session:
        found = overlays.active_overlays(session)
    p.engines.use_overlays(found)


def _wire_scheduler(p: Plumbing, wired: NoticeWiring) -> JobRegistry:
    """The timed transitions 'repayguard worker' runs, and the housekeeping every process
    shares (approval expiry, quarantine expiry, sealing the audit chain); features register
    their own jobs into the registry this returns."""
    settings = p.settings
    config = settings.scheduler
    jobs = JobRegistry(
        default_jobs(
            engine=lambda: p.decision_engine,
            history_days=settings.decisions.history_days,
            channels=wired.channels,
            retry=wired.retry,
            activate_every=timedelta(seconds=config.activate_every_seconds),
            review_every=timedelta(seconds=config.review_every_seconds),
            deliver_every=timedelta(seconds=config.deliver_every_seconds),
            cadence_every=timedelta(seconds=config.cadence_every_seconds),
            batch=config.batch_size,
        )
    )
    jobs.register(
        ExpireOverdueRequests(every=timedelta(seconds=settings.approvals.expire_every_seconds))
    )
    jobs.register(
        ingestion.expiry_job(
            retention=timedelta(days=settings.ingestion.quarantine_retention_days),
            every=timedelta(seconds=settings.ingestion.quarantine_expiry_every_seconds),
        )
    )
    trail = p.audit_trail
    if trail is not None and trail.checkpoints is not None and trail.checkpoints.seal_every:
        jobs.register(seal_job(trail.checkpoints, trail.checkpoints.seal_every))
    return jobs


def _wire_portfolio_monitor(p: Plumbing) -> monitoring.PortfolioMonitor:
    """The portfolio monitor, made stale by every message that changes the portfolio; its
    latest day is what ``/metrics`` exports as ``repayguard_portfolio``."""
    registry = risk.default_registry(p.settings.data_dir)
    monitor = monitoring.PortfolioMonitor(
        uow=p.uow,
        clock=p.clock,
        refresh=timedelta(seconds=p.settings.monitoring.refresh_seconds),
        score_reference=lambda: monitoring.production_reference(uow=p.uow(), registry=registry),
    )
    for followed in monitoring.FOLLOWED:
        p.bus.follow(followed, monitor.on_message)
    p.telemetry.probes.portfolio = monitoring.PortfolioGauges(monitor)
    return monitor


def _seed_shipped_policy(p: Plumbing) -> bool:
    """Publish the shipped policy as version 1 when it is the configured policy and the store
    has no version of it (policies/seed.py); True when it did. Its messages stay in the
    outbox until every consumer is wired (the caller drains or the relay thread does)."""
    source = resources.read_text(decisions.DEFAULT_POLICY)
    shipped = policies.load_policy_text(source, profiles=policies.profiles()).name
    if p.settings.decisions.policy_name != shipped:
        return False
    uow = UnitOfWork(p.session_factory, clock=p.clock, observers=p.observers)
    with acting_as(SYSTEM_ACTOR):
        published = policies.seed_policy(
            policies.SeedPolicy(source),
            uow=uow,
            profiles=policies.profiles(),
            also=withdraw_outdated_publications,
        )
    return published is not None


def _reload_policy(p: Plumbing) -> bool:
    """Take the latest published version of the policy in force from the store."""
    with p.session_factory() as session:
        return p.engines.reload_policy(session, profiles=policies.profiles())


def _reload_challenger(p: Plumbing) -> None:
    """Put the shadow challenger in effect (or none) into this process's engine slot."""
    with p.session_factory() as session:
        challenger = shadow.load_challenger(session, profiles=policies.profiles())
    p.engines.use_challenger(challenger)


def _follow_policy(
    p: Plumbing, view: EntitlementView | None, message: Message[policies.PolicyPublished]
) -> None:
    """A version was published (here or in another process): when it is of the policy in
    force, swap the engine and the authorize view's defaults and declared channels."""
    if message.fact.name == p.engines.policy_name:
        _refresh_policy(p, view)


def _refresh_policy(p: Plumbing, view: EntitlementView | None) -> None:
    """Reload the policy in force from the store; when it moved, the view's defaults and
    declared channels follow."""
    if not _reload_policy(p):
        return
    engine = p.engines.loaded
    if view is not None and engine is not None:
        view.use_defaults(engine.defaults, channels=engine.policy.channels)


def _decide_with_production_model(p: Plumbing) -> None:
    """Put the registry's production model (verified) into the decision engine, if any."""
    registry = risk.default_registry(p.settings.data_dir)
    uow = UnitOfWork(p.session_factory, clock=p.clock)
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
    p.engines.use_model(model)
