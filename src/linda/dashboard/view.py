"""Metrics as the dashboard sees them: every process's stored history, with this process's newest measurements.

Each process stores what it measured every `LINDA_METRICS_FLUSH_SECONDS` (MetricsCollector). A view of a
window merges those stored points (all processes) with the intervals of this process that are not stored yet
(its current one, and any closed but not yet written), so what this process just measured shows at once and
nothing counts twice. Other processes show as of their last flush.

The database part (`Stored`) is read when asked; the live part is merged from memory, so a stream can tick
several times a second and read the database only when a flush stored something new.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from linda.monitoring.collector import MetricsCollector
from linda.monitoring.monitor import Interval, PerformanceMonitor, summarize
from linda.store.models import MetricPoint
from linda.store.types import utcnow


@dataclass
class Stored:
    """Every process's stored measurements since `since`, and which of this process's intervals they hold."""

    interval: Interval
    since: datetime
    own_until: float  # the aligned start (epoch seconds) of this process's newest stored interval
    fetched: float = field(default_factory=time.monotonic)

    @classmethod
    def empty(cls, since: datetime) -> Stored:
        return cls(Interval(since.timestamp()), since, float("-inf"))


@dataclass(frozen=True)
class Live:
    """This process's measurements that `Stored` does not hold yet, merged."""

    interval: Interval
    started: float

    def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever anything is measured (cheap to compare, tick after tick)."""
        i = self.interval
        return (
            self.started,
            sum(s.count for s in i.sketches.values()),
            sum(i.failures.values()),
            sum(i.counters.values()),
            tuple(sorted(i.gauges.items())),
        )


class MetricsView:
    def __init__(self, monitor: PerformanceMonitor, collector: MetricsCollector | None) -> None:
        self.monitor = monitor
        self.collector = collector

    async def stored(self, window: float) -> Stored:
        """Read the stored history of the last `window` seconds (all processes)."""
        since = utcnow() - timedelta(seconds=window)
        if self.collector is None:
            return Stored.empty(since)
        own_until = await self._own_stored_until(since)  # first: a flush in between then counts twice at
        # worst, never goes missing. A point's time is its interval's start rounded to the resolution, so an
        # interval closed early (not on the wall clock's boundary) may be stored a little in the future.
        until = utcnow() + timedelta(seconds=self.collector.resolution)
        aggregated = await self.collector.aggregate_metrics(since=since, until=until)
        return Stored(aggregated.interval, since, own_until)

    async def _own_stored_until(self, since: datetime) -> float:
        assert self.collector is not None
        collector = self.collector
        async with collector.db.read() as session:
            newest = await session.scalar(
                select(func.max(MetricPoint.at)).where(
                    MetricPoint.resolution == collector.resolution,
                    MetricPoint.at >= since - timedelta(seconds=collector.resolution),
                    MetricPoint.process == collector.process,
                )
            )
        return float("-inf") if newest is None else newest.timestamp()

    def live(self, stored: Stored) -> Live:
        """This process's intervals newer than what `stored` holds, with the current one, merged."""
        resolution = self.collector.resolution if self.collector is not None else 10
        merged = self.monitor.window(0)  # a locked copy of the current interval
        started = merged.started
        since = stored.since.timestamp()
        for interval in list(self.monitor.history):
            stored_at = round(interval.started / resolution) * resolution  # where the collector stores it
            if stored_at > stored.own_until and (interval.ended or 0) > since:
                merged.merge(interval)
                started = min(started, interval.started)
        return Live(merged, started)

    def merged(self, stored: Stored, live: Live, window: float) -> tuple[Interval, float]:
        """Stored and live merged, and the seconds they span (at most `window`)."""
        merged = Interval(stored.interval.started)
        merged.merge(stored.interval)
        merged.merge(live.interval)  # a gauge: this process's newest level wins
        begun = min(live.started, stored.interval.started) if stored.interval.series else live.started
        seconds = min(window, max(time.time() - max(begun, stored.since.timestamp()), 1.0))
        return merged, seconds

    async def metrics(self, window: float, operation: str | None = None) -> dict[str, Any]:
        """Every process's metrics over the last `window` seconds, in `PerformanceMonitor.get_metrics()`'s
        shape (operations starting with `operation`)."""
        stored = await self.stored(window)
        return summarize(*self.merged(stored, self.live(stored), window), operation)
