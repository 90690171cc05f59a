"""Timing shared by Linda's background workers: idle waits that wake early, and retry back-off."""

from __future__ import annotations

import asyncio
import random


async def idle(stop: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    """Sleep up to `seconds`, returning early when `stop` or `wakeup` is set (and clearing `wakeup`)."""
    wakeup.clear()
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential back-off with equal jitter: between half and all of min(cap, base * 2^(attempt-1)).

    The jitter spreads retries of many rows that failed together; the floor keeps the back-off growing.
    """
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    return ceiling * random.uniform(0.5, 1.0)
