"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams (uvloop), run as a process of its own.

It sends pre-built, pre-signed webhook requests (`POST /webhooks/whatsapp`) and reads each answer's status line,
headers and Content-Length body. Two modes:

- closed: `connections` connections each send their next request as soon as the previous answer arrives, for
  `warmup` + `seconds`; answers completed in the last `seconds` count as accepted/s, requests started in them
  give the latency.
- open: `rate` requests per second for `seconds`, each at a fixed scheduled time, over `connections`
  connections; latency runs from the scheduled time (a request that waits for a free connection, or for a slow
  answer, is late by that much: no coordinated omission).

Protocol with the parent (`webhook_ingest.py`): a JSON spec as the only argument; this process loads its
requests and opens its connections, prints `ready`, waits for a line `go <t0>` on stdin (t0: the start, on
CLOCK_MONOTONIC, shared by every load process), runs, prints `done`, and writes its results as JSON to the
file `output`. Every run is bounded: by the request pool, by its duration and by `timeout` per answer.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop

PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
Row = dict[str, Any]


def build_requests(pool: Path, host: str, port: int, part: int, parts: int) -> list[bytes]:
    """Whole HTTP requests for this process's share (every `parts`-th) of the signed bodies in `pool`."""
    signed: list[tuple[bytes, str]] = pickle.loads(pool.read_bytes())[part::parts]
    start = f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
    return [
        f"{start}Content-Length: {len(body)}\r\n{SIGNATURE_HEADER}: {signature}\r\n\r\n".encode() + body
        for body, signature in signed
    ]


class Connection:
    """One keep-alive connection; reconnects after the server closes it or an error."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, request: bytes) -> str:
        """Send one request, read its whole answer; the status code, or the error's name."""
        try:
            async with asyncio.timeout(self.timeout):
                if self.writer is None:
                    await self.open()
                assert self.reader is not None and self.writer is not None
                self.writer.write(request)
                head = await self.reader.readuntil(b"\r\n\r\n")
                status, length, close = parse_head(head)
                if length:
                    await self.reader.readexactly(length)
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            return type(exc).__name__
        if close:
            self.close()
        return status


def parse_head(head: bytes) -> tuple[str, int, bool]:
    """Status code, Content-Length and whether the server closes the connection, from an answer's head."""
    lines = head.lower().split(b"\r\n")
    if not lines[0].startswith(b"http/1.1 "):
        raise ValueError(f"not an HTTP/1.1 answer: {lines[0]!r}")
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip() == b"close"
        elif name == b"transfer-encoding":
            raise ValueError("chunked answers are not expected here")
    return lines[0][9:12].decode(), length, close


@dataclass
class Tally:
    """What one run saw: answers by outcome, and latencies (seconds) with the time they refer to."""

    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (start or scheduled time, latency)
    accepted_in_window: int = 0
    unsent: int = 0
    pool_exhausted: bool = False

    def summary(self) -> Row:
        return {
            "answered_200": self.outcomes["200"],
            "errors": {outcome: n for outcome, n in self.outcomes.items() if outcome != "200"},
            "accepted_in_window": self.accepted_in_window,
            "unsent": self.unsent,
            "pool_exhausted": self.pool_exhausted,
            "latencies": self.latencies,
        }


async def closed_loop(requests: list[bytes], conns: list[Connection], t0: float, spec: Row) -> Tally:
    tally, pending = Tally(), iter(requests)
    measure_from, stop_at = t0 + spec["warmup"], t0 + spec["warmup"] + spec["seconds"]

    async def worker(conn: Connection) -> None:
        while (start := time.monotonic()) < stop_at:
            request = next(pending, None)
            if request is None:
                tally.pool_exhausted = True
                return
            outcome = await conn.exchange(request)
            end = time.monotonic()
            tally.outcomes[outcome] += 1
            if outcome == "200" and start >= measure_from:
                tally.latencies.append((start - t0, end - start))
            if outcome == "200" and measure_from <= end <= stop_at:
                tally.accepted_in_window += 1

    await sleep_until(t0)
    await asyncio.gather(*(worker(conn) for conn in conns))
    return tally


async def open_loop(requests: list[bytes], conns: list[Connection], t0: float, spec: Row) -> Tally:
    """Request i (of this process's share) is due at t0 + (part + i * parts) / rate."""
    tally, rate, parts, part = Tally(), spec["rate"], spec["parts"], spec["part"]
    share = len(range(part, int(rate * spec["seconds"]), parts))
    count = min(len(requests), share)
    tally.unsent = share - count  # a pool too small for the run: never sent, counted against it
    hard_stop = t0 + spec["seconds"] + spec["grace"]
    next_index = 0

    async def worker(conn: Connection) -> None:
        nonlocal next_index
        while next_index < count:
            index, next_index = next_index, next_index + 1
            due = t0 + (part + index * parts) / rate
            await sleep_until(due)
            start = time.monotonic()
            if start > hard_stop:
                tally.unsent += 1
                continue
            outcome = await conn.exchange(requests[index])
            end = time.monotonic()
            tally.outcomes[outcome] += 1
            if outcome == "200":
                tally.accepted_in_window += 1
                tally.latencies.append((due - t0, end - min(due, start)))  # the timer may fire ~1 ms early

    await asyncio.gather(*(worker(conn) for conn in conns))
    return tally


async def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def main(spec: Row) -> Row:
    requests = build_requests(Path(spec["pool"]), spec["host"], spec["port"], spec["part"], spec["parts"])
    conns = [Connection(spec["host"], spec["port"], spec["timeout"]) for _ in range(spec["connections"])]
    await asyncio.gather(*(conn.open() for conn in conns))
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    t0, began, cpu = float(line.split()[1]), time.monotonic(), time.process_time()
    run = closed_loop if spec["mode"] == "closed" else open_loop
    tally = await run(requests, conns, t0, spec)
    end = time.monotonic()
    cpu = time.process_time() - cpu
    print("done", flush=True)
    for conn in conns:
        conn.close()
    return {
        **tally.summary(),
        "ended": end,
        "cpu_seconds": cpu,
        "cpu_share": cpu / (end - began),  # of one core, over the run
        "requests_available": len(requests),
    }


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    result = uvloop.run(main(spec))
    Path(spec["output"]).write_text(json.dumps(result))  # a file: large, and a pipe may not take it whole
