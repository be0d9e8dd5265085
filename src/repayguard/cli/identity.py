"""``repayguard user`` and ``repayguard token``: operators, roles and API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

if TYPE_CHECKING:
    from repayguard.identity.permissions import Kind

import typer
from rich.table import Table

from repayguard.cli.output import console, print_json
from repayguard.cli.shared import AsJson, DataDir, open_container

user_app = typer.Typer(help="Operators and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, analyst, approver, cs_agent or auditor.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Add an operator with a role."""
    from repayguard.identity import AddOperator, add_operator

    with open_container(data_dir, migrate=True, production_model=False) as container:
        operator = add_operator(AddOperator(username, role, name), uow=container.uow())
    if as_json:
        print_json({"username": operator.username, "role": operator.role})
        return
    console.print(
        f"Added [bold]{operator.username}[/bold] as {operator.role}. Next: "
        f"[bold]repayguard token create --operator {operator.username}[/bold]"
    )


@user_app.command("list")
def user_list(as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """List operators."""
    from repayguard.identity import list_operators

    with (
        open_container(data_dir, migrate=True, production_model=False) as container,
        container.session_factory() as session,
    ):
        operators = list_operators(session)
    if as_json:
        print_json(
            {
                "operators": [
                    {
                        "username": o.username,
                        "name": o.display_name,
                        "role": o.role,
                        "active": o.active,
                        "since": o.created_at,
                    }
                    for o in operators
                ]
            }
        )
        return
    table = Table(title="Operators", title_justify="left")
    for column in ("username", "name", "role", "active", "since"):
        table.add_column(column)
    for o in operators:
        table.add_row(
            o.username,
            o.display_name,
            o.role,
            "yes" if o.active else "[red]no[/red]",
            f"{o.created_at:%Y-%m-%d}",
        )
    console.print(table if operators else "No operators yet: repayguard user add NAME --role R")


@user_app.command("password")
def user_password(
    username: Annotated[str, typer.Argument(help="Login name.")],
    stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Set an operator's password for console login (asked twice, never echoed)."""
    import sys

    from repayguard.identity import SetPassword, set_password

    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with open_container(data_dir, migrate=True, production_model=False) as container:
        operator = set_password(SetPassword(username, password), uow=container.uow())
    console.print(
        f"Password set for [bold]{operator.username}[/bold] ({operator.role}). They log in "
        "in the console (/console) or with POST /v1/sessions; 5 failed attempts in a row lock "
        "password login for 15 minutes."
    )


@user_app.command("disable")
def user_disable(username: str, data_dir: DataDir = None) -> None:
    """Disable an operator and revoke all their tokens."""
    from repayguard.identity import DisableOperator, disable_operator

    with open_container(data_dir, migrate=True, production_model=False) as container:
        disable_operator(DisableOperator(username), uow=container.uow(), tokens=container.tokens)
    console.print(f"Disabled [bold]{username}[/bold]; their tokens no longer work.")


@token_app.command("create")
def token_create(
    operator: Annotated[str | None, typer.Option(help="For this operator (username).")] = None,
    service: Annotated[str | None, typer.Option(help="For this app (a name).")] = None,
    borrower: Annotated[str | None, typer.Option(help="For this borrower (id).")] = None,
    days: Annotated[int | None, typer.Option(min=1, help="Expire after this many days.")] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Create a token for an operator, a service or a borrower; the secret is shown once."""
    from repayguard.errors import InvalidInput
    from repayguard.identity import CreateToken, create_token

    options: list[tuple[Kind, str | None]] = [
        ("operator", operator),
        ("service", service),
        ("borrower", borrower),
    ]
    chosen = [(kind, value) for kind, value in options if value]
    if len(chosen) != 1:
        raise InvalidInput(
            "say whose token it is", hint="use exactly one of --operator, --service, --borrower"
        )
    kind, subject = chosen[0]
    with open_container(data_dir, migrate=True, production_model=False) as container:
        issued = create_token(CreateToken(kind, subject, days), uow=container.uow())
    if as_json:
        print_json(
            {"token_id": issued.token_id, "kind": kind, "for": subject, "secret": issued.secret}
        )
        return
    console.print(f"Token [bold]{issued.token_id}[/bold] for {kind} {subject}:")
    console.print(issued.secret, soft_wrap=True)
    console.print(
        "[dim]Store it now: only its hash is kept. Send it as 'Authorization: "
        "Bearer <token>'.[/dim]"
    )


@token_app.command("revoke")
def token_revoke(token_id: str, data_dir: DataDir = None) -> None:
    """Revoke a token by its id (the short id shown at creation and in 'token list')."""
    from repayguard.identity import RevokeToken, revoke_token

    with open_container(data_dir, migrate=True, production_model=False) as container:
        revoke_token(RevokeToken(token_id), uow=container.uow(), tokens=container.tokens)
    console.print(f"Revoked token [bold]{token_id}[/bold].")


@token_app.command("list")
def token_list(as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """List tokens (ids and owners; never secrets)."""
    from repayguard.identity import list_tokens

    with (
        open_container(data_dir, migrate=True, production_model=False) as container,
        container.session_factory() as session,
    ):
        tokens = list_tokens(session)
    if as_json:
        print_json(
            {
                "tokens": [
                    {
                        "id": t.token_id,
                        "kind": t.kind,
                        "for": t.name,
                        "created": t.created_at,
                        "expires": t.expires_at,
                        "last_used": t.last_used_at,
                        "revoked": t.revoked_at,
                        "state": "revoked" if t.revoked_at else "active",
                    }
                    for t in tokens
                ]
            }
        )
        return
    table = Table(title="API tokens", title_justify="left")
    for column in ("id", "kind", "for", "created", "expires", "last used", "state"):
        table.add_column(column)
    for t in tokens:
        state = "[red]revoked[/red]" if t.revoked_at else "active"
        table.add_row(
            t.token_id,
            t.kind,
            t.name,
            f"{t.created_at:%Y-%m-%d}",
            f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "-",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            state,
        )
    console.print(table if tokens else "No tokens yet: repayguard token create --service APP")
