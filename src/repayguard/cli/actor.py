"""Who acts from the CLI: an operator who proved it, or the operating-system user.

An action an operator role governs (approve, reject, ask for an override or a publication,
resolve a complaint, promote a model) runs only for an operator who proves who they are:
with an operator API token (``--token`` or ``REPAYGUARD_TOKEN``, resolved by the one token
resolver) or with ``--as NAME`` and NAME's password typed at the prompt (a password login,
with its lockout). Having a shell on the database host is not being an operator, and a typed
name is not a proof. An action no role governs (submit a draft, train a model, read a case)
is recorded as the proven operator when one is given, else as ``cli:<os user>``, never as
a name nobody checked.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from repayguard.core.articles import with_article

if TYPE_CHECKING:
    from repayguard.bootstrap import Container
    from repayguard.identity import OperatorRead

As = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Act as this operator: you are asked for their password (or give --token).",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="REPAYGUARD_TOKEN",
        show_envvar=True,
        help="An operator's API token ('repayguard token create --operator NAME'): proves "
        "who acts without a password prompt.",
    ),
]

_SESSION: timedelta = timedelta(minutes=5)
"""A password typed at the prompt opens a session as long as one command needs."""


def cli_actor() -> str:
    """Who a CLI command acts as in the audit trail when no operator is proven: the
    operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid-{os.getuid()}"


def _how(needed_for: str) -> str:
    return (
        f"{needed_for} needs an operator who proves who they are: give --token TOKEN (or set "
        "REPAYGUARD_TOKEN) with your operator token from 'repayguard token create --operator "
        "NAME', or --as NAME and type NAME's password when asked"
    )


def proven_operator(
    container: Container, *, username: str | None, token: str | None, needed_for: str
) -> OperatorRead:
    """The operator who acts, proven by ``token`` or by the password of ``username`` (asked
    at the prompt). Raises OperatorRequired saying how to authenticate when neither is
    given, and when the token is not an operator's or not ``username``'s."""
    from repayguard.identity.errors import OperatorRequired

    if token:
        return _by_token(container, token, username=username, needed_for=needed_for)
    if username and username.strip():
        return _by_password(container, username.strip(), needed_for=needed_for)
    raise OperatorRequired(f"{needed_for} needs to know which operator acts", hint=_how(needed_for))


def _by_token(
    container: Container, token: str, *, username: str | None, needed_for: str
) -> OperatorRead:
    from repayguard.errors import NotFound
    from repayguard.identity import TokenResolver, find_operator, operator_named
    from repayguard.identity.errors import OperatorRequired, TokenInvalid

    resolver = TokenResolver(container.session_factory, clock=container.clock, ttl=timedelta())
    try:
        principal = resolver.resolve(token.strip())
    except TokenInvalid as exc:
        raise OperatorRequired(
            "the token is unknown, revoked or expired", hint=_how(needed_for)
        ) from exc
    if principal.kind != "operator" or principal.operator_id is None:
        raise OperatorRequired(
            f"the token is {with_article(principal.kind)} token, not an operator's",
            hint=_how(needed_for),
        )
    with container.session_factory() as session:
        found = find_operator(session, operator_id=principal.operator_id)
        if username and username.strip():
            try:
                named = operator_named(session, username)
            except NotFound:
                named = None
            if named is None or named.operator_id != found.operator_id:
                raise OperatorRequired(
                    f"the token is {found.username}'s, not {username.strip()}'s",
                    hint="leave --as out (the token says who acts), or use your own token",
                )
    return found


def _by_password(container: Container, username: str, *, needed_for: str) -> OperatorRead:
    from repayguard.identity import LogIn, log_in
    from repayguard.identity.errors import LoginFailed

    password = typer.prompt(f"Password for {username}", hide_input=True, err=True)
    try:
        return log_in(LogIn(username, password, lifetime=_SESSION), uow=container.uow()).operator
    except LoginFailed as exc:
        raise LoginFailed(
            exc.message,
            hint="type the password set with 'repayguard user password NAME', or give "
            "--token (or REPAYGUARD_TOKEN) with your operator token",
        ) from exc


@contextmanager
def acting(
    container: Container, username: str | None, token: str | None, *, needed_for: str
) -> Iterator[str]:
    """The proven operator's id, with the audit trail attributing the block to them."""
    from repayguard.audit import acting_as

    found = proven_operator(container, username=username, token=token, needed_for=needed_for)
    with acting_as(f"operator:{found.operator_id}"):
        yield found.operator_id


def recorded_actor(container: Container, *, username: str | None, token: str | None) -> str:
    """Who an action no operator role governs is recorded as: the proven operator's username
    when one is given (``--token`` or ``--as`` with the password), else ``cli:<os user>``."""
    if not token and not (username and username.strip()):
        return cli_actor()
    return proven_operator(
        container, username=username, token=token, needed_for="recording who acts"
    ).username


def permitted_operator(
    container: Container,
    *,
    username: str | None,
    token: str | None,
    permission: str,
    needed_for: str,
) -> OperatorRead:
    """:func:`proven_operator`, whose role must also grant ``permission`` (PermissionDenied
    naming the role otherwise)."""
    from repayguard.errors import PermissionDenied
    from repayguard.identity import role_allows

    found = proven_operator(container, username=username, token=token, needed_for=needed_for)
    if not role_allows(found.role, permission):
        raise PermissionDenied(
            f"{needed_for} needs the {permission!r} permission; {found.username} is {found.role}",
            hint="ask an operator whose role has it (see docs/governance.md)",
        )
    return found
