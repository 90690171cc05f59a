"""Commands about messages: send one, list recent ones."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import mimetypes
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from linda.accounts import list_accounts
from linda.cli.common import app, console, with_db
from linda.settings import Settings, get_settings
from linda.store.db import Database
from linda.store.message_state import FINAL, PROVES_DELIVERY
from linda.store.models import Account
from linda.store.queries import MessageView, message_view, recent_messages

messages_app = typer.Typer(help="Messages in and out.", no_args_is_help=True)
app.add_typer(messages_app, name="messages")


@app.command()
def send(
    to: Annotated[str, typer.Option(help="Recipient phone in international form, e.g. +971501234567.")],
    text: Annotated[str | None, typer.Option(help="Send this text (needs an open 24 h window).")] = None,
    template: Annotated[
        str | None,
        typer.Option(help="Send this approved template, as name:language (e.g. hello_world:en_US)."),
    ] = None,
    media: Annotated[
        Path | None,
        typer.Option(
            help="Upload this file and send it (image, video, audio or document by its type).", exists=True
        ),
    ] = None,
    caption: Annotated[str | None, typer.Option(help="With --media: a caption.")] = None,
    account: Annotated[
        str | None, typer.Option(help="phone_number_id to send from (default: the first account).")
    ] = None,
    wait: Annotated[
        bool, typer.Option(help="Wait for the final state; exit 1 if the message failed.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="With --wait: give up after this many seconds.")] = 60.0,
) -> None:
    """Queue one message; a running `linda serve` or `linda worker` sends it."""
    from linda.sending.outbox import SendRefused, enqueue, fallback_message
    from linda.whatsapp import messages

    if [text, template, media].count(None) != 2:
        raise typer.BadParameter("give exactly one of --text, --template or --media")
    settings = get_settings()

    async def work(db: Database) -> MessageView:
        accounts = await list_accounts(db)
        sender = next((a for a in accounts if account in (None, a.phone_number_id)), None)
        if sender is None:
            raise typer.BadParameter(f"no account {account or ''}; add one with `linda accounts add`")
        if media is not None:
            message = await _upload(settings, sender, media, caption)
        elif text is not None:
            message = messages.text(text)
        else:
            message = fallback_message(template or "")
        async with db.transaction() as session:
            item = await enqueue(
                session, account=sender, to=to, message=message, fallback_template=settings.fallback_template
            )
        console.print(f"queued message {item.message_id} to {item.recipient} from {sender.phone_number_id}")
        return await _wait(db, item.message_id, timeout) if wait else await message_view(db, item.message_id)

    try:
        view = with_db(settings, work)
    except SendRefused as exc:
        console.print(f"[red]not sent ({exc.code}):[/] {exc}")
        raise typer.Exit(1) from exc
    if wait:
        detail = f" ({view.error_code}: {view.error_title})" if view.error_code else ""
        console.print(f"message {view.id}: {view.state}{detail}")
        if view.state not in PROVES_DELIVERY:
            raise typer.Exit(1)


async def _upload(settings: Settings, sender: Account, path: Path, caption: str | None) -> dict[str, Any]:
    """Upload `path` to the Graph API from `sender`'s number; the media message that sends it by id."""
    from linda.whatsapp import messages
    from linda.whatsapp.client import GraphClient

    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    kind = mime.split("/")[0] if mime.split("/")[0] in ("image", "video", "audio") else "document"
    data = await asyncio.to_thread(path.read_bytes)
    async with GraphClient(settings.graph_url(), settings.access_token) as client:
        media_id = await client.upload_media(
            sender.phone_number_id, data, mime, path.name, access_token=sender.access_token
        )
    console.print(f"uploaded {path.name} ({mime}) as media {media_id}")
    return messages.media(
        kind,
        id=media_id,
        caption=caption if kind != "audio" else None,
        filename=path.name if kind == "document" else None,
    )


async def _wait(db: Database, message_id: int, timeout: float) -> MessageView:
    """Poll until the message is read or failed; delivered also counts as success when time runs out."""
    deadline = time.monotonic() + timeout
    view = await message_view(db, message_id)
    while view.state not in FINAL and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        view = await message_view(db, message_id)
    return view


@messages_app.command("list")
def messages_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """Recent messages in and out: direction, wamid, contact, type, text, state."""
    views = with_db(get_settings(), lambda db: recent_messages(db, limit))
    if as_json:
        for view in views:
            print(json.dumps(_jsonable(view), ensure_ascii=False))
        return
    table = Table("id", "dir", "contact", "type", "text", "state", "wamid")
    for v in views:
        state = f"{v.state} ({v.error_code})" if v.error_code else v.state
        table.add_row(
            str(v.id), v.direction, v.contact or "", v.type, (v.text or "")[:40], state, v.wamid or ""
        )
    console.print(table)


def _jsonable(view: MessageView) -> dict[str, Any]:
    row = dataclasses.asdict(view)
    row["created_at"] = view.created_at.isoformat()
    return row
