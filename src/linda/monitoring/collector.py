"""MetricsCollector: every process's measurements, stored, merged across processes and over time.

Each process runs one. Every `metrics_flush_seconds` (10 s) it samples the queues and its memory, closes its
PerformanceMonitor's interval and stores it (and publishes it through Redis when configured, so live views
see every process), rolls history up and enforces retention, and evaluates the alert rules. Reads merge the
stored points of all processes exactly: counters add, sketches merge.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func, select

from linda.monitoring.alert_state import AlertChange
from linda.monitoring.alerts import AlertEvaluator, AlertInfo, get_alerts
from linda.monitoring.history import (
    Accumulator,
    ceil_to,
    enforce_retention,
    floor_to,
    matching,
    parse_retention,
    point_rows,
    read_points,
    roll_up,
    rolled_up_until,
    write_interval,
)
from linda.monitoring.live import LiveFeed, Subscription
from linda.monitoring.monitor import Interval, Key, PerformanceMonitor, summarize
from linda.monitoring.report import Report, build_report
from linda.monitoring.sketch import Sketch
from linda.store.db import Database
from linda.store.models import InboxItem, MetricPoint, OutboxItem
from linda.store.types import utcnow

log = logging.getLogger(__name__)
PEER_INTERVALS = 60  # per other process: ten minutes of 10 s intervals


@dataclass(frozen=True)
class SeriesStats:
    kind: str  # sketch | counter | gauge
    value: float  # a counter's sum, a gauge's level, a sketch's count
    failures: int
    sketch: Sketch | None


@dataclass
class Aggregated:
    """Stored measurements of every process over a window, merged."""

    interval: Interval
    since: datetime
    until: datetime

    @property
    def seconds(self) -> float:
        return max((self.until - self.since).total_seconds(), 1e-9)

    @property
    def series(self) -> dict[Key, SeriesStats]:
        out: dict[Key, SeriesStats] = {}
        i = self.interval
        for key, sketch in i.sketches.items():
            out[key] = SeriesStats("sketch", sketch.count, i.failures.get(key, 0), sketch)
        for key, value in i.counters.items():
            out[key] = SeriesStats("counter", value, i.failures.get(key, 0), None)
        for key, value in i.gauges.items():
            out[key] = SeriesStats("gauge", value, 0, None)
        return out

    def summary(self, prefix: str | None = None) -> dict[str, Any]:
        """The same shape as `PerformanceMonitor.get_metrics()`, across processes."""
        return summarize(self.interval, self.seconds, prefix)


def process_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class MetricsCollector:
    def __init__(
        self,
        db: Database,
        monitor: PerformanceMonitor,
        *,
        flush_seconds: float = 10.0,
        retention: str = "10s:24h,1m:14d,1h:365d",
        redis: Redis | None = None,
        redis_prefix: str = "linda:",
        alerts: AlertEvaluator | None = None,
    ) -> None:
        self.db = db
        self.alerts = alerts
        self.monitor = monitor
        self.flush_seconds = flush_seconds
        self.levels = parse_retention(retention)
        self.resolution = self.levels[0][0]
        self.process = process_name()
        self.live = LiveFeed()
        self.redis = redis
        self.channel = redis_prefix + "metrics"
        self.peers: dict[str, deque[Interval]] = {}  # other processes' recent intervals, heard through Redis

    def publish(self, event: dict[str, Any]) -> None:
        """Tell this process's live listeners (the dashboard stream) about `event`."""
        self.live.publish(event)

    def subscribe(self) -> Subscription:
        """Live events of this process, as an async iterator: `flush` (an interval was stored, here or, with
        Redis, in another process), `alert` (an alert changed state)."""
        return self.live.subscribe()

    def now(self) -> datetime:
        """Now on the monitor's clock, the one this process's measurements are stamped with: the default end
        of what is read, and the time history is kept against."""
        return datetime.fromtimestamp(self.monitor.clock(), UTC)

    # --- storing ------------------------------------------------------------------------------------------

    async def sample(self) -> None:
        """Levels only the database knows: queue depths, the oldest due send, dead letters; and memory."""
        now = utcnow()
        async with self.db.read() as session:
            depth, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxItem.due_at)).where(
                        OutboxItem.state == "pending", OutboxItem.due_at <= now
                    )
                )
            ).one()
            inbox = dict(
                (await session.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))).all()
            )
        self.monitor.set_gauge("outbox.depth", depth)
        self.monitor.set_gauge("outbox.oldest_due_seconds", (now - oldest).total_seconds() if oldest else 0.0)
        self.monitor.set_gauge("inbox.backlog", inbox.get("pending", 0))
        self.monitor.set_gauge("inbox.dead", inbox.get("dead", 0))
        self.monitor.record_memory_usage()

    async def store_historical_data(self) -> int:
        """Close this process's current interval and store it; the number of points written."""
        interval = self.monitor.flush()
        at = datetime.fromtimestamp(round(interval.started / self.resolution) * self.resolution, UTC)
        async with self.db.transaction() as session:
            written = await write_interval(session, interval, self.process, at, self.resolution)
        self.publish({"event": "flush", "data": {"process": self.process, "at": at.isoformat()}})
        if self.redis is not None:
            rows = point_rows(interval, self.process, at, self.resolution)
            message = {"process": self.process, "at": at.isoformat(), "points": rows}
            with contextlib.suppress(Exception):  # live views miss one interval; history has it
                await self.redis.publish(self.channel, json.dumps(message, default=str))
        return written

    async def listen(self, stop: asyncio.Event) -> None:
        """Keep the intervals other processes publish through Redis, for `recent()` (live, cross-process)."""
        assert self.redis is not None
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            while not stop.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                if message is not None:
                    self._heard(json.loads(message["data"]))

    def _heard(self, message: dict[str, Any]) -> None:
        if message["process"] == self.process:
            return
        acc = Accumulator()
        for row in message["points"]:
            acc.add(MetricPoint(**{**row, "at": datetime.fromisoformat(row["at"])}))
        interval = acc.result()
        interval.started = datetime.fromisoformat(message["at"]).timestamp()
        interval.ended = interval.started + self.resolution
        self.peers.setdefault(message["process"], deque(maxlen=PEER_INTERVALS)).append(interval)
        self.publish({"event": "flush", "data": {"process": message["process"], "at": message["at"]}})

    def recent(self, seconds: float) -> Interval:
        """The last `seconds` of this process (live, including what is not stored yet) and of the other
        processes heard through Redis, merged."""
        merged = self.monitor.window(seconds)
        since = time.time() - seconds
        for intervals in self.peers.values():
            for interval in intervals:
                if (interval.ended or 0) > since:
                    merged.merge(interval)
        return merged

    async def maintain(self, now: datetime | None = None) -> tuple[int, int]:
        """Roll history up and drop what is past retention: (points written, points removed)."""
        now = now or self.now()
        async with self.db.transaction() as session:
            written = await roll_up(session, self.levels, now, settle_seconds=3 * self.flush_seconds)
            removed = await enforce_retention(session, self.levels, now)
        return written, removed

    # --- reading ------------------------------------------------------------------------------------------

    async def aggregate_metrics(
        self,
        *,
        since: datetime,
        until: datetime | None = None,
        name: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> Aggregated:
        """Every process's stored measurements between `since` and `until` (default now), merged. `name`
        picks one series name, or every name starting with it when it ends with "."; `labels` keeps series
        whose labels include these."""
        until = until or self.now()
        acc = Accumulator()
        async with self.db.read() as session:
            await self._gather(session, acc, since, until, self._start_level(since, until), name, labels)
        return Aggregated(acc.result(), since, until)

    def _start_level(self, since: datetime, until: datetime) -> int:
        """The coarsest level worth using for this window (whole periods of it fit many times)."""
        span = (until - since).total_seconds()
        level = 0
        for index, (resolution, _) in enumerate(self.levels):
            if span >= 48 * resolution:
                level = index
        return level

    async def _gather(
        self,
        session: Any,
        acc: Accumulator,
        since: datetime,
        until: datetime,
        level: int,
        name: str | None,
        labels: dict[str, str] | None,
    ) -> None:
        if since >= until:
            return
        resolution = self.levels[level][0]
        if level == 0:
            for point in matching(await read_points(session, resolution, since, until, name), labels):
                acc.add(point)
            return
        bulk_start = ceil_to(since, resolution)
        bulk_end = min(floor_to(until, resolution), await rolled_up_until(session, resolution) or bulk_start)
        if bulk_end <= bulk_start:
            await self._gather(session, acc, since, until, level - 1, name, labels)
            return
        for point in matching(await read_points(session, resolution, bulk_start, bulk_end, name), labels):
            acc.add(point)
        await self._gather(session, acc, since, bulk_start, level - 1, name, labels)
        await self._gather(session, acc, bulk_end, until, level - 1, name, labels)

    async def timeseries(
        self,
        name: str,
        *,
        since: datetime,
        until: datetime | None = None,
        step: float,
        labels: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """`name` in steps of `step` seconds: per step its count, rate, failures, level and quantiles."""
        until = until or self.now()
        resolution = self._resolution_for(since, step)
        async with self.db.read() as session:
            points = list(matching(await read_points(session, resolution, since, until, name), labels))
        buckets = max(1, math.ceil((until - since).total_seconds() / step))
        accs = [Accumulator() for _ in range(buckets)]
        for point in points:
            index = min(buckets - 1, int((point.at - since).total_seconds() // step))
            accs[index].add(point)
        rows = []
        for index, acc in enumerate(accs):
            interval = acc.result()
            sketch: Sketch | None = None
            for part in interval.sketches.values():  # every label set of the name, merged
                if sketch is None:
                    sketch = part.copy()
                else:
                    sketch.merge(part)
            count = sketch.count if sketch else sum(interval.counters.values())
            rows.append(
                {
                    "t": (since + timedelta(seconds=index * step)).isoformat(),
                    "count": count,
                    "rate": count / step,
                    "failures": sum(interval.failures.values()),
                    "value": max(interval.gauges.values(), default=None),
                    "p50": sketch.quantile(0.5) if sketch else None,
                    "p95": sketch.quantile(0.95) if sketch else None,
                    "p99": sketch.quantile(0.99) if sketch else None,
                    "max": sketch.max if sketch and sketch.count else None,
                }
            )
        return rows

    def _resolution_for(self, since: datetime, step: float) -> int:
        """The finest stored resolution that still covers `since` and is no finer than a tenth of a step."""
        age = (self.now() - since).total_seconds()
        chosen = self.levels[-1][0]
        for resolution, keep in reversed(self.levels):
            if keep >= age and resolution <= max(step / 10, self.levels[0][0]):
                chosen = resolution
                break
        return chosen

    async def check_thresholds(self, now: datetime | None = None) -> list[AlertChange]:
        """Evaluate the alert rules against the stored history; the alerts that changed state (each also
        published live as an `alert` event, logged and notified)."""
        if self.alerts is None:
            return []
        changes = await self.alerts.evaluate(self, now)
        for change in changes:
            self.publish({"event": "alert", "data": change.to_dict()})
        return changes

    async def get_alerts(self, state: str | None = None) -> list[AlertInfo]:
        """Current alerts (pending, firing, resolved), or those in `state`."""
        return await get_alerts(self.db, state)

    async def generate_report(self, since: datetime, until: datetime | None = None) -> Report:
        """Per operation its count, rate, error rate, quantiles and trend against the period before; the
        top error codes; charts (see report.py)."""
        return await build_report(self, since, until or self.now())

    # --- running ----------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Flush on wall-clock boundaries of `flush_seconds` until `stop`, and once more on the way out."""
        while not stop.is_set():
            delay = self.flush_seconds - (time.time() % self.flush_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            try:
                await self.cycle()
            except Exception:  # the database may be briefly unreachable: measure on, store next time
                log.exception("metrics cycle failed")

    async def cycle(self) -> None:
        await self.sample()
        await self.store_historical_data()
        await self.maintain()
        await self.check_thresholds()
