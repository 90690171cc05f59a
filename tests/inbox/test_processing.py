"""From webhook to stored state: every inbound type, batches, duplicates, dead letters, crashes."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from linda.accounts import save_account
from linda.emulator import inbound
from linda.inbox.apply import Received
from linda.inbox.processor import InboxProcessor, dead_letters, replay
from linda.store.db import Database
from linda.store.models import Contact, Conversation, InboxItem, Message
from linda.store.types import utcnow
from tests.conftest import NUMBER, SECOND_NUMBER
from tests.stack import Stack, emulated, eventually, running_stack, text_webhook

USER = "971501234567"

INBOUND: list[tuple[dict[str, Any], str | None]] = [
    (
        {"type": "text", "text": {"body": "Is the villa in Vardon still available?"}},
        "Is the villa in Vardon still available?",
    ),
    ({"type": "image", "image": {"caption": "the unit"}}, "the unit"),
    ({"type": "video", "video": {}}, None),
    ({"type": "audio", "audio": {"voice": True}}, None),
    ({"type": "document", "document": {"filename": "title-deed.pdf", "caption": "deed"}}, "deed"),
    ({"type": "sticker", "sticker": {"animated": False}}, None),
    (
        {"type": "location", "location": {"latitude": 25.0657, "longitude": 55.1713, "name": "Damac Hills"}},
        "Damac Hills",
    ),
    (
        {
            "type": "contacts",
            "contacts": [{"name": {"formatted_name": "Ali Hassan"}, "phones": [{"phone": "+971501112233"}]}],
        },
        "Ali Hassan",
    ),
    (
        {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "rent", "title": "Rent"}},
        },
        "Rent",
    ),
    (
        {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "villa", "title": "Villa", "description": "3+ beds"},
            },
        },
        "Villa",
    ),
    ({"type": "button", "button": {"payload": "STOP_PROMOS", "text": "Stop promotions"}}, "Stop promotions"),
    ({"type": "reaction", "reaction": {"message_id": "wamid.earlier", "emoji": "👍"}}, "👍"),
    ({"type": "order", "order": {"catalog_id": "1", "product_items": []}}, None),
    (
        {"type": "system", "system": {"body": "Ali changed their number", "type": "user_changed_number"}},
        "Ali changed their number",
    ),
    ({"type": "unsupported"}, None),
    ({"type": "hologram", "hologram": {"depth": 3}}, None),
]


@pytest.fixture
async def stack(database_url: str):  # type: ignore[no-untyped-def]
    async with running_stack(database_url, accounts=(NUMBER, SECOND_NUMBER)) as running:
        yield running


async def stored_messages(db: Database) -> list[Message]:
    async with db.read() as session:
        return list((await session.scalars(select(Message).order_by(Message.id))).all())


async def test_every_inbound_type_is_stored_with_its_text(stack: Stack) -> None:
    wamids = []
    for message, _text in INBOUND:
        wamids.append(
            await stack.emulator.user_sends(NUMBER.phone_number_id, USER, message, profile_name="Ali")
        )
    await stack.inbox_settled()
    stored = await stored_messages(stack.db)
    assert [m.wamid for m in stored] == wamids
    assert [(m.type, m.text) for m in stored] == [(m["type"], text) for m, text in INBOUND]
    assert all(m.direction == "in" and m.state == "received" for m in stored)
    assert stored[-1].payload["hologram"] == {"depth": 3}  # unknown types kept raw
    unsupported = next(m for m in stored if m.type == "unsupported")
    assert unsupported.error_code == 131051
    async with stack.db.read() as session:
        contact = (await session.scalars(select(Contact))).one()
        conversation = (await session.scalars(select(Conversation))).one()
    assert (contact.phone, contact.wa_id, contact.name) == ("+971501234567", USER, "Ali")
    assert conversation.window_expires_at is not None
    assert conversation.window_expires_at > utcnow() + timedelta(hours=23)


async def test_sender_known_only_by_user_id(stack: Stack) -> None:
    payload = text_webhook(NUMBER, USER, "hello", "wamid.U1", profile_name="Sara", user_id="AE.1234567890")
    value = payload["entry"][0]["changes"][0]["value"]
    del value["messages"][0]["from"], value["contacts"][0]["wa_id"]
    await stack.emulator.post_webhook(payload)
    await stack.inbox_settled()
    async with stack.db.read() as session:
        contact = (await session.scalars(select(Contact))).one()
    assert (contact.user_id, contact.wa_id, contact.phone, contact.name) == (
        "AE.1234567890",
        None,
        None,
        "Sara",
    )


async def test_batched_entries_changes_messages_and_statuses_are_all_handled(stack: Stack) -> None:
    first = emulated(NUMBER)
    one = text_webhook(NUMBER, USER, "a", "wamid.A")
    two = text_webhook(NUMBER, "971509998877", "b", "wamid.B", profile_name="Mona")
    three = text_webhook(SECOND_NUMBER, USER, "c", "wamid.C")
    batch = copy.deepcopy(one)
    value = batch["entry"][0]["changes"][0]["value"]
    value["messages"] += two["entry"][0]["changes"][0]["value"]["messages"]
    value["contacts"] += two["entry"][0]["changes"][0]["value"]["contacts"]
    value["messages"].append({"id": "wamid.BAD", "type": "text", "timestamp": "not-a-time", "from": USER})
    batch["entry"][0]["changes"].append(three["entry"][0]["changes"][0])
    batch["entry"].append(
        inbound.status_payload(
            first, wamid="wamid.unknown-out", status="read", timestamp=1764000003, recipient_id=USER
        )["entry"][0]
    )
    await stack.emulator.post_webhook(batch)
    await stack.inbox_settled()
    stored = await stored_messages(stack.db)
    assert [(m.wamid, m.text) for m in stored] == [("wamid.A", "a"), ("wamid.B", "b"), ("wamid.C", "c")]
    accounts = {m.wamid: m.account_id for m in stored}
    assert accounts["wamid.A"] == accounts["wamid.B"] != accounts["wamid.C"]  # routed by phone_number_id
    async with stack.db.read() as session:
        inbox = (await session.scalars(select(InboxItem))).one()
    assert inbox.state == "done"


async def test_redelivered_webhook_changes_nothing(stack: Stack) -> None:
    payload = text_webhook(NUMBER, USER, "once", "wamid.ONCE")
    for _ in range(3):
        await stack.emulator.post_webhook(payload)
    await stack.inbox_settled()
    assert [m.wamid for m in await stored_messages(stack.db)] == ["wamid.ONCE"]
    async with stack.db.read() as session:
        states = (await session.scalars(select(InboxItem.state))).all()
    assert states == ["done", "done", "done"]


async def test_unknown_number_goes_to_dead_letters_and_replays_after_the_account_is_added(
    stack: Stack,
) -> None:
    from linda.settings import AccountSettings

    stranger = AccountSettings(phone_number_id="999000999", display_phone_number="+971 4 999 0000")
    payload = text_webhook(stranger, USER, "hi", "wamid.LATE")
    await stack.emulator.post_webhook(payload)
    await stack.emulator.wait_idle()

    async def dead() -> bool:
        return len(await dead_letters(stack.db)) == 1

    await eventually(dead)
    [letter] = await dead_letters(stack.db)
    assert "999000999" in (letter.last_error or "") and "linda accounts add" in (letter.last_error or "")
    assert await stored_messages(stack.db) == []
    await save_account(stack.db, stranger)
    assert await replay(stack.db) == 1
    stack.app.state.runtime.notify_inbox()
    await stack.inbox_settled()
    assert [m.wamid for m in await stored_messages(stack.db)] == ["wamid.LATE"]


async def test_body_that_is_no_webhook_is_a_dead_letter_at_once(db: Database) -> None:
    async with db.transaction() as session:
        session.add(InboxItem(body=b'{"object": "page", "entry": []}'))
        session.add(InboxItem(body=b"[1, 2]"))
    processor = InboxProcessor(db, max_attempts=5)
    await processor.drain()
    letters = await dead_letters(db)
    assert [row.attempts for row in letters] == [1, 1]
    assert all("not a WhatsApp webhook" in (row.last_error or "") for row in letters)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the processor handles it."""


async def test_crash_mid_batch_then_restart_loses_nothing_and_doubles_nothing(db: Database) -> None:
    await save_account(db, NUMBER)
    bodies = []
    for row in range(3):
        payload = text_webhook(NUMBER, USER, f"r{row}m0", f"wamid.{row}.0")
        messages = payload["entry"][0]["changes"][0]["value"]["messages"]
        for index in (1, 2):
            messages.append(
                {**messages[0], "id": f"wamid.{row}.{index}", "text": {"body": f"r{row}m{index}"}}
            )
        bodies.append(payload)
    import json

    async with db.transaction() as session:
        session.add_all([InboxItem(body=json.dumps(body).encode()) for body in bodies])

    seen: list[str] = []

    async def crash_on_second_message_of_second_row(received: Received) -> None:
        seen.append(received.inbound.id)
        if received.inbound.id == "wamid.1.1":
            raise Crash

    crashing = InboxProcessor(db, hooks=[crash_on_second_message_of_second_row], lease_seconds=0.2)
    with pytest.raises(Crash):
        await crashing.drain()
    assert seen == ["wamid.0.0", "wamid.0.1", "wamid.0.2", "wamid.1.0", "wamid.1.1"]
    # what the dying transaction held is gone; rows committed before it (if any) are complete
    survivors = [m.wamid for m in await stored_messages(db)]
    assert survivors in ([], ["wamid.0.0", "wamid.0.1", "wamid.0.2"])

    import asyncio

    await asyncio.sleep(0.3)  # the dead process's leases run out
    restarted = InboxProcessor(db)
    assert await restarted.drain() == 3 - len(survivors) // 3
    stored = [m.wamid for m in await stored_messages(db)]
    assert stored == [f"wamid.{row}.{index}" for row in range(3) for index in range(3)]
    async with db.read() as session:
        assert (
            await session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.state == "done"))
            == 3
        )


async def test_failing_row_retries_then_becomes_dead_with_its_error(db: Database) -> None:
    await save_account(db, NUMBER)
    payload = text_webhook(NUMBER, USER, "x", "wamid.F")
    import json

    async with db.transaction() as session:
        session.add(InboxItem(body=json.dumps(payload).encode()))

    async def broken_hook(received: Received) -> None:
        raise RuntimeError("handler bug")

    processor = InboxProcessor(db, hooks=[broken_hook], max_attempts=3, retry_base_seconds=0.0)
    for _ in range(3):
        await processor.drain()
    [letter] = await dead_letters(db)
    assert letter.attempts == 3 and letter.last_error == "RuntimeError: handler bug"
    assert await stored_messages(db) == []  # the failing transaction left nothing half-written


async def test_read_receipts_when_asked(database_url: str) -> None:
    async with running_stack(database_url, mark_as_read=True) as stack:
        wamid = await stack.emulator.user_sends(
            NUMBER.phone_number_id, USER, {"type": "text", "text": {"body": "hi"}}
        )
        await stack.inbox_settled()

        async def marked() -> bool:
            return any(r.body.get("status") == "read" for r in stack.emulator.requests)

        await eventually(marked)
        [receipt] = [r for r in stack.emulator.requests if r.body.get("status") == "read"]
    assert receipt.body["message_id"] == wamid and receipt.error_code is None
