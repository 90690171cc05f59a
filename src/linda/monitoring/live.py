"""LiveFeed: events of one process (a flush, an alert changing state, fresh dashboard data) to every listener.

`publish(event)` never blocks and never fails, so measuring code can call it anywhere (from another thread
too). Each `subscribe()` gets its own bounded buffer: a listener that falls behind loses its oldest events,
never the publisher's time or the process's memory, and `Subscription.dropped` says how many it lost. A
subscription is an async iterator; it stops receiving when closed (`aclose()`, or leaving `async with`), and
one that is simply dropped is forgotten with it (the feed holds its subscriptions weakly).

    feed = LiveFeed()
    async with feed.subscribe() as events:
        async for event in events:     # {"event": "flush", "data": {...}}, ...
            ...

Events are shared by every subscriber: treat them as read-only.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from types import TracebackType
from typing import Any

Event = dict[str, Any]
DEFAULT_BUFFER = 256


class Subscription:
    """One listener's bounded buffer of events, read as an async iterator (or with `next(timeout)`)."""

    def __init__(self, feed: LiveFeed, buffer: int) -> None:
        if buffer < 1:
            raise ValueError("a subscription buffers at least one event")
        self._feed = feed
        self._events: deque[Event] = deque(maxlen=buffer)
        self._ready = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.closed = False
        self.dropped = 0

    def _put(self, event: Event) -> None:
        if self.closed:
            return
        if len(self._events) == self._events.maxlen:
            self.dropped += 1  # the deque drops the oldest
        self._events.append(event)
        self._ready.set()

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event; None when `timeout` seconds pass without one. Raises StopAsyncIteration once
        closed. Cancelling a wait loses no event."""
        while not self._events:
            if self.closed:
                raise StopAsyncIteration
            self._ready.clear()
            if timeout is None:
                await self._ready.wait()
            else:
                try:
                    await asyncio.wait_for(self._ready.wait(), timeout)
                except TimeoutError:
                    return None
        return self._events.popleft()

    def pending(self) -> int:
        return len(self._events)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        event = await self.next()
        assert event is not None
        return event

    def close(self) -> None:
        """Stop receiving; buffered events are discarded and iteration ends."""
        if not self.closed:
            self.closed = True
            self._events.clear()
            self._feed._forget(self)
            self._ready.set()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LiveFeed:
    def __init__(self, buffer: int = DEFAULT_BUFFER) -> None:
        self.buffer = buffer
        self._subscriptions: weakref.WeakSet[Subscription] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.published = 0

    def subscribe(self, buffer: int | None = None) -> Subscription:
        """A new listener, receiving every event published from now on (call it inside the event loop that
        will read it). `buffer` overrides the feed's default of how many unread events it keeps."""
        subscription = Subscription(self, buffer or self.buffer)
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def publish(self, event: Event) -> None:
        """Hand `event` to every subscriber; returns at once, from any thread."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        with self._lock:
            subscriptions = list(self._subscriptions)
            self.published += 1
        for subscription in subscriptions:
            if subscription._loop is running:
                subscription._put(event)
                continue
            try:
                subscription._loop.call_soon_threadsafe(subscription._put, event)
            except RuntimeError:  # its loop is closed: nobody will read it again
                subscription.close()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def _forget(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)
