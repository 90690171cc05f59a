"""Outbox senders: claim due rows (replies before campaigns), pass the limiter, call the Graph API, record.

Retryable failures (rate limits, 5xx, timeouts) come back later with exponential back-off and jitter;
permanent ones are recorded with Meta's code and message. Every send carries its idempotency key as
`biz_opaque_callback_data`, which Meta echoes in status webhooks: after a timeout that may have reached Meta,
the retry first looks for a status carrying that key, and records the send instead of sending it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from linda.inbox.apply import apply_status
from linda.sending.limiter import SendLimiter
from linda.sending.outbox import fallback_message, window_open
from linda.store.db import Database
from linda.store.leases import claim
from linda.store.models import Account, Conversation, Message, OutboxItem, StatusEvent
from linda.store.types import utcnow
from linda.whatsapp import messages
from linda.whatsapp.client import GraphClient
from linda.whatsapp.errors import GraphAPIError, OutsideServiceWindow, PairRateExceeded, TransportError
from linda.whatsapp.limits import PAIR_RATE_INTERVAL_SECONDS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SenderConfig:
    concurrency: int = 8
    lease_seconds: float = 30.0
    max_attempts: int = 8
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 600.0
    poll_seconds: float = 0.1
    fallback_template: str | None = None
    access_token: str = ""


@dataclass(frozen=True)
class _Number:
    phone_number_id: str
    throughput_per_second: int
    access_token: str | None


class OutboxSender:
    def __init__(self, db: Database, client: GraphClient, limiter: SendLimiter, config: SenderConfig) -> None:
        self.db = db
        self.client = client
        self.limiter = limiter
        self.config = config
        self.owner = f"send-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.wakeup = asyncio.Event()
        self._numbers: dict[int, tuple[float, _Number]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and send until `stop` is set; rows claimed but not started are released for others."""
        queue: asyncio.Queue[OutboxItem] = asyncio.Queue(maxsize=self.config.concurrency * 2)
        workers = [asyncio.create_task(self._work(queue)) for _ in range(self.config.concurrency)]
        try:
            while not stop.is_set():
                room = queue.maxsize - queue.qsize()
                rows = await self._claim(room) if room else []
                for row in rows:
                    queue.put_nowait(row)
                if not rows:
                    await self._idle(stop, self.config.poll_seconds if room else 0.01)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self._release([queue.get_nowait() for _ in range(queue.qsize())])

    async def drain(self) -> int:
        """Send everything due now, one row at a time (tests and `linda outbox send`); rows handled."""
        handled = 0
        while rows := await self._claim(self.config.concurrency):
            for row in rows:
                await self.send(row)
            handled += len(rows)
        return handled

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        self.wakeup.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wakeup.wait())]
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def _claim(self, limit: int) -> list[OutboxItem]:
        async with self.db.transaction() as session:
            rows = await claim(
                session,
                OutboxItem,
                owner=self.owner,
                limit=limit,
                lease_seconds=self.config.lease_seconds,
                where=OutboxItem.due_at <= utcnow(),
                order_by=(OutboxItem.priority.desc(), OutboxItem.due_at),
            )
        return sorted(rows, key=lambda row: (-row.priority, row.due_at, row.id))

    async def _work(self, queue: asyncio.Queue[OutboxItem]) -> None:
        while True:
            row = await queue.get()
            try:
                await self.send(row)
            except Exception:  # a bug or a lost database: the lease runs out and the row is tried again
                log.exception("outbox %s: send failed unexpectedly", row.id)

    async def send(self, row: OutboxItem) -> None:
        number = await self._number(row.account_id)
        body = row.body
        if row.attempts and await self._already_sent(row):
            return
        if messages.needs_service_window(body) and not await self._window_open(row):
            if not self.config.fallback_template:
                await self._fail(
                    row,
                    OutsideServiceWindow(
                        131047,
                        "outside the 24 h customer service window; only a template can be sent",
                        http_status=0,
                    ),
                )
                return
            body = await self._swap_to_fallback(row, self.config.fallback_template)
        wait = await self.limiter.pair_wait(number.phone_number_id, row.recipient)
        if wait > 0:
            await self._reschedule(row, wait, attempted=False)
            return
        await self.limiter.throughput_slot(number.phone_number_id, number.throughput_per_second)
        try:
            result = await self.client.send(
                number.phone_number_id, body, access_token=number.access_token or self.config.access_token
            )
        except (GraphAPIError, TransportError) as exc:
            if exc.is_retryable and row.attempts + 1 < self.config.max_attempts:
                await self._reschedule(row, self._backoff(row.attempts + 1, exc), attempted=True, error=exc)
            else:
                await self._fail(row, exc)
            return
        await self._succeed(row, result.wamid)

    async def _swap_to_fallback(self, row: OutboxItem, spec: str) -> dict[str, Any]:
        """The window closed while the message waited: send the configured template instead, and say so."""
        message = fallback_message(spec)
        body = messages.request_body(row.recipient, message, biz_opaque_callback_data=row.idempotency_key)
        async with self.db.transaction() as session:
            await session.execute(update(OutboxItem).where(OutboxItem.id == row.id).values(body=body))
            stored = await session.get_one(Message, row.message_id)
            stored.type, stored.payload = "template", {**message, "replaces": stored.payload}
        return body

    def _backoff(self, attempt: int, exc: Exception) -> float:
        ceiling = min(self.config.retry_max_seconds, self.config.retry_base_seconds * 2.0 ** (attempt - 1))
        delay = ceiling * random.uniform(0.5, 1.0)  # equal jitter: spread retries, keep the back-off
        return max(delay, PAIR_RATE_INTERVAL_SECONDS) if isinstance(exc, PairRateExceeded) else delay

    async def _number(self, account_id: int) -> _Number:
        cached = self._numbers.get(account_id)
        if cached and time.monotonic() - cached[0] < 10:
            return cached[1]
        async with self.db.read() as session:
            account = await session.get_one(Account, account_id)
        number = _Number(account.phone_number_id, account.throughput_per_second, account.access_token)
        self._numbers[account_id] = (time.monotonic(), number)
        return number

    async def _window_open(self, row: OutboxItem) -> bool:
        async with self.db.read() as session:
            conversation = await session.scalar(
                select(Conversation)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.id == row.message_id)
            )
        return window_open(conversation)

    async def _already_sent(self, row: OutboxItem) -> bool:
        async with self.db.read() as session:
            wamid = await session.scalar(
                select(StatusEvent.wamid).where(StatusEvent.callback_data == row.idempotency_key).limit(1)
            )
        if wamid is None:
            return False
        log.info("outbox %s: an earlier attempt reached Meta as %s; not sending again", row.id, wamid)
        await self._succeed(row, wamid)
        return True

    async def _succeed(self, row: OutboxItem, wamid: str) -> None:
        now = utcnow()
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == row.id)
                .values(
                    state="sent",
                    wamid=wamid,
                    attempts=row.attempts + 1,
                    finished_at=now,
                    lease_owner=None,
                    lease_until=None,
                    error_code=None,
                    error_message=None,
                )
            )
            message = await session.get_one(Message, row.message_id)
            message.wamid, message.sent_at = wamid, now
            apply_status(message, "accepted")
            # status webhooks can beat the send's answer: apply those already stored
            events = await session.scalars(
                select(StatusEvent).where(StatusEvent.wamid == wamid).order_by(StatusEvent.timestamp)
            )
            for event in events:
                apply_status(
                    message, event.status, event.error_code, event.raw.get("errors", [{}])[0].get("title")
                )
            if message.conversation_id is not None:
                conversation = await session.get_one(Conversation, message.conversation_id)
                conversation.last_outbound_at = now

    async def _reschedule(
        self, row: OutboxItem, delay: float, *, attempted: bool, error: Exception | None = None
    ) -> None:
        values: dict[str, object] = {
            "due_at": utcnow() + timedelta(seconds=delay),
            "lease_owner": None,
            "lease_until": None,
        }
        if attempted:
            values["attempts"] = row.attempts + 1
        if error is not None:
            values["error_code"] = getattr(error, "code", None)
            values["error_message"] = str(error)
        async with self.db.transaction() as session:
            await session.execute(update(OutboxItem).where(OutboxItem.id == row.id).values(**values))

    async def _fail(self, row: OutboxItem, error: GraphAPIError | TransportError) -> None:
        title = getattr(error, "title", str(error))
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == row.id)
                .values(
                    state="failed",
                    attempts=row.attempts + 1,
                    error_code=error.code,
                    error_message=str(error),
                    finished_at=utcnow(),
                    lease_owner=None,
                    lease_until=None,
                )
            )
            message = await session.get_one(Message, row.message_id)
            message.state, message.error_code, message.error_title = "failed", error.code, title
        log.warning("outbox %s to %s failed for good: %s", row.id, row.recipient, error)

    async def _release(self, rows: list[OutboxItem]) -> None:
        if not rows:
            return
        with contextlib.suppress(Exception):
            async with self.db.transaction() as session:
                await session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_([row.id for row in rows]), OutboxItem.lease_owner == self.owner)
                    .values(lease_owner=None, lease_until=None)
                )
