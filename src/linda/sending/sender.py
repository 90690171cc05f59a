"""Outbox senders: claim due rows (replies before campaigns), pass the limiter, call the Graph API, record.

Each send first re-asserts its lease and counts the attempt in one conditional UPDATE, so a row whose lease
passed to another worker is never sent by both. Retryable failures (rate limits, 5xx, timeouts) come back
later with exponential back-off and jitter; permanent ones are recorded with Meta's code and message.

Every send carries its idempotency key as `biz_opaque_callback_data`, which Meta echoes in status webhooks.
A row with an earlier attempt (a timeout, a crash mid-send) first looks for a status carrying that key and,
when one came, records the send instead of repeating it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from linda.inbox.apply import apply_status, wamid_lock
from linda.monitoring.monitor import NullMonitor, PerformanceMonitor
from linda.pacing import backoff, idle
from linda.sending.limiter import SendLimiter
from linda.sending.outbox import fallback_message, window_open
from linda.store.db import Database
from linda.store.leases import claim
from linda.store.locks import lock_names
from linda.store.models import Account, Contact, Conversation, Message, OutboxItem, StatusEvent
from linda.store.types import utcnow
from linda.whatsapp import messages
from linda.whatsapp.client import GraphClient
from linda.whatsapp.errors import GraphAPIError, OutsideServiceWindow, PairRateExceeded, TransportError
from linda.whatsapp.limits import PAIR_RATE_INTERVAL_SECONDS

log = logging.getLogger(__name__)

# A timeout may hide a send that reached Meta: wait this long before retrying it, so its status webhook
# (carrying our key) has time to arrive and prove it.
MAYBE_SENT_RETRY_SECONDS = 30.0


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
    stop_grace_seconds: float = 20.0


@dataclass(frozen=True)
class _Number:
    phone_number_id: str
    throughput_per_second: int
    access_token: str | None


class LostLease(Exception):
    """Another worker holds the row now; this one leaves it alone."""


class OutboxSender:
    def __init__(
        self,
        db: Database,
        client: GraphClient,
        limiter: SendLimiter,
        config: SenderConfig,
        monitor: PerformanceMonitor | None = None,
    ) -> None:
        self.db = db
        self.monitor = monitor or NullMonitor()
        self.client = client
        self.limiter = limiter
        self.config = config
        self.owner = f"send-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.wakeup = asyncio.Event()
        self._numbers: dict[int, tuple[float, _Number]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and send until `stop` is set. Then rows claimed but not started are released for others,
        and sends in flight finish (up to `stop_grace_seconds`)."""
        queue: asyncio.Queue[OutboxItem | None] = asyncio.Queue(maxsize=max(1, self.config.concurrency) * 2)
        workers = [asyncio.create_task(self._work(queue)) for _ in range(self.config.concurrency)]
        try:
            while not stop.is_set():
                room = queue.maxsize - queue.qsize()
                rows = await self._claim(room) if room else []
                for row in rows:
                    queue.put_nowait(row)
                if not rows:
                    await idle(stop, self.wakeup, self.config.poll_seconds if room else 0.01)
        finally:
            waiting = [queue.get_nowait() for _ in range(queue.qsize())]
            await self._release([row for row in waiting if row is not None])
            for _ in workers:
                queue.put_nowait(None)
            _, unfinished = await asyncio.wait(workers, timeout=self.config.stop_grace_seconds)
            for worker in unfinished:
                worker.cancel()

    async def drain(self) -> int:
        """Send everything due now, one row at a time (tests and tools); rows handled."""
        handled = 0
        while rows := await self._claim(self.config.concurrency):
            for row in rows:
                await self._send_logged(row)
            handled += len(rows)
        return handled

    async def _claim(self, limit: int) -> list[OutboxItem]:
        async with self.db.transaction() as session:
            rows = await claim(
                session,
                OutboxItem,
                owner=self.owner,
                limit=limit,
                lease_seconds=self.config.lease_seconds,
                where=(OutboxItem.due_at <= utcnow()) & ~_waiting_behind(),
                order_by=(OutboxItem.priority.desc(), OutboxItem.due_at),
            )
        return sorted(rows, key=lambda row: (-row.priority, row.due_at, row.id))

    async def _work(self, queue: asyncio.Queue[OutboxItem | None]) -> None:
        while (row := await queue.get()) is not None:
            await self._send_logged(row)

    async def _send_logged(self, row: OutboxItem) -> None:
        try:
            await self.send(row)
        except LostLease:
            log.info("outbox %s: lease lost to another worker; leaving it", row.id)
        except Exception as exc:  # a bug or a lost database: count it, retry later, give up in the end
            log.exception("outbox %s: send failed unexpectedly", row.id)
            with contextlib.suppress(Exception):
                error = GraphAPIError(0, f"unexpected {type(exc).__name__}: {exc}")
                await self._retry_or_fail(row, error, retryable=True, count=True)

    async def send(self, row: OutboxItem) -> None:
        number = await self._number(row.account_id)
        if row.attempts and await self._already_sent(row):
            return
        body = row.body
        window_open, opted_out = await self._recipient_state(row)
        if opted_out:  # opted out after this was queued: only replies to their own messages may go
            await self._fail(row, GraphAPIError(0, "opted_out: the contact opted out after this was queued"))
            return
        if messages.needs_service_window(body) and not window_open:
            if not self.config.fallback_template:
                await self._fail(
                    row,
                    OutsideServiceWindow(
                        131047, "outside the 24 h customer service window; only a template can be sent"
                    ),
                )
                return
            body = await self._swap_to_fallback(row, self.config.fallback_template)
        account = number.phone_number_id
        wait = await self.limiter.pair_wait(account, row.recipient)
        if wait > 0:
            self.monitor.observe("limiter.wait", wait, limit="pair")
            await self._reschedule(row, wait)
            return
        slot_cap = min(1.0, self.config.lease_seconds / 3)  # hold a sender briefly, never a lease long
        waited = await self.limiter.throughput_slot(account, number.throughput_per_second, slot_cap)
        self.monitor.observe("limiter.wait", slot_cap if waited is None else waited, limit="throughput")
        if waited is None:
            await self._reschedule(row, slot_cap)
            return
        attempt = await self._begin_attempt(row)
        timing = self.monitor.start_timer("graph.send", account=account)
        try:
            result = await self.client.send(
                account, body, access_token=number.access_token or self.config.access_token
            )
        except (GraphAPIError, TransportError) as exc:
            self.monitor.end_timer(timing, error=exc, result="error")
            await self._failed_send(row, exc, body, attempt)
            return
        self.monitor.end_timer(timing, result="sent")
        self.monitor.increment("messages.out", account=account)
        await self._succeed(row, result.wamid)

    async def _failed_send(
        self, row: OutboxItem, exc: GraphAPIError | TransportError, body: dict[str, Any], attempt: int
    ) -> None:
        if isinstance(exc, OutsideServiceWindow):  # the window closed since the check: maybe a template
            if self.config.fallback_template and messages.needs_service_window(body):
                await self._swap_to_fallback(row, self.config.fallback_template)
                await self._reschedule(row, 0.0)
            else:
                await self._fail(row, exc)
            return
        await self._retry_or_fail(row, exc, retryable=exc.is_retryable, attempt=attempt)

    async def _begin_attempt(self, row: OutboxItem) -> int:
        """Re-assert the lease for the whole call and count the attempt; LostLease if another worker has it."""
        async with self.db.transaction() as session:
            result = await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.id == row.id,
                    OutboxItem.lease_owner == self.owner,
                    OutboxItem.state == "pending",
                )
                .values(
                    attempts=OutboxItem.attempts + 1,
                    lease_until=utcnow() + timedelta(seconds=self.config.lease_seconds),
                )
                .returning(OutboxItem.attempts)
            )
            attempts = result.scalar_one_or_none()
        if attempts is None:
            raise LostLease(row.id)
        return int(attempts)

    async def _retry_or_fail(
        self,
        row: OutboxItem,
        error: GraphAPIError | TransportError,
        *,
        retryable: bool,
        attempt: int | None = None,
        count: bool = False,
    ) -> None:
        """Retry later with back-off, or fail for good. `count`: this attempt is not counted yet."""
        attempt = attempt if attempt is not None else row.attempts + 1
        if not retryable or attempt >= self.config.max_attempts:
            await self._fail(row, error)
            return
        delay = backoff(attempt, self.config.retry_base_seconds, self.config.retry_max_seconds)
        if isinstance(error, PairRateExceeded):
            delay = max(delay, PAIR_RATE_INTERVAL_SECONDS)
        if isinstance(error, TransportError) and error.maybe_sent:
            delay = max(delay, MAYBE_SENT_RETRY_SECONDS)
        await self._reschedule(row, delay, error=error, attempts=attempt if count else None)

    async def _swap_to_fallback(self, row: OutboxItem, spec: str) -> dict[str, Any]:
        """The window closed while the message waited: send the configured template instead, and say so."""
        message = fallback_message(spec)
        body = messages.request_body(row.recipient, message, biz_opaque_callback_data=row.idempotency_key)
        async with self.db.transaction() as session:
            await session.execute(update(OutboxItem).where(OutboxItem.id == row.id).values(body=body))
            stored = await session.get_one(Message, row.message_id)
            stored.type, stored.payload = "template", {**message, "replaces": stored.payload}
        return body

    async def _number(self, account_id: int) -> _Number:
        cached = self._numbers.get(account_id)
        if cached and time.monotonic() - cached[0] < 10:
            return cached[1]
        async with self.db.read() as session:
            account = await session.get_one(Account, account_id)
        number = _Number(account.phone_number_id, account.throughput_per_second, account.access_token)
        self._numbers[account_id] = (time.monotonic(), number)
        return number

    async def _recipient_state(self, row: OutboxItem) -> tuple[bool, bool]:
        """Whether the recipient's service window is open, and whether they refuse this message (opted out,
        and it is not a reply to them)."""
        async with self.db.read() as session:
            message = await session.get_one(Message, row.message_id)
            conversation = await session.get(Conversation, message.conversation_id or 0)
            contact = await session.get(Contact, message.contact_id or 0)
        opted_out = contact is not None and contact.opted_out and message.reply_to_wamid is None
        return window_open(conversation), opted_out

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
        """Record the send (even if the lease ran out meanwhile: the message did leave)."""
        now = utcnow()
        async with self.db.transaction() as session:
            await lock_names(session, [wamid_lock(wamid)])  # against the inbox applying this wamid's statuses
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == row.id)
                .values(
                    state="sent",
                    wamid=wamid,
                    finished_at=now,
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
                apply_status(message, event.status, event.error_code, _error_title(event.raw))
            if message.conversation_id is not None:
                await session.execute(
                    update(Conversation)
                    .where(Conversation.id == message.conversation_id)
                    .values(last_outbound_at=now)
                )

    async def _reschedule(
        self, row: OutboxItem, delay: float, *, error: Exception | None = None, attempts: int | None = None
    ) -> None:
        values: dict[str, object] = {"due_at": utcnow() + timedelta(seconds=delay), "lease_until": None}
        if attempts is not None:
            values["attempts"] = attempts
        if error is not None:
            values["error_code"] = getattr(error, "code", None)
            values["error_message"] = str(error)
        async with self.db.transaction() as session:
            await self._update_owned(session, row, values)

    async def _fail(self, row: OutboxItem, error: GraphAPIError | TransportError) -> None:
        title = getattr(error, "title", str(error))
        values = {
            "state": "failed",
            "error_code": error.code,
            "error_message": str(error),
            "finished_at": utcnow(),
            "lease_until": None,
        }
        async with self.db.transaction() as session:
            await self._update_owned(session, row, values)
            message = await session.get_one(Message, row.message_id)
            message.state, message.error_code, message.error_title = "failed", error.code, title
        log.warning("outbox %s to %s failed for good: %s", row.id, row.recipient, error)

    async def _update_owned(self, session: AsyncSession, row: OutboxItem, values: dict[str, object]) -> None:
        """Update a row this worker still holds; LostLease when another worker has it now."""
        result = await session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.id == row.id, OutboxItem.lease_owner == self.owner, OutboxItem.state == "pending"
            )
            .values(**values)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise LostLease(row.id)

    async def _release(self, rows: list[OutboxItem]) -> None:
        if not rows:
            return
        with contextlib.suppress(Exception):
            async with self.db.transaction() as session:
                await session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_([row.id for row in rows]), OutboxItem.lease_owner == self.owner)
                    .values(lease_until=None)
                )


def _error_title(raw: dict[str, Any]) -> str | None:
    errors = raw.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        title = errors[0].get("title")
        return str(title) if title is not None else None
    return None


def _waiting_behind() -> ColumnElement[bool]:
    """The row waits for one that goes before it to the same recipient from the same number: a user gets a
    number's messages by priority, then in the order they were queued (a greeting before its menu),
    whichever process sends them."""
    ahead = aliased(OutboxItem)
    return exists().where(
        ahead.account_id == OutboxItem.account_id,
        ahead.recipient == OutboxItem.recipient,
        ahead.state == "pending",
        or_(
            ahead.priority > OutboxItem.priority,
            (ahead.priority == OutboxItem.priority) & (ahead.id < OutboxItem.id),
        ),
    )
