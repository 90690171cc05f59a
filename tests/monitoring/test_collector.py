"""MetricsCollector on SQLite and PostgreSQL: stored points, exact merges across processes and over time,
rollups, retention, and measurements of a running Linda."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from unittest.mock import ANY

import pytest
from sqlalchemy import func, select

from linda.monitoring.collector import MetricsCollector
from linda.monitoring.database import fingerprint
from linda.monitoring.history import ROLLED_UP, parse_retention
from linda.monitoring.monitor import PerformanceMonitor
from linda.monitoring.sketch import Sketch
from linda.store.db import Database
from linda.store.models import MetricPoint
from tests.stack import eventually, running_stack, text_webhook

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def process(db: Database, name: str, clock: Clock) -> MetricsCollector:
    collector = MetricsCollector(db, PerformanceMonitor(clock=clock))
    collector.process = name
    collector.monitor.flush()  # the first interval starts at the clock's time
    return collector


async def flush_at(collector: MetricsCollector, clock: Clock, seconds: float = 10) -> None:
    clock.now += seconds
    await collector.store_historical_data()


async def test_two_processes_merge_exactly(db: Database) -> None:
    clock = Clock(START)
    web, worker = process(db, "web:1", clock), process(db, "worker:2", clock)
    rng = random.Random(3)
    everything = Sketch()
    for collector in (web, worker):
        for _ in range(500):
            value = rng.lognormvariate(-3, 1)
            collector.monitor.observe("graph.send", value, account="A")
            everything.add(value)
        collector.monitor.increment("messages.out", 7, account="A")
    web.monitor.set_gauge("outbox.depth", 5)
    worker.monitor.set_gauge("outbox.depth", 9)
    await flush_at(web, clock, 0)
    await flush_at(worker, clock, 0)

    merged = await web.aggregate_metrics(
        since=START - timedelta(seconds=5), until=START + timedelta(seconds=10)
    )
    series = merged.series
    send = series[("graph.send", (("account", "A"),))]
    assert send.sketch is not None and send.sketch.to_dict()["k"] == everything.to_dict()["k"]
    assert [send.sketch.quantile(q) for q in (0.5, 0.99)] == [everything.quantile(q) for q in (0.5, 0.99)]
    assert series[("messages.out", (("account", "A"),))].value == 14
    assert series[("outbox.depth", ())].value == 9  # the highest level among the processes
    only_a = await web.aggregate_metrics(
        since=START, until=START + timedelta(seconds=10), labels={"account": "A"}
    )
    assert {name for name, _ in only_a.series} == {"graph.send", "messages.out"}
    prefix = await web.aggregate_metrics(since=START, until=START + timedelta(seconds=10), name="graph.")
    summary = prefix.summary()
    assert [row["name"] for row in summary["operations"]] == ["graph.send"]
    assert summary["operations"][0]["count"] == 1000


async def test_a_second_flush_into_the_same_slot_merges_with_the_first(db: Database) -> None:
    clock = Clock(START)
    collector = process(db, "web:1", clock)
    collector.monitor.increment("hits", 2)
    await flush_at(collector, clock, 3)  # an early flush: its slot is START
    collector.monitor.increment("hits", 5)
    collector.monitor.observe("lag", 0.5)
    await flush_at(collector, clock, 3)  # the same slot again
    async with db.read() as session:
        points = (await session.scalars(select(MetricPoint).where(MetricPoint.name == "hits"))).all()
    assert [(p.at, p.value) for p in points] == [(START, 7)]


async def test_rollups_give_the_same_quantiles_as_the_raw_points_and_retention_drops_old_ones(
    db: Database,
) -> None:
    clock = Clock(START)
    collector = process(db, "web:1", clock)
    rng = random.Random(5)
    for _ in range(18):  # three minutes of 10 s flushes
        for _ in range(50):
            collector.monitor.observe("webhook.ack", rng.lognormvariate(-5, 0.8))
        collector.monitor.increment("messages.in", 3)
        collector.monitor.set_gauge("outbox.depth", rng.randint(0, 100))
        await flush_at(collector, clock)
    end = START + timedelta(minutes=3)
    raw = await collector.aggregate_metrics(since=START, until=end)

    written, removed = await collector.maintain(now=end + timedelta(minutes=5))
    assert written > 0 and removed == 0
    async with db.read() as session:
        minutes = (
            await session.scalars(
                select(MetricPoint).where(MetricPoint.resolution == 60, MetricPoint.name == "webhook.ack")
            )
        ).all()
    assert [p.at for p in minutes] == [START + timedelta(minutes=m) for m in range(3)]
    assert all(p.process == ROLLED_UP and p.value == 300 for p in minutes)

    collector.levels = parse_retention("10s:24h,1m:14d,1h:365d")
    # a two-hour window is read from the minute points, and agrees with the raw ones
    rolled = await collector.aggregate_metrics(since=START, until=START + timedelta(hours=2, minutes=30))
    for name in ("webhook.ack",):
        a, b = raw.series[(name, ())].sketch, rolled.series[(name, ())].sketch
        assert a is not None and b is not None and a.to_dict()["c"] == b.to_dict()["c"]
    assert rolled.series[("messages.in", ())].value == raw.series[("messages.in", ())].value == 54
    assert rolled.series[("outbox.depth", ())].value >= raw.series[("outbox.depth", ())].value

    a_day_later = end + timedelta(hours=25)
    _, removed = await collector.maintain(now=a_day_later)
    async with db.read() as session:
        left = dict(
            (
                await session.execute(
                    select(MetricPoint.resolution, func.count()).group_by(MetricPoint.resolution)
                )
            ).all()
        )
    assert removed >= 18 * 3 and 10 not in left and left[60] > 0


async def test_timeseries_steps_through_a_window(db: Database) -> None:
    clock = Clock(START)
    collector = process(db, "web:1", clock)
    for step in range(6):
        for n in range(step + 1):  # two accounts: a step merges them
            collector.monitor.observe("graph.send", 0.1 * (step + 1), account="A" if n % 2 else "B")
        await flush_at(collector, clock)
    rows = await collector.timeseries("graph.send", since=START, until=START + timedelta(seconds=60), step=20)
    assert [row["count"] for row in rows] == [3, 7, 11]
    assert rows[2]["max"] == pytest.approx(0.6) and rows[0]["p50"] == pytest.approx(0.2, rel=0.01)


async def test_sample_reads_queue_levels_from_the_database(db: Database) -> None:
    collector = MetricsCollector(db, PerformanceMonitor())
    await collector.sample()
    gauges = {row["name"]: row["value"] for row in collector.monitor.get_metrics()["gauges"]}
    assert gauges["outbox.depth"] == 0 and gauges["inbox.dead"] == 0 and gauges["process.rss_bytes"] > 0


def test_statement_fingerprints_fold_literals_and_lists() -> None:
    assert fingerprint("SELECT * FROM t WHERE id IN (?, ?, ?) AND name = 'x''y' AND n > 42") == (
        "SELECT * FROM t WHERE id IN (…) AND name = ? AND n > ?"
    )
    assert (
        fingerprint("UPDATE outbox SET a=$1 WHERE id IN ($2, $3)") == "UPDATE outbox SET a=$? WHERE id IN (…)"
    )
    assert len(fingerprint("SELECT " + "x, " * 200)) == 120


@pytest.mark.parametrize("spec", ["10s", "10s:1d,7s:2d", "1m:1d,10s:2d", "10x:1d"])
def test_bad_retention_settings_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(ValueError, match=r"resolution|duration"):
        parse_retention(spec)


async def test_a_running_linda_stores_what_it_measures(database_url: str) -> None:
    async with running_stack(database_url, metrics_flush_seconds=0.2) as stack:
        for n in range(5):
            body = text_webhook(stack.settings.accounts[0], "971501234567", f"hi {n}", f"wamid.m{n}")
            await stack.emulator.post_webhook(body)
        await stack.inbox_settled()
        collector: MetricsCollector = stack.app.state.runtime.collector

        async def stored() -> bool:
            found = await collector.aggregate_metrics(since=datetime.now(UTC) - timedelta(minutes=1))
            names = {name for name, _ in found.series}
            every = {"webhook.ack", "webhook.bytes", "inbox.apply", "messages.in", "db.statement"} <= names
            return every and found.series[("messages.in", ())].value == 5

        await eventually(stored)
        found = await collector.aggregate_metrics(since=datetime.now(UTC) - timedelta(minutes=1))
        assert found.series[("webhook.ack", ())].value == 5


@pytest.mark.redis
async def test_through_redis_each_process_sees_the_others_live(
    db: Database, redis_url: str, unique: str
) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    web = MetricsCollector(db, PerformanceMonitor(), redis=redis, redis_prefix=f"test:{unique}:")
    worker = MetricsCollector(db, PerformanceMonitor(), redis=redis, redis_prefix=f"test:{unique}:")
    web.process, worker.process = "web:1", "worker:2"
    stop = asyncio.Event()
    listening = asyncio.create_task(web.listen(stop))
    events = web.subscribe()
    try:
        await asyncio.sleep(0.2)  # subscribed
        for _ in range(40):
            worker.monitor.observe("graph.send", 0.2, account="A")
        web.monitor.observe("graph.send", 0.1, account="A")
        await worker.store_historical_data()
        event = await events.next(timeout=5)
        assert event == {"event": "flush", "data": {"process": "worker:2", "at": ANY}}
        live = web.recent(60)
        sketch = live.sketches[("graph.send", (("account", "A"),))]
        assert sketch.count == 41 and sketch.quantile(0.99) == pytest.approx(0.2, rel=0.01)
    finally:
        stop.set()
        await listening
        await events.aclose()
        await redis.aclose()


async def test_the_collector_runs_the_default_alert_rules_and_publishes_changes(database_url: str) -> None:
    async with running_stack(database_url, metrics_flush_seconds=0.2) as stack:
        collector: MetricsCollector = stack.app.state.runtime.collector
        events = collector.subscribe()
        await stack.emulator.post_webhook({"object": "not_whatsapp", "entry": []})  # stored, then dead

        async def fired() -> bool:
            return any(a.rule == "inbox_dead_letters" for a in await collector.get_alerts("firing"))

        await eventually(fired)
        while (event := await events.next(timeout=5)) is not None and event["event"] != "alert":
            pass
        assert event is not None and event["data"]["rule"] == "inbox_dead_letters"
        assert event["data"]["state"] == "firing"
        await events.aclose()
