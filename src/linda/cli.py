"""The `linda` command."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from linda.accounts import list_accounts, save_account
from linda.settings import AccountSettings, Settings, describe, get_settings
from linda.store.db import Database

T = TypeVar("T")
app = typer.Typer(help="Linda: WhatsApp business bots on Meta's Cloud API.", no_args_is_help=True)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
accounts_app = typer.Typer(help="Business numbers Linda serves.", no_args_is_help=True)
inbox_app = typer.Typer(help="Stored webhooks: status and dead letters.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(inbox_app, name="inbox")
console = Console()


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def _with_db(settings: Settings, work: Any) -> Any:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        return await work(db)
    finally:
        await db.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [LINDA_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [LINDA_PORT].")] = None,
    sandbox: Annotated[bool, typer.Option(help="Run the emulator in this process [LINDA_SANDBOX].")] = False,
) -> None:
    """Receive webhooks and send messages: the web server, the inbox processor and the senders."""
    settings = get_settings()
    update: dict[str, Any] = {"host": host or settings.host, "port": port or settings.port}
    if sandbox:
        update["sandbox"] = True
    settings = settings.model_copy(update=update)
    _serve(settings)


@app.command()
def sandbox(
    port: Annotated[int | None, typer.Option(help="Port to listen on [LINDA_PORT].")] = None,
    database_url: Annotated[
        str, typer.Option(help="Database [LINDA_DATABASE_URL]; the sandbox keeps its own file by default.")
    ] = "",
) -> None:
    """Try Linda with no Meta account: the emulator runs inside, on a sandbox number."""
    settings = get_settings()
    settings = settings.model_copy(
        update={
            "sandbox": True,
            "port": port or settings.port,
            "database_url": database_url or _sandbox_database(settings),
        }
    )
    _serve(settings)


def _sandbox_database(settings: Settings) -> str:
    default = Settings.model_fields["database_url"].default
    return "sqlite:///linda-sandbox.db" if settings.database_url == default else settings.database_url


def _serve(settings: Settings) -> None:
    from linda.accounts import SANDBOX_ACCOUNT
    from linda.app import EMULATOR_PREFIX, create_app, sandbox_settings

    if missing := settings.missing_secrets():
        console.print(
            f"[red]Refusing to talk to Meta with sandbox secrets.[/] Set {', '.join(missing)} (from your Meta "
            "app's dashboard), or run `linda sandbox` to try Linda against the built-in emulator."
        )
        raise typer.Exit(2)
    if settings.sandbox:
        settings = sandbox_settings(settings)

    base = settings.base_url.rstrip("/")
    console.print(f"[bold]Linda[/] on {base}  (database {settings.database_url})")
    console.print(f"  webhook:          {base}/webhooks/whatsapp")
    console.print(f"  API docs:         {base}/docs")
    console.print(f"  health:           {base}/health")
    if settings.sandbox:
        account = settings.accounts[0] if settings.accounts else SANDBOX_ACCOUNT
        say_hi = json.dumps(
            {"phone_number_id": account.phone_number_id, "message": {"type": "text", "text": {"body": "hi"}}}
        )
        lines = [
            f"  emulator (Meta):  {base}{EMULATOR_PREFIX}/_emulator/health",
            "  a user says hi:   curl -X POST -H 'content-type: application/json' "
            f"{base}{EMULATOR_PREFIX}/_emulator/users/971501234567/messages -d '{say_hi}'",
            f"  answer the user:  LINDA_DATABASE_URL={settings.database_url} linda send +971501234567 --text 'Hello!'",
            f"  what Meta saw:    {base}{EMULATOR_PREFIX}/_emulator/requests",
        ]
        for line in lines:
            console.print(line, soft_wrap=True, highlight=False, markup=False)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command()
def worker() -> None:
    """Process the inbox and send the outbox without a web server (add one per machine to scale out)."""
    from linda.runtime import Runtime

    settings = get_settings()

    async def main() -> None:
        db = Database(settings.database_url)
        runtime = Runtime(settings, db)
        await runtime.prepare()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        console.print(f"linda worker running (pid {__import__('os').getpid()}); Ctrl-C stops it")
        await stop.wait()
        await runtime.stop()
        await db.dispose()

    _run(main())


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where to post webhooks (default: Linda's own URL from settings).")
    ] = None,
) -> None:
    """Run the Cloud API emulator alone; point Linda at it with LINDA_GRAPH_API_URL=http://HOST:PORT."""
    from linda.emulator import emulator_from_settings, run

    settings = get_settings()
    if not settings.accounts:
        from linda.accounts import SANDBOX_ACCOUNT

        settings = settings.model_copy(update={"accounts": [SANDBOX_ACCOUNT]})
    emulated = emulator_from_settings(settings)
    if webhook_url:
        emulated.webhook_url = webhook_url
    console.print(f"emulator on http://{host}:{port}, posting webhooks to {emulated.webhook_url}")
    run(emulated, host, port)


@app.command()
def send(
    to: Annotated[str, typer.Argument(help="Recipient phone in international form, e.g. +971501234567.")],
    text: Annotated[str | None, typer.Option(help="Send this text (needs an open 24 h window).")] = None,
    template: Annotated[
        str | None,
        typer.Option(help="Send this approved template, as name:language (e.g. hello_world:en_US)."),
    ] = None,
    from_number: Annotated[
        str | None, typer.Option("--from", help="phone_number_id to send from (default: the first account).")
    ] = None,
) -> None:
    """Queue one message; a running `linda serve` or `linda worker` sends it."""
    from linda.sending.outbox import SendRefused, enqueue, fallback_message
    from linda.whatsapp import messages

    if (text is None) == (template is None):
        raise typer.BadParameter("give exactly one of --text or --template")
    message = messages.text(text) if text is not None else fallback_message(template or "")

    settings = get_settings()

    async def work(db: Database) -> str:
        accounts = await list_accounts(db)
        account = next((a for a in accounts if from_number in (None, a.phone_number_id)), None)
        if account is None:
            raise typer.BadParameter(f"no account {from_number or ''}; add one with `linda accounts add`")
        async with db.transaction() as session:
            item = await enqueue(
                session, account=account, to=to, message=message, fallback_template=settings.fallback_template
            )
        return f"queued message {item.message_id} to {item.recipient} from {account.display_phone_number}"

    try:
        console.print(_run(_with_db(settings, work)))
    except SendRefused as exc:
        console.print(f"[red]not sent ({exc.code}):[/] {exc}")
        raise typer.Exit(1) from exc


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (Linda also does this on every start)."""
    from linda.store.migrate import current_revision

    settings = get_settings()
    revision = _run(_with_db(settings, current_revision))
    console.print(f"database at revision {revision} ({settings.database_url})")


@accounts_app.command("add")
def accounts_add(
    phone_number_id: Annotated[str, typer.Option(help="Meta's phone number id (routes webhooks).")],
    display_number: Annotated[str, typer.Option(help="The number as people dial it, e.g. +971 4 123 4567.")],
    waba_id: Annotated[str, typer.Option(help="WhatsApp Business Account id.")] = "",
    name: Annotated[str, typer.Option(help="A name for people.")] = "",
    throughput: Annotated[int, typer.Option(help="Messages per second Meta allows this number.")] = 80,
    access_token: Annotated[
        str | None, typer.Option(help="Graph API token for this number (default: LINDA_ACCESS_TOKEN).")
    ] = None,
) -> None:
    """Add a business number, or update the one with this phone number id."""
    account = AccountSettings(
        phone_number_id=phone_number_id,
        display_phone_number=display_number,
        waba_id=waba_id,
        name=name,
        throughput_per_second=throughput,
        access_token=access_token,
    )
    _run(_with_db(get_settings(), lambda db: save_account(db, account)))
    console.print(f"account {phone_number_id} ({display_number}) saved")


@accounts_app.command("list")
def accounts_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The business numbers Linda serves."""
    accounts = _run(_with_db(get_settings(), list_accounts))
    if as_json:
        for a in accounts:
            print(
                json.dumps(
                    {
                        "phone_number_id": a.phone_number_id,
                        "display_phone_number": a.display_phone_number,
                        "waba_id": a.waba_id,
                        "name": a.name,
                        "throughput_per_second": a.throughput_per_second,
                    }
                )
            )
        return
    table = Table("phone_number_id", "number", "WABA", "name", "msg/s")
    for a in accounts:
        table.add_row(
            a.phone_number_id, a.display_phone_number, a.waba_id, a.name, str(a.throughput_per_second)
        )
    console.print(table)


@inbox_app.command("status")
def inbox_status() -> None:
    """Stored webhook bodies per state, and the dead letters with their errors."""
    from linda.inbox.processor import counts, dead_letters

    async def work(db: Database) -> tuple[dict[str, int], list[Any]]:
        return await counts(db), await dead_letters(db)

    totals, dead = _run(_with_db(get_settings(), work))
    console.print("  ".join(f"{state}: {totals.get(state, 0)}" for state in ("pending", "done", "dead")))
    if dead:
        table = Table("id", "received", "attempts", "error")
        for row in dead:
            table.add_row(
                str(row.id),
                row.received_at.isoformat(timespec="seconds"),
                str(row.attempts),
                row.last_error or "",
            )
        console.print(table)


@inbox_app.command("replay")
def inbox_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letters to replay (default: all).")] = None,
) -> None:
    """Put dead letters back in the queue; a running Linda processes them again."""
    from linda.inbox.processor import replay

    count = _run(_with_db(get_settings(), lambda db: replay(db, ids or ())))
    console.print(f"{count} dead letter(s) queued again")


@app.command("settings")
def show_settings() -> None:
    """Every setting: environment variable, default and meaning."""
    table = Table("variable", "default", "meaning")
    for row in describe():
        table.add_row(row["env"], str(row["default"]), row["help"])
    console.print(table)


def main() -> None:
    app()
