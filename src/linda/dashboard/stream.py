"""Hub: one window's live dashboard data, computed once for all the streams that show it.

While anyone listens, a task looks every `tick_seconds` (0.25 s) at what this process measured since the last
look, and publishes fresh data when something changed (or every `refresh_seconds`, as rates fall while
nothing happens). It reads the stored history again when a process flushed (an event of the collector's
feed) or when it is older than a flush period, and forwards alert changes as they come. When the last
listener leaves, the task ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from linda.monitoring.live import LiveFeed, Subscription

if TYPE_CHECKING:
    from linda.dashboard.board import Dashboard, Extras
    from linda.dashboard.view import Stored

log = logging.getLogger(__name__)
MIN_REFRESH_SECONDS = 1.0  # flushes of many processes: read history at most this often
DEPTH_SECONDS = 1.0  # read the outbox depth at most this often
BUSY_FACTOR = 10  # wait at least this many times as long as the last look took


class Hub:
    def __init__(self, dashboard: Dashboard, window: float) -> None:
        self.dashboard = dashboard
        self.window = window
        self.feed = LiveFeed(buffer=32)
        self.latest: dict[str, Any] | None = None  # the newest `metrics` event
        self.sequence = 0
        self._task: asyncio.Task[None] | None = None

    def subscribe(self) -> Subscription:
        subscription = self.feed.subscribe()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"dashboard-stream-{self.window:g}s")
        return subscription

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _publish(self, kind: str, data: Any) -> None:
        self.sequence += 1
        event = {"event": kind, "id": self.sequence, "data": data}
        if kind == "metrics":
            self.latest = event
        self.feed.publish(event)

    async def _run(self) -> None:
        events = self.dashboard.collector_events()
        try:
            await self._loop(events)
        finally:
            if events is not None:
                events.close()

    async def _loop(self, events: Subscription | None) -> None:
        board = self.dashboard
        stored: Stored | None = None
        extras: Extras | None = None
        version = depth_version = 0  # of everything besides this process's live measurements
        refresh_due = True
        refreshed = depth_read = sent_at = float("-inf")
        sent: tuple[Any, ...] | None = None
        live_seen: tuple[Any, ...] | None = None
        while self.feed.subscribers:
            try:
                now = time.monotonic()
                if (
                    stored is None
                    or extras is None
                    or now - refreshed >= max(board.flush_seconds, 2.0)
                    or (refresh_due and now - refreshed >= MIN_REFRESH_SECONDS)
                ):
                    stored = await board.view.stored(self.window)
                    extras = await board.extras()
                    refreshed, refresh_due, version = now, False, version + 1
                live = board.view.live(stored).fingerprint()
                forced = now - sent_at >= board.refresh_seconds
                news = live != live_seen or forced or version != depth_version
                if news and now - depth_read >= DEPTH_SECONDS:
                    extras.outbox_depth = await board.outbox_depth()
                    depth_read, depth_version = now, version
                live_seen = live
                state = (live, version, extras.outbox_depth)
                if state != sent or forced:
                    self._publish("metrics", board.build(stored, extras, self.window))
                    sent, sent_at = state, now
                # with very many series a build takes long: keep the stream under a tenth of the event loop
                pause = max(board.tick_seconds, (time.monotonic() - now) * BUSY_FACTOR)
                for event in await _news(events, pause):
                    if event.get("event") == "flush":
                        refresh_due = True
                    elif event.get("event") == "alert":
                        self._publish("alert", event.get("data"))
                        extras.alerts = await board.alerts()
                        version += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly away: keep the stream, try again
                log.exception("dashboard stream: could not refresh; trying again")
                await asyncio.sleep(1.0)


async def _news(events: Subscription | None, timeout: float) -> list[dict[str, Any]]:
    """Wait up to `timeout` for the collector's events; every one that came."""
    if events is None:
        await asyncio.sleep(timeout)
        return []
    first = await events.next(timeout)
    if first is None:
        return []
    news = [first]
    while events.pending():
        event = await events.next(0)
        if event is not None:
            news.append(event)
    return news
