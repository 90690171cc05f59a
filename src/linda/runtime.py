"""The background parts of one Linda process: the inbox processor and the outbox senders.

`linda serve` runs them beside the HTTP app; `linda worker` runs them alone, so a deployment can add sending
and processing capacity without more web servers. In sandbox mode the emulator's webhook emitter runs here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from redis.asyncio import Redis

from linda.accounts import save_account
from linda.bot import Bot, build_bot
from linda.inbox.apply import MessageHook
from linda.inbox.processor import InboxProcessor
from linda.monitoring.alerts import AlertEvaluator
from linda.monitoring.collector import MetricsCollector
from linda.monitoring.database import instrument_database
from linda.monitoring.monitor import NullMonitor, PerformanceMonitor, watch_event_loop
from linda.sending.limiter import MemoryRates, RateStore, RedisRates, SendLimiter
from linda.sending.receipts import ReadReceipts
from linda.sending.sender import OutboxSender, SenderConfig
from linda.settings import Settings
from linda.store.db import Database
from linda.whatsapp.client import GraphClient

log = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        bot: Bot | None = None,
        hooks: Sequence[MessageHook] = (),
        webhook_pressure: Callable[[], int] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.monitor = PerformanceMonitor() if settings.monitoring else NullMonitor()
        if settings.monitoring:
            instrument_database(db, self.monitor)
        self.redis: Redis | None = Redis.from_url(settings.redis_url) if settings.redis_url else None
        self.collector = MetricsCollector(
            db,
            self.monitor,
            flush_seconds=settings.metrics_flush_seconds,
            retention=settings.metrics_retention,
            redis=self.redis,
            redis_prefix=settings.redis_key_prefix,
            alerts=AlertEvaluator.from_settings(settings, db, on_queued=lambda: self.notify_outbox()),
        )
        self.bot = bot if bot is not None else build_bot(settings)
        self.bot.monitor = self.monitor
        rates: RateStore = (
            RedisRates(self.redis, prefix=settings.redis_key_prefix + "rate:")
            if self.redis is not None
            else MemoryRates()
        )
        self.client = GraphClient(
            settings.graph_url(), settings.access_token, timeout=settings.graph_api_timeout_seconds
        )
        limiter = SendLimiter(rates)
        self.sender = OutboxSender(
            db,
            self.client,
            limiter,
            SenderConfig(
                concurrency=settings.senders,
                lease_seconds=settings.lease_seconds,
                max_attempts=settings.outbox_max_attempts,
                retry_base_seconds=settings.retry_base_seconds,
                retry_max_seconds=settings.retry_max_seconds,
                poll_seconds=settings.outbox_poll_seconds,
                fallback_template=settings.fallback_template,
                access_token=settings.access_token,
                stop_grace_seconds=settings.graph_api_timeout_seconds + 5,
            ),
            monitor=self.monitor,
        )
        self.receipts = (
            ReadReceipts(self.client, limiter, monitor=self.monitor) if settings.mark_as_read else None
        )
        hooks = [self.bot.handle_message, *hooks]
        if self.receipts is not None:
            hooks.append(self.receipts.collect)
        self.inbox = InboxProcessor(
            db,
            hooks=hooks,
            status_hooks=[self.bot.handle_status],
            batch_size=settings.inbox_batch_size,
            lease_seconds=settings.lease_seconds,
            max_attempts=settings.inbox_max_attempts,
            poll_seconds=settings.inbox_poll_seconds,
            retry_base_seconds=settings.retry_base_seconds,
            on_processed=self._processed,
            webhook_pressure=webhook_pressure,
            monitor=self.monitor,
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def _processed(self) -> None:
        """New inbound messages were stored: hooks may have queued replies, and receipts may be due."""
        self.sender.wakeup.set()
        if self.receipts is not None:
            self.receipts.wakeup.set()

    async def prepare(self) -> None:
        """Migrate the database and merge the accounts declared in settings."""
        await self.db.upgrade()
        for account in self.settings.all_accounts():
            await save_account(self.db, account)

    async def start(self) -> None:
        self._stop.clear()
        self._tasks = [asyncio.create_task(self.inbox.run(self._stop), name="inbox")]
        if self.settings.senders > 0:
            self._tasks.append(asyncio.create_task(self.sender.run(self._stop), name="outbox"))
        if self.receipts is not None:
            self._tasks.append(asyncio.create_task(self.receipts.run(self._stop), name="read-receipts"))
        if self.settings.monitoring:
            self._tasks.append(asyncio.create_task(self.collector.run(self._stop), name="metrics"))
            if self.redis is not None:
                self._tasks.append(
                    asyncio.create_task(self.collector.listen(self._stop), name="metrics-peers")
                )
            self._tasks.append(
                asyncio.create_task(watch_event_loop(self.monitor, self._stop), name="event-loop-lag")
            )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=self.settings.graph_api_timeout_seconds + 10)
        self._tasks = []
        await self.client.aclose()
        if self.redis is not None:
            await self.redis.aclose()

    def notify_inbox(self) -> None:
        self.inbox.wakeup.set()

    def notify_outbox(self) -> None:
        self.sender.wakeup.set()
