"""Group commit for webhook bodies: concurrent requests share one INSERT and one commit.

Each request still answers Meta only after the commit that holds its body (nothing acknowledged is ever
lost), but a burst of webhooks costs one transaction instead of one each: the difference between a few
hundred and a few thousand acknowledgements per second, most of all where a commit waits for the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from linda.store.db import Database
from linda.store.types import utcnow

log = logging.getLogger(__name__)

# The hottest write in Linda, in each driver's own SQL: executemany straight to the driver, no per-row work
# in SQLAlchemy. Times are naive UTC, as UTCDateTime stores them (SQLite: in SQLAlchemy's text format).
_INSERT = {
    "sqlite": "INSERT INTO inbox (body, state, attempts, received_at) VALUES (?, 'pending', 0, ?)",
    "postgresql": "INSERT INTO inbox (body, state, attempts, received_at) VALUES ($1, 'pending', 0, $2)",
}
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


class InboxWriter:
    def __init__(self, db: Database, *, max_batch: int = 500) -> None:
        self.db = db
        self.max_batch = max_batch
        self._waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_batch = 0  # bodies in the last commit: how hard webhooks are arriving

    def pressure(self) -> int:
        """Webhook bodies waiting for, or in, a commit. A few means webhooks are arriving (the processor
        beside this writer should let them through first); many means this process is near its limit (at
        low rates a commit holds one or two bodies)."""
        return self._last_batch + len(self._waiting)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        """Write what is waiting, then stop."""
        if self._task is None:
            return
        await self._flush()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def write(self, body: bytes) -> None:
        """Return once `body` is committed to the inbox (raise if that transaction failed)."""
        if self._task is None:
            raise RuntimeError("the inbox writer is not running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((body, done))
        self._wake.set()
        await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()
            self._last_batch = 0

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            self._last_batch = len(batch)
            try:
                now = utcnow().replace(tzinfo=None)
                received: datetime | str = now.strftime(_SQLITE_TIME) if self.db.is_sqlite else now
                async with self.db.core_transaction() as connection:
                    await connection.exec_driver_sql(
                        _INSERT[self.db.dialect], [(body, received) for body, _ in batch]
                    )
            except Exception as exc:
                log.exception("could not store %s webhook bodies; their requests get 500", len(batch))
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
