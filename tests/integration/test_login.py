"""Password login: argon2id hashes, one answer for every refusal, lockout, sessions that end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from repayguard.api.app import create_app
from repayguard.audit.models import AuditRecordRow
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import (
    AddOperator,
    DisableOperator,
    LogIn,
    SetPassword,
    add_operator,
    disable_operator,
    log_in,
    set_password,
)
from repayguard.identity.errors import LoginFailed, LoginLocked, PasswordRejected
from repayguard.identity.models import CredentialRow
from repayguard.identity.passwords import LOCKOUT, MAX_FAILURES
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.common import NOW, make_settings

PASSWORD = "correct horse battery staple"


@pytest.fixture
def secured(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, FixedClock]]:
    clock = FixedClock(NOW)
    settings = make_settings(database_url, tmp_path, auth="required")
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as container:
        add_operator(AddOperator("ana", "analyst"), uow=container.uow())
        set_password(SetPassword("ana", PASSWORD), uow=container.uow())
        yield container, clock


def test_the_password_is_stored_as_an_argon2id_hash_only(
    secured: tuple[Container, FixedClock],
) -> None:
    container, _ = secured
    with container.session_factory() as session:
        (row,) = session.scalars(select(CredentialRow))
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash


def test_weak_passwords_are_refused_with_every_rule_they_break(
    secured: tuple[Container, FixedClock],
) -> None:
    container, _ = secured
    with pytest.raises(PasswordRejected, match="use at least 12") as caught:
        set_password(SetPassword("ana", "short"), uow=container.uow())
    assert caught.value.hint is not None
    add_operator(AddOperator("longusername1", "auditor"), uow=container.uow())
    with pytest.raises(PasswordRejected, match="it is the username"):
        set_password(SetPassword("longusername1", "LongUsername1"), uow=container.uow())


def test_a_session_token_acts_as_the_operator_until_logout(
    secured: tuple[Container, FixedClock],
) -> None:
    container, _ = secured
    client = TestClient(create_app(container))
    started = client.post("/v1/sessions", json={"username": "ana", "password": PASSWORD})
    assert started.status_code == 201, started.text
    body = started.json()
    assert (body["username"], body["role"]) == ("ana", "analyst")
    assert body["expires_at"].startswith((NOW + timedelta(hours=8)).date().isoformat())
    auth = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/v1/models", headers=auth).status_code == 200
    assert client.get("/v1/audit/verify", headers=auth).status_code in (403, 404)
    assert client.delete("/v1/sessions/current", headers=auth).status_code == 204
    assert client.get("/v1/models", headers=auth).status_code == 401
    with container.session_factory() as session:
        actors = dict(
            session.execute(
                select(AuditRecordRow.action, AuditRecordRow.actor).where(
                    AuditRecordRow.action.in_(
                        ["repayguard.session.started", "repayguard.token.revoked"]
                    )
                )
            ).all()
        )
    assert actors["repayguard.session.started"].startswith("operator:"), "who opened it"
    assert actors["repayguard.session.started"] == actors["repayguard.token.revoked"]


def test_every_refusal_says_the_same_and_failures_lock_password_login(
    secured: tuple[Container, FixedClock],
) -> None:
    container, clock = secured
    client = TestClient(create_app(container))
    unknown = client.post("/v1/sessions", json={"username": "nobody", "password": PASSWORD})
    wrong = client.post("/v1/sessions", json={"username": "ana", "password": "not it at all"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"] == "the username or password is wrong"
    for _ in range(MAX_FAILURES - 1):  # one failure already counted above
        with pytest.raises(LoginFailed):
            log_in(LogIn("ana", "still not it"), uow=container.uow())
    with pytest.raises(LoginLocked) as locked:
        log_in(LogIn("ana", PASSWORD), uow=container.uow())  # right password, but paused
    assert locked.value.hint is not None
    assert "repayguard user password" in locked.value.hint
    assert (
        client.post("/v1/sessions", json={"username": "ana", "password": PASSWORD}).status_code
        == 429
    )
    clock.advance(LOCKOUT + timedelta(seconds=1))
    assert log_in(LogIn("ana", PASSWORD), uow=container.uow()).operator.username == "ana"


def test_an_admin_reset_lifts_the_lockout_and_disabled_operators_cannot_log_in(
    secured: tuple[Container, FixedClock],
) -> None:
    container, _ = secured
    for _ in range(MAX_FAILURES):
        with pytest.raises(LoginFailed):
            log_in(LogIn("ana", "wrong password!"), uow=container.uow())
    with pytest.raises(LoginLocked):
        log_in(LogIn("ana", PASSWORD), uow=container.uow())
    set_password(SetPassword("ana", "a brand new passphrase"), uow=container.uow())
    log_in(LogIn("ana", "a brand new passphrase"), uow=container.uow())
    disable_operator(DisableOperator("ana"), uow=container.uow(), tokens=container.tokens)
    with pytest.raises(LoginFailed, match="username or password is wrong"):
        log_in(LogIn("ana", "a brand new passphrase"), uow=container.uow())
