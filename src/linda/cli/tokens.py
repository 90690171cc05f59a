"""API tokens for the management API (/api): create, list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from linda.api.tokens import TokenError, create_token, list_tokens, revoke_token
from linda.cli.common import app, console, with_db
from linda.settings import get_settings

token_app = typer.Typer(help="API tokens for the management API under /api.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="A unique name saying who or what uses the token.")],
) -> None:
    """Create a token and print it once (its last line is the token alone); Linda keeps only its hash."""
    try:
        token = with_db(get_settings(), lambda db: create_token(db, name))
    except TokenError as exc:
        console.print(f"[red]No token created:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"API token {name.strip()!r} created. Store it now: Linda keeps only its hash and cannot show it again. "
        "Send it as `Authorization: Bearer <token>`; `linda token revoke` ends it."
    )
    print(token)


@token_app.command("list")
def token_list() -> None:
    """Every token: name, created, last used (to the minute), revoked."""
    tokens = with_db(get_settings(), list_tokens)
    table = Table("name", "created", "last used", "revoked")
    for row in tokens:
        table.add_row(row.name, _when(row.created_at), _when(row.last_used_at), _when(row.revoked_at))
    console.print(table)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token at once; requests with it get 401 from then on."""
    try:
        revoked = with_db(get_settings(), lambda db: revoke_token(db, name))
    except TokenError as exc:
        console.print(f"[red]Nothing revoked:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"token {name!r} revoked" if revoked else f"token {name!r} was already revoked")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"
