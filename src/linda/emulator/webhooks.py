"""The emulator's webhook emitter: signed POSTs to Linda, retried with back-off as Meta does.

Deliveries are grouped in lanes (one per business number). Each lane delivers one at a time, in order of due
time and then of scheduling, so events for one number keep their order unless a retry intervenes: a failed
delivery goes back into its lane with an exponential, jittered delay while later ones proceed.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from linda.emulator.state import RecordedWebhook
from linda.whatsapp import signature


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    lane: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    kind: str = field(compare=False)
    attempt: int = field(default=0, compare=False)


class WebhookEmitter:
    def __init__(
        self,
        *,
        app_secret: str,
        url: Callable[[], str | None],
        record: Callable[[RecordedWebhook], None],
        clock: Callable[[], float],
        retry_base: float,
        max_attempts: int,
        timeout: float = 10.0,
    ) -> None:
        self._secret = app_secret
        self._url = url
        self._record = record
        self._clock = clock
        self._retry_base = retry_base
        self._max_attempts = max(1, max_attempts)
        self._timeout = timeout
        self._seq = itertools.count()
        self._heaps: dict[str, list[_Delivery]] = {}
        self._wakes: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._http: httpx.AsyncClient | None = None

    @property
    def running(self) -> bool:
        return self._http is not None

    def schedule(self, lane: str, payload: dict[str, Any], kind: str, delay: float = 0.0) -> None:
        """Queue `payload` for delivery `delay` seconds from now."""
        due = asyncio.get_running_loop().time() + max(0.0, delay)
        heapq.heappush(self._heaps.setdefault(lane, []), _Delivery(due, next(self._seq), lane, payload, kind))
        self._pending += 1
        self._idle.clear()
        self._wake(lane)

    async def start(self) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout)
            for lane in self._heaps:
                self._wake(lane)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._heaps.clear()
        self._wakes.clear()
        self._pending = 0
        self._idle = asyncio.Event()  # a fresh event: the next start may run in another event loop
        self._idle.set()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Return once nothing is queued, in flight or waiting for a retry."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def _wake(self, lane: str) -> None:
        self._wakes.setdefault(lane, asyncio.Event()).set()
        if self._http is not None and lane not in self._tasks:
            self._tasks[lane] = asyncio.create_task(self._run_lane(lane), name=f"emulator-webhooks-{lane}")

    async def _run_lane(self, lane: str) -> None:
        loop = asyncio.get_running_loop()
        heap, wake = self._heaps.setdefault(lane, []), self._wakes[lane]
        while True:
            if not heap:
                wake.clear()
                await wake.wait()
                continue
            delay = heap[0].due - loop.time()
            if delay > 0:
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)
                continue
            delivery = heapq.heappop(heap)
            try:
                finished = await self._deliver(delivery)
            except Exception as exc:  # e.g. a payload that is not JSON: give it up, keep the lane alive
                self._note(delivery, f"{type(exc).__name__}: {exc}")
                finished = True
            if finished:
                self._done()
            else:
                delivery.due = loop.time() + self._backoff(delivery.attempt)
                heapq.heappush(heap, delivery)

    def _backoff(self, attempt: int) -> float:
        return float(self._retry_base * 2 ** (attempt - 1) * random.uniform(0.75, 1.25))

    def _done(self) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self._pending = 0
            self._idle.set()

    async def _deliver(self, delivery: _Delivery) -> bool:
        """One attempt; True when the delivery is finished (accepted, or given up)."""
        delivery.attempt += 1
        url = self._url()
        if url is None or self._http is None:
            self._note(delivery, "no webhook_url configured")
            return True
        raw = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", signature.HEADER: signature.sign(self._secret, raw)}
        answer: int | str
        try:
            response = await self._http.post(url, content=raw, headers=headers)
            answer = response.status_code
        except httpx.HTTPError as exc:
            answer = f"{type(exc).__name__}: {exc}"
        self._note(delivery, answer)
        return answer == 200 or delivery.attempt >= self._max_attempts

    def _note(self, delivery: _Delivery, answer: int | str) -> None:
        self._record(
            RecordedWebhook(self._clock(), delivery.payload, delivery.kind, delivery.attempt, answer)
        )
