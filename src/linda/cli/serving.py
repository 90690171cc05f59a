"""Commands that run Linda: serve, worker, emulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
import uvicorn

from linda.cli.common import app, console, refuse_unsafe
from linda.settings import AccountSettings, Settings, get_settings
from linda.store.db import Database

T = TypeVar("T")
SANDBOX_DATABASE = "sqlite:///linda-sandbox.db"
BotOption = Annotated[
    list[str] | None,
    typer.Option(
        "--bot",
        help="A Python module with a setup(bot) function: a file (mybot.py) or a dotted name; repeatable "
        "[LINDA_BOT_MODULES].",
    ),
]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [LINDA_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [LINDA_PORT].")] = None,
    sandbox: Annotated[
        bool,
        typer.Option(
            help="Serve the emulator here under /emulator and use it: no Meta account needed [LINDA_SANDBOX]."
        ),
    ] = False,
    bot: BotOption = None,
) -> None:
    """Receive webhooks and send messages: the web server, the inbox processor and the senders."""
    from linda.app import create_app, sandbox_settings

    settings = get_settings()
    update: dict[str, object] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "bot_modules": settings.bot_modules + (bot or []),
    }
    if sandbox or settings.sandbox:
        update["sandbox"] = True
        if "LINDA_DATABASE_URL" not in os.environ and settings.database_url == _default_database():
            update["database_url"] = SANDBOX_DATABASE  # keep sandbox data apart from real data
    settings = settings.model_copy(update=update)
    refuse_unsafe(settings)
    if settings.sandbox:
        settings = sandbox_settings(settings)
    _banner(settings)
    uvicorn.run(
        _or_exit(create_app, settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
    )


def _default_database() -> str:
    return str(Settings.model_fields["database_url"].default)


def _banner(settings: Settings) -> None:
    from linda.app import EMULATOR_PREFIX

    base = settings.base_url.rstrip("/")
    lines = [
        f"Linda on {base}  (database {settings.database_url})",
        f"  webhook:          {base}/webhooks/whatsapp",
        f"  API docs:         {base}/docs",
        f"  health:           {base}/health",
    ]
    if settings.sandbox:
        emulator = base + EMULATOR_PREFIX
        say_hi = json.dumps({"from": "971501234567", "type": "text", "text": {"body": "hi"}})
        database = (
            ""
            if settings.database_url == _default_database()
            else f"LINDA_DATABASE_URL={settings.database_url} "
        )
        lines += [
            f"  sandbox chat:     {base}/sandbox",
            f"  emulator (Meta):  {emulator}/_emulator/health",
            f"  a user says hi:   curl -H 'content-type: application/json' {emulator}/_emulator/inbound -d '{say_hi}'",
            f"  answer the user:  {database}linda send --to +971501234567 --text 'Hello!' --wait",
            f"  what Meta saw:    {emulator}/_emulator/sent",
        ]
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False, markup=False)


def _or_exit(build: Callable[[Settings], T], settings: Settings) -> T:
    """Build the app or runtime; a bad rules file or bot module stops the command with what to fix."""
    from linda.bot import PluginError, RulesError
    from linda.monitoring.alert_rules import AlertRulesError

    try:
        return build(settings)
    except (RulesError, PluginError, AlertRulesError) as exc:
        console.print(f"[red]Cannot start:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


@app.command()
def worker(bot: BotOption = None) -> None:
    """Process the inbox and send the outbox without a web server (add one per machine to scale out)."""
    from linda.runtime import Runtime

    settings = get_settings()
    settings = settings.model_copy(update={"bot_modules": settings.bot_modules + (bot or [])})
    refuse_unsafe(settings)
    db = Database(settings.database_url)
    runtime = _or_exit(lambda s: Runtime(s, db), settings)

    async def main() -> None:
        await runtime.prepare()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        console.print(f"linda worker running (pid {os.getpid()}); Ctrl-C stops it")
        await stop.wait()
        await runtime.stop()
        await db.dispose()

    asyncio.run(main())


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
    phone_number_id: Annotated[
        list[str] | None,
        typer.Option(
            "--phone-number-id", help="A number to host (repeatable), besides LINDA_PHONE_NUMBER_ID."
        ),
    ] = None,
) -> None:
    """Run the Cloud API emulator alone; point Linda at it with LINDA_GRAPH_API_URL=http://HOST:PORT."""
    from linda.emulator import emulator_from_settings, run

    settings = get_settings()
    extra = [AccountSettings(phone_number_id=number) for number in phone_number_id or ()]
    settings = settings.model_copy(update={"accounts": settings.accounts + extra})
    emulated = emulator_from_settings(settings)
    console.print(
        f"emulator on http://{host}:{port} hosting {', '.join(sorted(emulated.numbers))}, "
        f"posting webhooks to {emulated.webhook_url}",
        soft_wrap=True,
    )
    run(emulated, host, port)
