"""Read receipts: mark inbound messages as read (the user sees blue ticks) once they are stored.

Best effort by design: a receipt is cosmetic, so it is sent from memory after the message is stored, through
the number's throughput limit, and a receipt lost in a crash or refused by Meta is only logged.
"""

from __future__ import annotations

import asyncio
import collections
import logging

from linda.inbox.apply import Received
from linda.monitoring.monitor import NullMonitor, PerformanceMonitor
from linda.pacing import idle
from linda.sending.limiter import SendLimiter
from linda.whatsapp.client import GraphClient
from linda.whatsapp.errors import WhatsAppError

log = logging.getLogger(__name__)


class ReadReceipts:
    def __init__(
        self,
        client: GraphClient,
        limiter: SendLimiter,
        *,
        max_pending: int = 10_000,
        monitor: PerformanceMonitor | None = None,
    ) -> None:
        self.monitor = monitor or NullMonitor()
        self.client = client
        self.limiter = limiter
        self.wakeup = asyncio.Event()
        self._pending: collections.deque[tuple[str, int, str | None, str]] = collections.deque(
            maxlen=max_pending
        )

    async def collect(self, received: Received) -> None:
        """A message hook: remember the message to mark it read after its transaction."""
        account = received.account
        self._pending.append(
            (
                account.phone_number_id,
                account.throughput_per_second,
                account.access_token,
                received.inbound.id,
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self._pending:
                await idle(stop, self.wakeup, 0.5)
                continue
            phone_number_id, per_second, token, wamid = self._pending.popleft()
            await self.limiter.throughput_slot(phone_number_id, per_second)
            try:
                with self.monitor.timer("graph.mark_read", account=phone_number_id):
                    await self.client.mark_as_read(phone_number_id, wamid, access_token=token)
            except WhatsAppError as exc:
                log.warning("could not mark %s as read: %s", wamid, exc)
