"""The one place that wires repayguard together: database, bus, relay, engine, consumers.

Entry points (API, CLI, tests) call :func:`bootstrap` with a :class:`Settings` and get a
:class:`Container`; nothing else creates engines, buses or relays, and nothing is global.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from repayguard import entitlements, ingestion, keys, risk
from repayguard.audit import AuditTrail, make_audit_observer
from repayguard.config import Settings
from repayguard.decisions import DecisionEngine, OnlineHandler, load_engine
from repayguard.entitlements import EntitlementView
from repayguard.errors import DatabaseNotReady, ModelNotUsableForDecisions
from repayguard.identity import TokenResolver
from repayguard.platform import schema
from repayguard.platform.bus import Bus, InProcessBus
from repayguard.platform.clock import Clock, SystemClock
from repayguard.platform.consumers import idempotent
from repayguard.platform.crypto import Keyring, Pseudonymizer
from repayguard.platform.db import make_engine, make_session_factory
from repayguard.platform.outbox import BackgroundRelay, OutboxRelay
from repayguard.platform.uow import CommitObserver, UnitOfWork

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
    decision_engine: DecisionEngine
    view: EntitlementView | None = None
    tokens: TokenResolver | None = None
    background: BackgroundRelay | None = None
    observers: list[CommitObserver] = field(default_factory=list)
    keyring: Keyring | None = None
    pseudonymizer: Pseudonymizer | None = None
    audit_trail: AuditTrail | None = None
    _closed: bool = field(default=False, repr=False)

    def uow(self) -> UnitOfWork:
        """A fresh unit of work; committing it hands its messages to the relay."""
        after_commit = self.background.notify if self.background else self._drain
        return UnitOfWork(
            self.session_factory,
            clock=self.clock,
            after_commit=after_commit,
            observers=self.observers,
        )

    def _drain(self) -> None:
        self.relay.drain()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.background is not None:
            self.background.stop()
        self.engine.dispose()

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
) -> Container:
    """Build the container.

    ``migrate`` applies pending migrations first (serve and demo do); otherwise a database
    that is not at the current schema is refused with what to run. ``serve_view`` loads the
    in-memory entitlement view that authorize reads, and keeps it current from the bus.
    ``production_model`` decides with the registry's production model (unless
    ``decisions.model_path`` names a file) and switches to a newly promoted one; commands that
    manage models turn it off, so a damaged production artefact never locks them out.
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
    bus = bus or InProcessBus()
    relay = OutboxRelay(session_factory, bus, clock=clock)
    container = Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        clock=clock,
        bus=bus,
        relay=relay,
        decision_engine=load_engine(
            policy_path=settings.decisions.policy_path,
            model_path=settings.decisions.model_path,
            bands_path=settings.decisions.bands_path,
        ),
    )
    container.pseudonymizer = keys.open_pseudonymizer(settings)
    try:
        paths = keys.key_paths(settings)
        container.keyring = keys.open_keyring(paths)
        if settings.audit.enabled:
            container.audit_trail = make_audit_observer(
                pseudonymizer=container.pseudonymizer,
                clock=clock,
                checkpoints=keys.open_checkpoints(paths),
            )
            container.observers.append(container.audit_trail)
        if production_model and settings.decisions.model_path is None:
            _decide_with_production_model(container)
    except BaseException:
        container.close()
        raise
    if production_model and settings.decisions.model_path is None:
        bus.subscribe(risk.MODEL_PROMOTED, lambda _: _decide_with_production_model(container))
    if settings.decisions.online:
        handler = OnlineHandler(
            engine=lambda: container.decision_engine,
            history_days=settings.decisions.history_days,
        )
        bus.subscribe(
            ingestion.EVENTS_INGESTED,
            idempotent("decisions.online", handler, uow=container.uow),
        )
    if settings.security.auth == "required":
        container.tokens = TokenResolver(
            session_factory,
            clock=clock,
            ttl=timedelta(seconds=settings.security.token_cache_seconds),
        )
        for name in ("repayguard.token.revoked", "repayguard.operator.disabled"):
            bus.subscribe(name, container.tokens.forget_all)
    if serve_view:
        view = EntitlementView(defaults=container.decision_engine.defaults)
        with session_factory() as session:
            view.load(entitlements.load(session).values())
        bus.subscribe(entitlements.ENTITLEMENTS_CHANGED, view.on_changed)
        container.view = view
    if settings.bus.relay == "background":
        container.background = BackgroundRelay(relay)
        container.background.start()
    return container


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
    container.decision_engine = container.decision_engine.with_model(model)
