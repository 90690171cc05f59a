"""Rate limits as GCRA (the generic cell rate algorithm): one timestamp per key, one atomic step per decision.

`MemoryRates` keeps the timestamps in this process (embedded mode); `RedisRates` keeps them in Redis and
decides in one Lua script, so any number of processes together stay under the limit.

`SendLimiter` applies Meta's two limits to each send: the pair rate (one business number to one user) and the
throughput of the number. Linda stays a little under Meta's figures: sends cross the network with jitter, and
Meta's own accounting must never see Linda above the line.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from linda.whatsapp.limits import PAIR_RATE_BURST, PAIR_RATE_INTERVAL_SECONDS

PAIR_BURST = PAIR_RATE_BURST - 5
THROUGHPUT_SHARE = 0.95


@dataclass(frozen=True)
class Reservation:
    granted: bool
    wait: float  # granted: sleep this long, then go; refused: the earliest a retry can be granted


class RateStore(Protocol):
    async def reserve(self, key: str, interval: float, burst: int, max_wait: float) -> Reservation:
        """Reserve the next slot of `key` (one per `interval`, `burst` at once) unless it is over `max_wait`."""
        ...


def _gcra(
    tat: float | None, now: float, interval: float, burst: int, max_wait: float
) -> tuple[bool, float, float]:
    """(granted, wait, new theoretical arrival time)."""
    tat = max(tat if tat is not None else now, now)
    wait = max(0.0, tat - (burst - 1) * interval - now)
    if wait > max_wait:
        return False, wait, tat
    return True, wait, tat + interval


class MemoryRates:
    def __init__(self) -> None:
        self._tat: dict[str, float] = {}

    async def reserve(self, key: str, interval: float, burst: int, max_wait: float) -> Reservation:
        now = time.monotonic()
        granted, wait, self._tat[key] = _gcra(self._tat.get(key), now, interval, burst, max_wait)
        if len(self._tat) > 100_000:  # forget keys whose slots are all in the past
            self._tat = {k: t for k, t in self._tat.items() if t > now}
        return Reservation(granted, wait)


_GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
if wait > max_wait then return {0, wait} end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, wait}
"""
# Times in the script are integer microseconds (Redis's clock), exact in Lua's doubles and in replies.
_US = 1_000_000


class RedisRates:
    def __init__(self, redis: Redis, prefix: str = "linda:rate:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_GCRA_SCRIPT)

    async def reserve(self, key: str, interval: float, burst: int, max_wait: float) -> Reservation:
        limit = round(max_wait * _US) if math.isfinite(max_wait) else 10**15
        granted, wait = await self._script(
            keys=[self.prefix + key], args=[round(interval * _US), burst, limit]
        )
        return Reservation(bool(granted), int(wait) / _US)


class SendLimiter:
    def __init__(self, rates: RateStore) -> None:
        self.rates = rates

    async def pair_wait(self, phone_number_id: str, recipient: str) -> float:
        """Reserve a send to `recipient`; 0 when granted, else the seconds to wait before trying again."""
        reservation = await self.rates.reserve(
            f"pair:{phone_number_id}:{recipient}", PAIR_RATE_INTERVAL_SECONDS, PAIR_BURST, max_wait=0.0
        )
        return 0.0 if reservation.granted else reservation.wait

    async def throughput_slot(
        self, phone_number_id: str, per_second: int, max_wait: float = math.inf
    ) -> float | None:
        """Wait for the number's next send slot and return the seconds waited; None (nothing reserved) when
        the slot is more than `max_wait` away, so the caller can put the row back instead of holding it."""
        rate = max(0.01, per_second * THROUGHPUT_SHARE)
        reservation = await self.rates.reserve(
            f"number:{phone_number_id}", 1.0 / rate, max(1, int(rate) // 10), max_wait=max_wait
        )
        if not reservation.granted:
            return None
        if reservation.wait > 0:
            await asyncio.sleep(reservation.wait)
        return reservation.wait
