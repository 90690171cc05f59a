"""LiveFeed: every subscriber gets every event, in order; a slow one loses its oldest, closing unsubscribes."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from linda.monitoring.live import LiveFeed


async def test_every_subscriber_gets_every_event_in_order() -> None:
    feed = LiveFeed()
    first, second = feed.subscribe(), feed.subscribe()
    for n in range(3):
        feed.publish({"event": "flush", "data": {"n": n}})
    assert [(await first.next())["data"]["n"] for _ in range(3)] == [0, 1, 2]  # type: ignore[index]
    assert [(await second.next())["data"]["n"] for _ in range(3)] == [0, 1, 2]  # type: ignore[index]
    assert await first.next(timeout=0.01) is None


async def test_a_slow_subscriber_keeps_only_the_newest_events() -> None:
    feed = LiveFeed(buffer=4)
    slow = feed.subscribe()
    roomy = feed.subscribe(buffer=100)
    for n in range(10):
        feed.publish({"n": n})
    assert slow.pending() == 4 and slow.dropped == 6
    assert [(await slow.next())["n"] for _ in range(4)] == [6, 7, 8, 9]  # type: ignore[index]
    assert roomy.pending() == 10 and roomy.dropped == 0


async def test_iteration_waits_for_events_and_ends_when_closed() -> None:
    feed = LiveFeed()
    subscription = feed.subscribe()
    seen: list[int] = []

    async def read() -> None:
        async for event in subscription:
            seen.append(event["n"])

    reader = asyncio.create_task(read())
    await asyncio.sleep(0)
    feed.publish({"n": 1})
    feed.publish({"n": 2})
    await asyncio.sleep(0.01)
    await subscription.aclose()
    await asyncio.wait_for(reader, 1)
    assert seen == [1, 2]
    assert feed.subscribers == 0
    feed.publish({"n": 3})  # nobody listens: nothing is kept
    assert subscription.pending() == 0
    with pytest.raises(StopAsyncIteration):
        await subscription.next()


async def test_leaving_the_block_or_dropping_the_subscription_unsubscribes() -> None:
    feed = LiveFeed()
    async with feed.subscribe() as events:
        assert feed.subscribers == 1
        feed.publish({"n": 1})
        assert await events.next() == {"n": 1}
    assert feed.subscribers == 0
    feed.subscribe()  # never read, never closed
    gc.collect()
    assert feed.subscribers == 0


async def test_a_timed_out_or_cancelled_wait_loses_nothing() -> None:
    feed = LiveFeed()
    subscription = feed.subscribe()
    waiter = asyncio.create_task(subscription.next())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await subscription.next(timeout=0.01) is None
    feed.publish({"n": 1})
    assert await subscription.next(timeout=1) == {"n": 1}


async def test_publishing_from_another_thread() -> None:
    feed = LiveFeed()
    subscription = feed.subscribe()
    thread = threading.Thread(target=lambda: [feed.publish({"n": n}) for n in range(5)])
    thread.start()
    thread.join()
    assert [(await subscription.next(timeout=1))["n"] for _ in range(5)] == list(range(5))  # type: ignore[index]
    assert feed.published == 5


def test_a_buffer_holds_at_least_one_event() -> None:
    async def subscribe() -> None:
        LiveFeed().subscribe(buffer=0)  # 0 means the feed's default

    asyncio.run(subscribe())

    async def bad() -> None:
        LiveFeed(buffer=0).subscribe()

    with pytest.raises(ValueError, match="at least one"):
        asyncio.run(bad())
