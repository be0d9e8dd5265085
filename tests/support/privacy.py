"""Builders for audit and privacy tests: keys made at run time, an audited unit of work, an app
with the profile endpoints and the idempotency middleware (whether or not bootstrap wires them)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import delete, insert, select, text, update

from repayguard.api.idempotency import IdempotencyMiddleware, IdempotencyStore
from repayguard.api.security import guard
from repayguard.audit import (
    AuditTrail,
    ChainRecord,
    CheckpointPolicy,
    CheckpointSigner,
    TrustedKeys,
    make_audit_observer,
)
from repayguard.audit.models import AuditHeadRow, AuditRecordRow
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers.endpoints import router as borrowers_router
from repayguard.identity import ROUTES
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.crypto import Keyring, Pseudonymizer
from repayguard.platform.db import table_of
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

from support.common import make_settings

_RECORDS = table_of(AuditRecordRow)
_HEAD = table_of(AuditHeadRow)
PROFILE_PATH = "/v1/borrowers/{borrower_id}/profile"
PROFILE_PERMISSIONS = {
    ("PUT", PROFILE_PATH): "profiles:write",
    ("GET", PROFILE_PATH): "profiles:read",
}


@contextmanager
def untrailed_container(database_url: str, folder: Path, clock: FixedClock) -> Iterator[Container]:
    """A container without its own audit trail: start-up publishes the shipped policy (the
    store's seed, audited when the trail is on), and audit tests count the chain from its
    first record, which only the trail under test writes."""
    settings = make_settings(database_url, folder)
    settings = settings.model_copy(
        update={"audit": settings.audit.model_copy(update={"enabled": False})}
    )
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as built:
        yield built


@dataclass
class Privacy:
    """Everything a test needs to audit and encrypt, with keys generated for this test."""

    container: Container
    keyring: Keyring
    pseudonymizer: Pseudonymizer
    signer: CheckpointSigner
    checkpoint_dir: Path
    trail: AuditTrail

    @property
    def trusted(self) -> TrustedKeys:
        return self.signer.trusted()

    def uow(self) -> UnitOfWork:
        """A unit of work on the container's database whose messages are audited."""
        return UnitOfWork(
            self.container.session_factory,
            clock=self.container.clock,
            after_commit=self.container.relay.drain,
            observers=[self.trail],
        )

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self.uow

    def policy(self) -> CheckpointPolicy:
        assert self.trail.checkpoints is not None
        return self.trail.checkpoints


def make_privacy(container: Container, folder: Path, *, every: int = 10) -> Privacy:
    """The container's own keys and checkpoint folder (so both trails vouch in one place), or
    keys made for this test when its audit trail is off, and a trail that checkpoints every
    ``every`` records."""
    wired = container.audit_trail
    if wired is not None and wired.checkpoints is not None:
        assert container.keyring is not None
        assert container.pseudonymizer is not None
        keyring, pseudonymizer = container.keyring, container.pseudonymizer
        signer = wired.checkpoints.signer
        checkpoint_dir = wired.checkpoints.directory
    else:
        keyring = Keyring.generate()
        pseudonymizer = Pseudonymizer(secrets.token_bytes(32))
        signer = CheckpointSigner.generate()
        checkpoint_dir = folder / "checkpoints"
    trail = make_audit_observer(
        pseudonymizer=pseudonymizer,
        clock=container.clock,
        default_actor="test",
        checkpoints=CheckpointPolicy(checkpoint_dir, signer, every=every),
    )
    return Privacy(container, keyring, pseudonymizer, signer, checkpoint_dir, trail)


def _open() -> None:
    """Stands in for the access guard on a test app whose routes the map does not list yet."""


def install(app: FastAPI, privacy: Privacy, *, idempotency: bool = True) -> FastAPI:
    """Route the app's use-cases through the audited unit of work and give it the keyring,
    the profile endpoints and the idempotency middleware (unless already wired)."""
    app.state.uow = privacy.uow_factory
    app.state.keyring = privacy.keyring
    if not set(PROFILE_PERMISSIONS) <= set(ROUTES):
        # Until identity's permission map lists the profile routes, this app (and only this
        # app) skips the route check; access control has its own tests.
        app.dependency_overrides[guard] = _open
    if not any(getattr(r, "path", None) == PROFILE_PATH for r in app.router.routes):
        app.include_router(borrowers_router)
    wired = any(m.cls is IdempotencyMiddleware for m in app.user_middleware)
    if idempotency and not wired:
        store = IdempotencyStore(privacy.container.session_factory, clock=privacy.container.clock)
        app.add_middleware(
            IdempotencyMiddleware, store=store, fingerprint_key=secrets.token_bytes(32)
        )
    return app


def stored_chain(privacy: Privacy) -> list[ChainRecord]:
    """The audit records as stored, in order."""
    with privacy.container.session_factory() as session:
        rows = session.execute(select(_RECORDS).order_by(_RECORDS.c.seq)).all()
    return [ChainRecord(**row._mapping) for row in rows]


def drop_append_only_triggers(privacy: Privacy) -> None:
    """What a forger with database rights does first."""
    with privacy.container.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER audit_records_no_change ON audit_records"))
        else:
            connection.execute(text("DROP TRIGGER audit_records_no_update"))
            connection.execute(text("DROP TRIGGER audit_records_no_delete"))


def store_chain(privacy: Privacy, records: list[ChainRecord], head: tuple[int, str]) -> None:
    """Replace the stored chain and its head (after ``drop_append_only_triggers``)."""
    with privacy.container.engine.begin() as connection:
        connection.execute(delete(_RECORDS))
        if records:
            connection.execute(
                insert(_RECORDS),
                [{name: getattr(r, name) for name in ChainRecord.__slots__} for r in records],
            )
        connection.execute(update(_HEAD).values(seq=head[0], hash=head[1]))
