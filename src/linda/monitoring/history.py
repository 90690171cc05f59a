"""Metric history in the database: each process's 10 s points, rollups merged across processes, retention.

A point is one series over one interval. Rollups merge finer points into coarser ones (10 s -> 1 min -> 1 h by
default) by adding counters and merging sketches, so a p99 over a month is as exact as over a minute (within
the sketch's 1%), never an average of percentiles. Reads pick the coarsest points that cover a window and
fill its edges from finer ones.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linda.monitoring.monitor import Interval, Key, Labels
from linda.monitoring.sketch import Sketch
from linda.store.locks import lock_names
from linda.store.models import MetricPoint

ROLLED_UP = "*"  # the process of a rollup point: every process, merged
_SPAN = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_span(text: str) -> int:
    match = _SPAN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 10s, 1m, 24h or 14d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_retention(spec: str) -> list[tuple[int, int]]:
    """ "10s:24h,1m:14d,1h:365d" -> [(10, 86400), (60, 1209600), (3600, 31536000)], finest first; each
    resolution must divide the next (so rollups add whole intervals)."""
    levels = []
    for part in spec.split(","):
        resolution, sep, keep = part.partition(":")
        if not sep:
            raise ValueError(f"{part.strip()!r} is not resolution:retention, e.g. 1m:14d")
        levels.append((parse_span(resolution), parse_span(keep)))
    for (fine, _), (coarse, _) in pairwise(levels):
        if coarse <= fine or coarse % fine:
            raise ValueError(f"resolution {coarse}s is not a multiple of the finer {fine}s")
    return levels


def labels_text(labels: Labels) -> str:
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def labels_key(text: str) -> Labels:
    return tuple(sorted(json.loads(text).items()))


def floor_to(at: datetime, seconds: int) -> datetime:
    stamp = math.floor(at.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(stamp, UTC)


def ceil_to(at: datetime, seconds: int) -> datetime:
    stamp = math.ceil(at.timestamp() / seconds) * seconds
    return datetime.fromtimestamp(stamp, UTC)


@dataclass
class Accumulator:
    """Points merged into one Interval; gauges keep each process's latest level, and report the highest."""

    interval: Interval = field(default_factory=lambda: Interval(math.inf))
    latest: dict[Key, dict[str, tuple[datetime, float]]] = field(default_factory=dict)
    peaks: dict[Key, float] = field(default_factory=dict)  # a gauge's highest level

    def add(self, point: MetricPoint) -> None:
        if not point.name:  # the marker of an empty rolled-up period
            return
        key = (point.name, labels_key(point.labels))
        target = self.interval
        target.started = min(target.started, point.at.timestamp())
        if point.kind == "sketch" and point.sketch is not None:
            sketch = Sketch.from_dict(point.sketch)
            mine = target.sketches.get(key)
            if mine is None:
                target.sketches[key] = sketch
            else:
                mine.merge(sketch)
        elif point.kind == "counter":
            target.counters[key] = target.counters.get(key, 0) + point.value
        elif point.kind == "gauge":
            per_process = self.latest.setdefault(key, {})
            seen = per_process.get(point.process)
            if seen is None or point.at >= seen[0]:
                per_process[point.process] = (point.at, point.value)
            self.peaks[key] = max(self.peaks.get(key, point.value), point.value)
        if point.failures:
            target.failures[key] = target.failures.get(key, 0) + point.failures

    def result(self) -> Interval:
        """The merged interval; a gauge is the highest latest level among the processes still reporting."""
        for key, per_process in self.latest.items():
            newest = max(at for at, _ in per_process.values())
            current = [value for at, value in per_process.values() if newest - at <= timedelta(minutes=1)]
            self.interval.gauges[key] = max(current)
        if self.interval.started == math.inf:
            self.interval.started = 0.0
        return self.interval


def point_rows(interval: Interval, process: str, at: datetime, resolution: int) -> list[dict[str, Any]]:
    rows = []
    for (name, labels), sketch in interval.sketches.items():
        failures = interval.failures.get((name, labels), 0)
        rows.append(
            _row(resolution, at, process, name, labels, "sketch", sketch.count, failures, sketch.to_dict())
        )
    for (name, labels), value in interval.counters.items():
        failures = interval.failures.get((name, labels), 0)
        rows.append(_row(resolution, at, process, name, labels, "counter", value, failures, None))
    for (name, labels), value in interval.gauges.items():
        rows.append(_row(resolution, at, process, name, labels, "gauge", value, 0, None))
    return rows


def _row(
    resolution: int,
    at: datetime,
    process: str,
    name: str,
    labels: Labels,
    kind: str,
    value: float,
    failures: int,
    sketch: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "resolution": resolution,
        "at": at,
        "process": process,
        "name": name,
        "labels": labels_text(labels),
        "kind": kind,
        "value": float(value),
        "failures": failures,
        "sketch": sketch,
    }


async def write_interval(
    session: AsyncSession, interval: Interval, process: str, at: datetime, resolution: int
) -> int:
    """Store a process's interval as points at `at`; a point already there (a flush that came early) is
    merged with, never duplicated."""
    rows = point_rows(interval, process, at, resolution)
    if not rows:
        return 0
    existing = (
        await session.scalars(
            select(MetricPoint).where(
                MetricPoint.resolution == resolution, MetricPoint.at == at, MetricPoint.process == process
            )
        )
    ).all()
    if existing:
        acc = Accumulator()
        for point in existing:
            acc.add(point)
        merged = acc.result()
        merged.merge(interval)  # counters add, sketches merge, the newer gauges win
        await session.execute(delete(MetricPoint).where(MetricPoint.id.in_([p.id for p in existing])))
        rows = point_rows(merged, process, at, resolution)
    session.add_all(MetricPoint(**row) for row in rows)
    await session.flush()
    return len(rows)


async def read_points(
    session: AsyncSession,
    resolution: int,
    since: datetime,
    until: datetime,
    name: str | None = None,
    processes: Sequence[str] | None = None,
) -> list[MetricPoint]:
    query = select(MetricPoint).where(
        MetricPoint.resolution == resolution, MetricPoint.at >= since, MetricPoint.at < until
    )
    if name is not None:
        query = query.where(
            MetricPoint.name.startswith(name, autoescape=True)
            if name.endswith(".")
            else MetricPoint.name == name
        )
    if processes is not None:
        query = query.where(MetricPoint.process.in_(processes))
    return list((await session.scalars(query.order_by(MetricPoint.at))).all())


def matching(points: Iterable[MetricPoint], labels: dict[str, str] | None) -> Iterable[MetricPoint]:
    if not labels:
        return points
    wanted = {(k, str(v)) for k, v in labels.items()}
    return (p for p in points if wanted <= set(labels_key(p.labels)))


async def rolled_up_until(session: AsyncSession, resolution: int) -> datetime | None:
    """The end of the last period rolled up at `resolution`."""
    last = await session.scalar(
        select(func.max(MetricPoint.at)).where(
            MetricPoint.resolution == resolution, MetricPoint.process == ROLLED_UP
        )
    )
    return None if last is None else last + timedelta(seconds=resolution)


async def roll_up(
    session: AsyncSession,
    levels: list[tuple[int, int]],
    now: datetime,
    settle_seconds: float,
    limit: int = 120,
) -> int:
    """Merge finer points into each coarser level for every complete period not rolled up yet (at most
    `limit` periods per level per call). A period is complete once `settle_seconds` (late flushes) passed."""
    await lock_names(session, ["metrics:rollup"])  # one process rolls up at a time (PostgreSQL)
    written = 0
    for (fine, _), (coarse, _) in pairwise(levels):
        start = await rolled_up_until(session, coarse)
        if start is None:
            first = await session.scalar(
                select(func.min(MetricPoint.at)).where(MetricPoint.resolution == fine)
            )
            if first is None:
                continue
            start = floor_to(first, coarse)
        end = floor_to(now - timedelta(seconds=settle_seconds), coarse)
        periods = 0
        while start < end and periods < limit:
            stop = start + timedelta(seconds=coarse)
            acc = Accumulator()
            for point in await read_points(session, fine, start, stop):
                acc.add(point)
            merged = acc.result()
            merged.gauges = acc.peaks  # a rollup keeps a gauge's highest level in the period
            rows = point_rows(merged, ROLLED_UP, start, coarse)
            if not rows:  # an empty period still marks progress
                rows = [_row(coarse, start, ROLLED_UP, "", (), "counter", 0, 0, None)]
            session.add_all(MetricPoint(**row) for row in rows)
            written += len(rows)
            start, periods = stop, periods + 1
        await session.flush()
    return written


async def enforce_retention(session: AsyncSession, levels: list[tuple[int, int]], now: datetime) -> int:
    removed = 0
    for resolution, keep in levels:
        result = await session.execute(
            delete(MetricPoint).where(
                MetricPoint.resolution == resolution, MetricPoint.at < now - timedelta(seconds=keep)
            )
        )
        removed += int(result.rowcount)  # type: ignore[attr-defined]
    return removed
