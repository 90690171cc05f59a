"""Two `linda worker` processes sharing Redis send 2,000 messages to 50 users as fast as Meta allows,
and the emulator, enforcing Meta's limits, never refuses one."""

from __future__ import annotations

import signal
from collections import Counter

import pytest
from sqlalchemy import func, select

from linda.accounts import save_account
from linda.emulator import Emulator
from linda.sending.outbox import enqueue
from linda.settings import AccountSettings
from linda.store.db import Database
from linda.store.models import OutboxItem
from linda.whatsapp import messages
from tests.processes import start_worker
from tests.servers import serve
from tests.stack import APP_SECRET, TEMPLATES, TOKEN, emulated, eventually

MESSAGES, USERS, THROUGHPUT = 2000, 50, 100
NUMBER = AccountSettings(
    phone_number_id="333000333", display_phone_number="+971 4 000 0003", throughput_per_second=THROUGHPUT
)


@pytest.mark.redis
async def test_two_workers_stay_under_throughput_and_pair_limits(
    db: Database, database_url: str, redis_url: str, unique: str
) -> None:
    await save_account(db, NUMBER)
    users = [f"+97150123{index:04d}" for index in range(USERS)]
    account = None
    async with db.transaction() as session:
        from linda.store.models import Account

        account = (await session.scalars(select(Account))).one()
        for index in range(MESSAGES):
            await enqueue(
                session, account=account, to=users[index % USERS], message=messages.template("hello", "en_US")
            )

    emulator = Emulator(
        app_secret=APP_SECRET, webhook_url=None, numbers=[emulated(NUMBER)], templates=TEMPLATES
    )
    async with serve(emulator.app) as emulator_url:
        env = {
            "LINDA_DATABASE_URL": database_url,
            "LINDA_REDIS_URL": redis_url,
            "LINDA_REDIS_KEY_PREFIX": f"test:{unique}:",
            "LINDA_GRAPH_API_URL": emulator_url,
            "LINDA_ACCESS_TOKEN": TOKEN,
            "LINDA_SENDERS": "8",
        }
        workers = [await start_worker(env) for _ in range(2)]
        try:

            async def all_sent() -> bool:
                async with db.read() as session:
                    left = await session.scalar(
                        select(func.count()).select_from(OutboxItem).where(OutboxItem.state != "sent")
                    )
                return left == 0

            await eventually(all_sent, timeout=100)
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.send_signal(signal.SIGTERM)
            errors = [(await worker.communicate())[1].decode() for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), errors
    codes = Counter(request.error_code for request in emulator.requests)
    assert codes[130429] == 0 and codes[131056] == 0, codes
    accepted = emulator.sent_messages()
    assert len(accepted) == MESSAGES  # nothing sent twice
    assert Counter(r.body["to"] for r in accepted) == {u.lstrip("+"): MESSAGES // USERS for u in users}
    async with db.read() as session:
        senders = Counter((await session.scalars(select(OutboxItem.lease_owner))).all())
    assert len({owner.split("-")[1] for owner in senders if owner}) == 2, senders  # both processes sent
