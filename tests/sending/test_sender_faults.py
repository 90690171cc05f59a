"""The sender when things go wrong: lost leases, crashes mid-send, broken clients, Meta's window, slow slots."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update

from linda.sending.limiter import MemoryRates, SendLimiter
from linda.sending.sender import LostLease, OutboxSender, SenderConfig
from linda.settings import AccountSettings
from linda.store.models import OutboxItem
from linda.whatsapp import messages
from linda.whatsapp.client import GraphClient
from tests.conftest import NUMBER
from tests.sending.test_outbox import USER, message_of, outbox_row, queue, reaches, say_hi
from tests.stack import TOKEN, Stack, eventually, running_stack


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """Linda and the emulator, with no sender running in the app: each test drives its own."""
    async with running_stack(database_url, senders=0) as running:
        yield running


_clients: list[GraphClient] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while _clients:
        await _clients.pop().aclose()


def sender(stack: Stack, client: GraphClient | None = None, **config: object) -> OutboxSender:
    """A sender of its own (as another process would have) on the stack's database and emulator."""
    values: dict[str, object] = {"lease_seconds": 5.0, "retry_base_seconds": 0.0, "retry_max_seconds": 0.0}
    values.update(config)
    if client is None:
        client = GraphClient(stack.emulator_url + "/v23.0", TOKEN)
        _clients.append(client)
    return OutboxSender(
        stack.db,
        client,
        SendLimiter(MemoryRates()),
        SenderConfig(access_token=TOKEN, **values),  # type: ignore[arg-type]
    )


async def test_a_row_whose_lease_passed_to_another_worker_is_not_sent(stack: Stack) -> None:
    item = await queue(stack, messages.template("hello", "en_US"))
    mine = sender(stack)
    [row] = await mine._claim(10)
    async with stack.db.transaction() as session:  # the lease ran out and another worker took the row
        await session.execute(update(OutboxItem).values(lease_owner="send-other"))
    with pytest.raises(LostLease):
        await mine.send(row)
    assert stack.emulator.sent_messages() == []
    assert (await outbox_row(stack, item)).state == "pending"


async def test_a_crash_after_the_call_does_not_send_twice(stack: Stack) -> None:
    item = await queue(stack, messages.template("hello", "en_US"))
    crashed = sender(stack, lease_seconds=0.2)
    [row] = await crashed._claim(10)
    await crashed._begin_attempt(row)
    await crashed.client.send(NUMBER.phone_number_id, row.body)  # Meta took it; then the process died
    await stack.inbox_settled()  # its status webhooks, carrying our key, arrive
    time.sleep(0.3)  # noqa: ASYNC251 - the dead worker's lease runs out
    restarted = sender(stack)
    assert await restarted.drain() == 1
    message = await message_of(stack, item)
    assert len(stack.emulator.sent_messages()) == 1
    assert message.wamid == stack.emulator.sent_messages()[0].wamid and message.state == "read"


async def test_unexpected_errors_are_counted_and_end_in_failure(stack: Stack) -> None:
    item = await queue(stack, messages.template("hello", "en_US"))
    broken = GraphClient(stack.emulator_url + "/v23.0", TOKEN)
    await broken.aclose()  # every call now raises RuntimeError, which is no Graph API error
    faulty = sender(stack, client=broken, max_attempts=3)
    for _ in range(3):
        await faulty.drain()
    row = await outbox_row(stack, item)
    assert (row.state, row.attempts, row.error_code) == ("failed", 3, 0)
    assert "unexpected RuntimeError" in (row.error_message or "")


async def test_metas_window_error_switches_to_the_fallback_template(database_url: str) -> None:
    async with running_stack(database_url, senders=0, fallback_template="hello:en_US") as stack:
        await say_hi(stack)
        # Linda believes the window is open, Meta does not (its clock says the user wrote two days ago)
        stack.emulator.open_window(NUMBER.phone_number_id, USER, at=time.time() - 2 * 86400)
        item = await queue(stack, messages.text("are you still there?"))
        worker = sender(stack, fallback_template="hello:en_US")
        await worker.drain()
        await worker.drain()
        message = await reaches(stack, item, "read")
        codes = [r.error_code for r in stack.emulator.requests if r.to == USER]
    assert codes == [131047, None]
    assert (
        message.type == "template" and message.payload["replaces"]["text"]["body"] == "are you still there?"
    )


async def test_a_slot_too_far_away_puts_the_row_back(database_url: str) -> None:
    slow = AccountSettings(
        phone_number_id=NUMBER.phone_number_id,
        display_phone_number="+971 4 000 0001",
        throughput_per_second=2,  # Meta (and the emulator) allow a second's worth at once: room for jitter
    )
    async with running_stack(database_url, accounts=(slow,), senders=0) as stack:
        items = [
            await queue(stack, messages.template("hello", "en_US"), to=f"+97150123400{i}") for i in range(3)
        ]
        worker = sender(stack, lease_seconds=2.4)
        # Another sender holds the number's next six slots (3 s at 2 msg/s): each row's slot is further away
        # than the 0.8 s cap (a third of the lease), so the rows go back to the queue instead of holding the
        # sender, and nothing reaches Meta yet.
        held = [
            asyncio.create_task(worker.limiter.throughput_slot(NUMBER.phone_number_id, 2)) for _ in range(6)
        ]
        await asyncio.sleep(0)  # each has reserved its slot and sleeps until it
        await worker.drain()
        states = [(await outbox_row(stack, item)).state for item in items]
        assert states == ["pending"] * 3 and stack.emulator.requests == []

        async def all_sent() -> bool:
            await worker.drain()
            rows = [await outbox_row(stack, item) for item in items]
            return {row.state for row in rows} == {"sent"}

        await eventually(all_sent, timeout=15)
        await asyncio.gather(*held)
        codes = [r.error_code for r in stack.emulator.requests]
    assert codes == [None, None, None]  # then one per slot, never above the number's rate
