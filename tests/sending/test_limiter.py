"""The GCRA limiter, in process and shared through Redis: same decisions from both stores."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from linda.sending.limiter import PAIR_BURST, MemoryRates, RateStore, RedisRates, SendLimiter
from linda.whatsapp.limits import PAIR_RATE_BURST


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def rates(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[RateStore]:
    if request.param == "memory":
        yield MemoryRates()
        return
    redis = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisRates(redis, prefix=f"test:{unique}:")
    await redis.aclose()


async def test_burst_is_granted_at_once_then_slots_are_spaced(rates: RateStore) -> None:
    waits = [(await rates.reserve("k", 1.0, 3, max_wait=math.inf)).wait for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(1.0, abs=0.05)
    assert waits[4] == pytest.approx(2.0, abs=0.05)


async def test_refusal_says_when_and_consumes_nothing(rates: RateStore) -> None:
    assert (await rates.reserve("k", 10.0, 1, max_wait=0)).granted
    refused = await rates.reserve("k", 10.0, 1, max_wait=0)
    again = await rates.reserve("k", 10.0, 1, max_wait=0)
    assert not refused.granted and refused.wait == pytest.approx(10.0, abs=0.05)
    assert again.wait == pytest.approx(refused.wait, abs=0.05)  # the refusal reserved nothing


async def test_keys_are_independent(rates: RateStore) -> None:
    assert (await rates.reserve("a", 10.0, 1, max_wait=0)).granted
    assert (await rates.reserve("b", 10.0, 1, max_wait=0)).granted


async def test_pair_limit_allows_a_burst_below_metas_then_defers(rates: RateStore) -> None:
    limiter = SendLimiter(rates)
    waits = [await limiter.pair_wait("111", "971501234567") for _ in range(PAIR_BURST + 1)]
    assert PAIR_BURST < PAIR_RATE_BURST
    assert waits[:PAIR_BURST] == [0.0] * PAIR_BURST
    assert waits[-1] > 0
    assert await limiter.pair_wait("111", "971509999999") == 0.0  # another user is not affected


async def test_two_redis_clients_share_one_limit(redis_url: str, unique: str) -> None:
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        a, b = RedisRates(first, prefix=unique), RedisRates(second, prefix=unique)
        results = await asyncio.gather(
            *[(a if i % 2 else b).reserve("n", 5.0, 4, max_wait=0) for i in range(10)]
        )
    finally:
        await first.aclose()
        await second.aclose()
    assert sum(r.granted for r in results) == 4


async def test_throughput_slot_waits_for_its_turn() -> None:
    limiter = SendLimiter(MemoryRates())
    waited = [
        await limiter.throughput_slot("111", 20) for _ in range(4)
    ]  # 19/s after the safety share, burst 1
    assert waited[0] == 0.0 and all(w > 0 for w in waited[1:])
