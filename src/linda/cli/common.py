"""What every command shares: the Typer app, the console, running a coroutine against the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from linda.settings import Settings
from linda.store.db import Database

T = TypeVar("T")
app = typer.Typer(help="Linda: WhatsApp business bots on Meta's Cloud API.", no_args_is_help=True)
console = Console()


def with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the (migrated) database of `settings`."""

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def refuse_unsafe(settings: Settings) -> None:
    """Stop before a server or worker runs with secrets strangers know, or sandbox mode off loopback."""
    if unsafe := settings.unsafe_secrets():
        console.print(
            f"[red]Refusing to start:[/] set {', '.join(unsafe)} (from your Meta app's dashboard), or run "
            "`linda serve --sandbox` to try Linda against the built-in emulator."
        )
        raise typer.Exit(2)
    if settings.sandbox and settings.host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[red]Refusing to start:[/] sandbox mode serves the emulator's control API, which has no "
            f"authentication; listen on 127.0.0.1, not {settings.host}."
        )
        raise typer.Exit(2)
