"""Administration: the database, business numbers, stored webhooks, settings."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from linda.accounts import list_accounts, save_account
from linda.cli.common import app, console, with_db
from linda.settings import AccountSettings, describe, get_settings
from linda.store.db import Database

db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
accounts_app = typer.Typer(help="Business numbers Linda serves.", no_args_is_help=True)
inbox_app = typer.Typer(help="Stored webhooks: status and dead letters.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(inbox_app, name="inbox")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (Linda also does this on every start)."""
    from linda.store.migrate import current_revision

    settings = get_settings()
    revision = with_db(settings, current_revision)
    console.print(f"database at revision {revision} ({settings.database_url})")


@accounts_app.command("add")
def accounts_add(
    phone_number_id: Annotated[str, typer.Option(help="Meta's phone number id (routes webhooks).")],
    display_number: Annotated[
        str, typer.Option(help="The number as people dial it, e.g. +971 4 123 4567.")
    ] = "",
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
    with_db(get_settings(), lambda db: save_account(db, account))
    console.print(f"account {phone_number_id} saved")


@accounts_app.command("list")
def accounts_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The business numbers Linda serves."""
    accounts = with_db(get_settings(), list_accounts)
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

    totals, dead = with_db(get_settings(), work)
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

    count = with_db(get_settings(), lambda db: replay(db, ids or ()))
    console.print(f"{count} dead letter(s) queued again")


@app.command("settings")
def show_settings(
    markdown: Annotated[bool, typer.Option(help="Print the table of docs/configuration.md.")] = False,
) -> None:
    """Every setting: environment variable, default and meaning."""
    if markdown:
        print(settings_markdown())
        return
    table = Table("variable", "default", "meaning")
    for row in describe():
        table.add_row(row["env"], str(row["default"]), row["help"])
    console.print(table)


def settings_markdown() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for row in describe():
        default = row["default"]
        shown = "(none)" if default in (None, "", []) else f"`{default}`"
        lines.append(f"| `{row['env']}` | {shown} | {row['help']} |")
    return "\n".join(lines)
