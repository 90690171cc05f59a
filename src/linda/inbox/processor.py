"""The inbox processor: claims stored webhook bodies and applies them.

Bodies are applied a few at a time in one transaction (each under its own savepoint, so a failing body fails
alone) and marked done in that same transaction: a crash at any point leaves them pending, their lease runs
out and they are processed again, and deduplication makes the second pass change nothing new. A body that
keeps failing becomes a dead letter with its error (`linda inbox replay` puts it back).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linda.inbox.apply import Applied, MessageHook, StatusHook, apply_change
from linda.monitoring.monitor import NullMonitor, PerformanceMonitor
from linda.pacing import backoff, idle
from linda.store.db import Database
from linda.store.leases import claim
from linda.store.models import Account, InboxItem
from linda.store.types import utcnow
from linda.whatsapp.webhook import WebhookPayloadError, parse_webhook

log = logging.getLogger(__name__)
MAX_RETRY_SECONDS = 300.0
TRANSACTION_SECONDS = 0.05  # one processing transaction takes rows this long at most
BUSY_PRESSURE = 8  # webhook bodies waiting for a commit that make the processor pause
PRESSURE_PAUSE_SECONDS = 0.05


class PermanentInboxError(Exception):
    """A body that no retry can fix as it is (not JSON, not a webhook); it goes straight to dead letters."""


class LostLease(Exception):
    """Another process holds the row now."""


class UnknownNumber(Exception):
    def __init__(self, phone_number_id: str | None) -> None:
        super().__init__(
            f"webhook for phone_number_id {phone_number_id!r}, which is not one of Linda's numbers; "
            "add it with `linda accounts add`, then `linda inbox replay`"
        )


class InboxProcessor:
    def __init__(
        self,
        db: Database,
        *,
        hooks: Sequence[MessageHook] = (),
        status_hooks: Sequence[StatusHook] = (),
        batch_size: int = 50,
        lease_seconds: float = 30.0,
        max_attempts: int = 5,
        poll_seconds: float = 0.2,
        retry_base_seconds: float = 1.0,
        on_processed: Callable[[], None] | None = None,
        webhook_pressure: Callable[[], int] | None = None,
        monitor: PerformanceMonitor | None = None,
    ) -> None:
        self.db = db
        self.monitor = monitor or NullMonitor()
        self.hooks = list(hooks)
        self.status_hooks = list(status_hooks)
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.retry_base_seconds = retry_base_seconds
        self.on_processed = on_processed  # e.g. wake the senders: hooks may have queued replies
        # webhooks waiting to be stored in this process (see InboxWriter.pressure): they come first
        self.webhook_pressure = webhook_pressure or (lambda: 0)
        self.owner = f"inbox-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.wakeup = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Process until `stop` is set; `wakeup` (set by the webhook endpoint) skips the poll wait."""
        while not stop.is_set():
            try:
                done = await self.run_once(stop)
            except Exception:  # the database may be briefly unreachable: log and try again
                log.exception("inbox round failed")
                done = 0
            if done == 0:
                await idle(stop, self.wakeup, self.poll_seconds)

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and process it in order of arrival; the number of rows claimed. When `stop` is set
        midway, the rest of the batch is released at once for other processes."""
        async with self.db.transaction() as session:
            rows = await claim(
                session, InboxItem, owner=self.owner, limit=self.batch_size, lease_seconds=self.lease_seconds
            )
        rows.sort(key=lambda r: r.id)
        left = rows
        while left:
            if stop is not None and stop.is_set():
                await self._release(left)
                break
            left = left[await self._process_some(left) :]
            # Webhooks queueing for their commit: this process is at its limit, and acknowledging them fast
            # matters more than applying them now (other processes' workers go on). Pressure is a level,
            # not an event, so poll it.
            while self.webhook_pressure() >= BUSY_PRESSURE and not (stop is not None and stop.is_set()):  # noqa: ASYNC110
                await asyncio.sleep(PRESSURE_PAUSE_SECONDS)
        return len(rows)

    async def drain(self) -> int:
        """Process until nothing is claimable (tests and tools)."""
        total = 0
        while count := await self.run_once():
            total += count
        return total

    async def _process_some(self, rows: list[InboxItem]) -> int:
        """Apply rows from the start of `rows` in one transaction, each under a savepoint so that a failing
        row fails alone; stop after a few milliseconds so that (on SQLite) webhook writes never wait long
        for the writer lock. Returns how many rows were handled."""
        started = time.monotonic()
        done: list[int] = []
        failed: list[tuple[InboxItem, Exception]] = []
        new_messages = 0
        try:
            async with self.db.transaction() as session:
                # loaded before any savepoint, so no savepoint rollback can expire them
                accounts = {a.phone_number_id: a for a in (await session.scalars(select(Account))).all()}
                for row in rows:
                    try:
                        with self.monitor.timer("inbox.apply"):
                            async with session.begin_nested():
                                applied = await self._apply(session, row.body, accounts)
                    except Exception as exc:
                        failed.append((row, exc))
                    else:
                        done.append(row.id)
                        self.monitor.observe("inbox.delay", (utcnow() - row.received_at).total_seconds())
                        if applied.messages:
                            self.monitor.increment("messages.in", applied.messages)
                        for status, count in applied.by_status.items():
                            self.monitor.increment("statuses", count, status=status)
                        new_messages += applied.messages
                        for reason in applied.unparsed:
                            log.warning("inbox %s: kept an item it could not parse: %s", row.id, reason)
                    if time.monotonic() - started > TRANSACTION_SECONDS or self.webhook_pressure():
                        # commit now: on SQLite, webhook writes wait for this transaction
                        break
                await self._mark_done(session, done)
        except LostLease:
            log.info("inbox: a lease passed to another process; the batch is left to it")
            return len(done) + len(failed)
        for row, error in failed:
            await self._failed(row, error)
        if new_messages and self.on_processed is not None:
            self.on_processed()
        return len(done) + len(failed)

    async def _mark_done(self, session: AsyncSession, ids: list[int]) -> None:
        if not ids:
            return
        marked = await session.execute(
            update(InboxItem)
            .where(InboxItem.id.in_(ids), InboxItem.lease_owner == self.owner, InboxItem.state == "pending")
            .values(state="done", processed_at=utcnow(), lease_owner=None, lease_until=None)
        )
        if marked.rowcount != len(ids):  # type: ignore[attr-defined]
            raise LostLease(ids)  # another process took a row: undo all, it applies them itself

    async def _apply(self, session: AsyncSession, body: bytes, accounts: dict[str, Account]) -> Applied:
        try:
            changes = parse_webhook(json.loads(body))
        except (ValueError, WebhookPayloadError) as exc:
            raise PermanentInboxError(f"not a WhatsApp webhook: {exc}") from exc
        total = Applied()
        for change in changes:
            if change.field != "messages" or not (change.messages or change.statuses):
                continue
            account = accounts.get(change.phone_number_id or "")
            if account is None:
                raise UnknownNumber(change.phone_number_id)
            applied = await apply_change(session, account, change, self.hooks, self.status_hooks)
            total.messages += applied.messages
            total.duplicate_messages += applied.duplicate_messages
            total.statuses += applied.statuses
            total.duplicate_statuses += applied.duplicate_statuses
            total.unparsed += applied.unparsed
            for status, count in applied.by_status.items():
                total.by_status[status] = total.by_status.get(status, 0) + count
        return total

    async def _release(self, rows: list[InboxItem]) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(InboxItem)
                .where(InboxItem.id.in_([row.id for row in rows]), InboxItem.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def _failed(self, row: InboxItem, exc: Exception) -> None:
        attempts = row.attempts + 1
        dead = isinstance(exc, PermanentInboxError) or attempts >= self.max_attempts
        log.warning("inbox %s failed (attempt %s%s): %s", row.id, attempts, ", dead" if dead else "", exc)
        retry_at = utcnow() + timedelta(seconds=backoff(attempts, self.retry_base_seconds, MAX_RETRY_SECONDS))
        async with self.db.transaction() as session:
            await session.execute(
                update(InboxItem)
                .where(
                    InboxItem.id == row.id, InboxItem.lease_owner == self.owner, InboxItem.state == "pending"
                )
                .values(
                    attempts=attempts,
                    last_error=f"{type(exc).__name__}: {exc}",
                    state="dead" if dead else "pending",
                    lease_owner=None,
                    lease_until=None if dead else retry_at,
                )
            )


async def replay(db: Database, ids: Sequence[int] = ()) -> int:
    """Put dead letters (all, or those in `ids`) back in the queue; the number replayed."""
    statement = update(InboxItem).where(InboxItem.state == "dead")
    if ids:
        statement = statement.where(InboxItem.id.in_(ids))
    async with db.transaction() as session:
        result = await session.execute(
            statement.values(state="pending", attempts=0, lease_owner=None, lease_until=None)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def counts(db: Database) -> dict[str, int]:
    """Rows per state: pending, done, dead."""
    async with db.read() as session:
        rows = await session.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))
    return {state: int(count) for state, count in rows.all()}


async def dead_letters(db: Database, limit: int = 100) -> list[InboxItem]:
    async with db.read() as session:
        rows = await session.scalars(
            select(InboxItem).where(InboxItem.state == "dead").order_by(InboxItem.id).limit(limit)
        )
    return list(rows.all())
