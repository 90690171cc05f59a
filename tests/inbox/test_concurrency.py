"""Several processes on the same rows: nothing lost, nothing doubled, states never move back."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

from sqlalchemy import func, select

from linda.accounts import save_account
from linda.emulator import inbound
from linda.inbox.processor import InboxProcessor
from linda.store.db import Database
from linda.store.models import Contact, Conversation, InboxItem, Message, StatusEvent
from tests.conftest import NUMBER
from tests.processes import start_worker
from tests.stack import emulated, eventually, text_webhook

USERS = [f"97150123{index:04d}" for index in range(20)]


def message_body(wamid: str, user: str, text: str) -> bytes:
    return json.dumps(text_webhook(NUMBER, user, text, wamid)).encode()


def status_body(wamid: str, status: str, timestamp: int) -> bytes:
    payload = inbound.status_payload(
        emulated(NUMBER), wamid=wamid, status=status, timestamp=timestamp, recipient_id=USERS[0]
    )
    return json.dumps(payload).encode()


async def count(db: Database, model: Any) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_concurrent_processors_store_each_message_and_status_once(
    db: Database, database_url: str
) -> None:
    await save_account(db, NUMBER)
    async with db.transaction() as session:  # an outbound message whose statuses arrive below
        contact = Contact(phone="+971501230000", wa_id=USERS[0])
        session.add(contact)
        await session.flush()
        session.add(
            Message(
                account_id=1,
                contact_id=contact.id,
                direction="out",
                wamid="wamid.OUT",
                type="text",
                state="accepted",
                payload={},
            )
        )
    bodies = []
    for index in range(120):  # every user writes several times, every message is delivered twice
        body = message_body(f"wamid.{index}", USERS[index % len(USERS)], f"m{index}")
        bodies += [body, body]
    for status, timestamp in (("read", 3), ("delivered", 2), ("sent", 1)) * 3:
        bodies.append(status_body("wamid.OUT", status, 1764000000 + timestamp))
    async with db.transaction() as session:
        session.add_all([InboxItem(body=body) for body in bodies])

    others = [Database(database_url) for _ in range(2)]
    try:
        processors = [InboxProcessor(database, batch_size=7) for database in [db, *others]]
        await asyncio.gather(*[processor.drain() for processor in processors])
    finally:
        for other in others:
            await other.dispose()

    assert await count(db, Message) == 121
    assert await count(db, Contact) == len(USERS)
    assert await count(db, Conversation) == len(USERS)
    assert await count(db, StatusEvent) == 3
    async with db.read() as session:
        states = (await session.scalars(select(InboxItem.state).distinct())).all()
        out = (await session.scalars(select(Message).where(Message.wamid == "wamid.OUT"))).one()
        windows = (await session.scalars(select(Conversation.window_expires_at))).all()
    assert states == ["done"]
    assert out.state == "read"
    assert all(window is not None for window in windows)


async def test_a_killed_worker_process_loses_nothing(db: Database, database_url: str) -> None:
    """SIGKILL a real `linda worker` in the middle of the inbox; a new processor finishes exactly once."""
    await save_account(db, NUMBER)
    total = 1500
    async with db.transaction() as session:
        session.add_all(
            [InboxItem(body=message_body(f"wamid.k{i}", USERS[i % 20], f"k{i}")) for i in range(total)]
        )
    env = {
        "LINDA_DATABASE_URL": database_url,
        "LINDA_LEASE_SECONDS": "1",
        "LINDA_INBOX_BATCH_SIZE": "20",
        "LINDA_GRAPH_API_URL": "http://127.0.0.1:9",
        "LINDA_APP_SECRET": "s",
        "LINDA_VERIFY_TOKEN": "v",
        "LINDA_ACCESS_TOKEN": "t",
    }
    worker = await start_worker(env)

    async def some_done() -> bool:
        async with db.read() as session:
            done = await session.scalar(
                select(func.count()).select_from(InboxItem).where(InboxItem.state == "done")
            )
        return bool(done and done >= 20)

    try:
        await eventually(some_done, timeout=60)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    assert await count(db, Message) < total  # it died midway
    await asyncio.sleep(1.1)  # its leases run out
    await InboxProcessor(db).drain()
    async with db.read() as session:
        wamids = (await session.scalars(select(Message.wamid))).all()
        pending = await session.scalar(
            select(func.count()).select_from(InboxItem).where(InboxItem.state != "done")
        )
    assert sorted(wamids) == sorted(f"wamid.k{i}" for i in range(total))
    assert pending == 0
