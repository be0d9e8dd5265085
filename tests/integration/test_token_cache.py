"""The token cache on SQLite and PostgreSQL: an answer is trusted no longer than the token's
own expiry, a revocation is forgotten at once where it was committed and in another container
when the followed message reaches it, and only the affected tokens are forgotten."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import (
    AddOperator,
    CreateToken,
    DisableOperator,
    IssuedToken,
    RevokeToken,
    TokenResolver,
    add_operator,
    create_token,
    disable_operator,
    revoke_token,
)
from repayguard.identity.errors import TokenInvalid
from repayguard.identity.permissions import Kind
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.common import NOW, make_settings


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, Container]]:
    """Two containers with access control on one database (two servers), each on its own
    bus, sharing one fixed clock; the token cache keeps answers for the default 30 s."""
    clock = FixedClock(NOW)
    settings = make_settings(database_url, tmp_path, auth="required")
    with (
        bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as first,
        bootstrap(settings, clock=clock, bus=RecordingBus()) as second,
    ):
        yield first, second


def tokens_of(container: Container) -> TokenResolver:
    assert container.tokens is not None
    return container.tokens


def token(
    container: Container,
    kind: Kind = "service",
    subject: str = "app",
    lifetime: timedelta | None = None,
) -> IssuedToken:
    return create_token(CreateToken(kind, subject, lifetime=lifetime), uow=container.uow())


def deliver(source: Container, name: str, to: Container) -> None:
    """Hand ``to``'s bus the messages named ``name`` that ``source`` published (what the shared
    bus does between processes)."""
    bus = source.bus
    assert isinstance(bus, RecordingBus)
    messages = [m for m in bus.published if m.name == name]
    assert messages, f"{name} was not published"
    for message in messages:
        to.bus.publish(message)


def test_a_cached_token_is_refused_the_moment_it_expires(
    replicas: tuple[Container, Container],
) -> None:
    container, _ = replicas
    clock = container.clock
    assert isinstance(clock, FixedClock)
    resolver = tokens_of(container)
    short = token(container, lifetime=timedelta(seconds=10))

    assert resolver.resolve(short.secret).token_id == short.token_id
    clock.advance(timedelta(seconds=9))
    assert resolver.cached(short.secret) is not None, "still valid: served from the cache"
    clock.advance(timedelta(seconds=1))

    assert resolver.cached(short.secret) is None, "the fast path no longer trusts it"
    earlier = clock.now() - timedelta(seconds=1)
    assert resolver.cached(short.secret, now=earlier) is not None, "judged at the time given"
    assert resolver.cached(short.secret, now=clock.now()) is None
    with pytest.raises(TokenInvalid):
        resolver.resolve(short.secret)


def test_a_token_revoked_through_another_container_is_refused_once_the_message_arrives(
    replicas: tuple[Container, Container],
) -> None:
    first, second = replicas
    revoked, kept = token(first, subject="old-app"), token(first, subject="new-app")
    for issued in (revoked, kept):
        tokens_of(second).resolve(issued.secret)

    revoke_token(RevokeToken(revoked.token_id), uow=first.uow(), tokens=first.tokens)

    with pytest.raises(TokenInvalid):
        tokens_of(first).resolve(revoked.secret)  # where it was revoked: at once
    assert tokens_of(second).cached(revoked.secret) is not None, "the message is not there yet"
    deliver(first, "repayguard.token.revoked", to=second)
    with pytest.raises(TokenInvalid):
        tokens_of(second).resolve(revoked.secret)
    assert tokens_of(second).cached(kept.secret) is not None, "other callers stay cached"


def test_disabling_an_operator_forgets_their_tokens_and_only_theirs(
    replicas: tuple[Container, Container],
) -> None:
    first, second = replicas
    add_operator(AddOperator("leaver", "cs_agent"), uow=first.uow())
    theirs = [token(first, "operator", "leaver") for _ in range(2)]
    service = token(first)
    for issued in (*theirs, service):
        tokens_of(second).resolve(issued.secret)

    disable_operator(DisableOperator("leaver"), uow=first.uow(), tokens=first.tokens)
    deliver(first, "repayguard.operator.disabled", to=second)

    for replica in replicas:
        for issued in theirs:
            with pytest.raises(TokenInvalid):
                tokens_of(replica).resolve(issued.secret)
    assert tokens_of(second).cached(service.secret) is not None


def test_an_answer_read_just_before_a_revocation_is_not_cached_after_it(
    replicas: tuple[Container, Container],
) -> None:
    container, _ = replicas
    issued = token(container)
    meanwhile: list[Callable[[], None]] = []

    class RevokedWhileReading(Session):
        """A session that lets a revocation commit and be forgotten right after the
        resolver's read (the window between reading a token and caching the answer)."""

        def close(self) -> None:
            super().close()
            while meanwhile:
                meanwhile.pop()()

    resolver = TokenResolver(
        sessionmaker(bind=container.engine, class_=RevokedWhileReading),
        clock=container.clock,
        ttl=timedelta(seconds=30),
    )
    meanwhile.append(
        lambda: revoke_token(RevokeToken(issued.token_id), uow=container.uow(), tokens=resolver)
    )

    assert resolver.resolve(issued.secret).token_id == issued.token_id, "read before it"
    with pytest.raises(TokenInvalid):
        resolver.resolve(issued.secret)
