"""PerformanceMonitor: timers in every form, counters, gauges, error rates, memory, bounded series."""

from __future__ import annotations

import asyncio
import threading
import time
import tracemalloc

import pytest

from linda.monitoring.monitor import ERRORS, NullMonitor, PerformanceMonitor, watch_event_loop


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def operation(metrics: dict[str, object], name: str) -> dict[str, object]:
    rows = [row for row in metrics["operations"] if row["name"] == name]  # type: ignore[attr-defined]
    assert len(rows) == 1, rows
    return rows[0]  # type: ignore[no-any-return]


async def test_context_manager_decorators_and_start_end_all_time_their_work() -> None:
    monitor = PerformanceMonitor()

    @monitor.timed("sync.op")
    def work(x: int) -> int:
        return x * 2

    @monitor.timed("async.op")
    async def slow(x: int) -> int:
        await asyncio.sleep(0.02)
        return x + 1

    with monitor.timer("block", account="A") as timer:
        await asyncio.sleep(0.01)
    assert timer.elapsed >= 0.01
    assert work(2) == 4 and await slow(1) == 2
    token = monitor.start_timer("split", account="A")
    await asyncio.sleep(0.01)
    assert monitor.end_timer(token, result="sent") >= 0.01

    metrics = monitor.get_metrics()
    assert operation(metrics, "block")["labels"] == {"account": "A"}
    assert operation(metrics, "async.op")["p50"] >= 0.02 * 0.99  # type: ignore[operator]
    assert operation(metrics, "sync.op")["count"] == 1
    assert operation(metrics, "split")["labels"] == {"account": "A", "result": "sent"}
    assert work.__name__ == "work" and slow.__name__ == "slow"


async def test_failures_count_per_operation_with_their_codes() -> None:
    monitor = PerformanceMonitor()

    class GraphError(Exception):
        code = 131056

    for _ in range(3):
        with monitor.timer("graph.send"):
            pass
    with pytest.raises(GraphError), monitor.timer("graph.send"):
        raise GraphError
    token = monitor.start_timer("graph.send")
    monitor.end_timer(token, error="130429")
    monitor.record_error_rate("mark_read", False)
    monitor.record_error_rate("mark_read", True, code=100)

    assert monitor.error_rate("graph.send") == pytest.approx(2 / 5)
    assert monitor.error_rate("mark_read") == pytest.approx(1 / 2)
    assert monitor.error_rate("never.called") is None
    errors = {
        (row["labels"]["op"], row["labels"]["code"]): row["value"]
        for row in monitor.get_metrics()["counters"]
        if row["name"] == ERRORS
    }
    assert errors == {("graph.send", "131056"): 1, ("graph.send", "130429"): 1, ("mark_read", "100"): 1}
    assert operation(monitor.get_metrics("graph."), "graph.send")["error_ratio"] == pytest.approx(0.4)


async def test_cancellation_is_not_a_failure() -> None:
    monitor = PerformanceMonitor()

    async def waits() -> None:
        with monitor.timer("waits"):
            await asyncio.sleep(10)

    task = asyncio.create_task(waits())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert monitor.error_rate("waits") == 0


def test_timers_from_many_threads_lose_nothing() -> None:
    monitor = PerformanceMonitor()

    def hammer() -> None:
        for _ in range(2000):
            with monitor.timer("threaded"):
                pass
            monitor.increment("hits")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    metrics = monitor.get_metrics()
    assert operation(metrics, "threaded")["count"] == 16000
    assert metrics["counters"] == [
        {
            "name": "hits",
            "labels": {},
            "value": 16000,
            "rate": pytest.approx(16000 / metrics["window_seconds"]),
        }
    ]


async def test_concurrent_tasks_keep_their_own_timings() -> None:
    monitor = PerformanceMonitor()

    async def sleeper(seconds: float) -> None:
        with monitor.timer("sleep", length=str(seconds)):
            await asyncio.sleep(seconds)

    await asyncio.gather(*(sleeper(0.05) for _ in range(20)), *(sleeper(0.01) for _ in range(20)))
    metrics = monitor.get_metrics()
    long = next(r for r in metrics["operations"] if r["labels"] == {"length": "0.05"})
    short = next(r for r in metrics["operations"] if r["labels"] == {"length": "0.01"})
    assert long["count"] == short["count"] == 20
    assert long["p50"] >= 0.05 * 0.99 and short["p50"] < long["p50"]


def test_intervals_rotate_and_windows_choose_them() -> None:
    clock = Clock()
    monitor = PerformanceMonitor(clock=clock, keep_intervals=3)
    for second in range(5):
        monitor.increment("ticks")
        monitor.set_gauge("depth", second)
        clock.now += 10
        closed = monitor.flush()
        assert closed.ended == clock.now
    assert len(monitor.history) == 3  # bounded
    recent = monitor.get_metrics(window=15)  # the intervals that ended in the last 15 s
    assert recent["counters"][0]["value"] == 2 and recent["gauges"][0]["value"] == 4
    assert monitor.get_metrics(window=1000)["counters"][0]["value"] == 3


def test_series_are_capped_so_memory_stays_flat() -> None:
    monitor = PerformanceMonitor(max_series=10)
    for user in range(100):
        monitor.observe("per.user", 1.0, user=user)  # a label with unbounded values
    assert monitor.current.series == 10 and monitor.dropped_series == 90


def test_memory_usage_reports_rss_and_on_request_the_top_allocations() -> None:
    monitor = PerformanceMonitor()
    usage = monitor.record_memory_usage()
    assert usage["rss_bytes"] > 10_000_000 and usage["rss_peak_bytes"] >= usage["rss_bytes"] * 0.5
    assert "top_allocations" not in usage
    monitor.record_memory_usage(trace=True)  # tracing starts: allocations from now on are seen
    try:
        blob = [bytearray(1000) for _ in range(2000)]
        traced = monitor.record_memory_usage(trace=True, top=3)
    finally:
        tracemalloc.stop()
    assert len(traced["top_allocations"]) == 3
    assert "test_monitor.py" in traced["top_allocations"][0]["place"]
    assert traced["top_allocations"][0]["bytes"] >= 2_000_000
    gauges = {row["name"] for row in monitor.get_metrics()["gauges"]}
    assert gauges == {"process.rss_bytes", "process.rss_peak_bytes"}
    del blob


async def test_event_loop_lag_is_measured_when_the_loop_is_blocked() -> None:
    monitor = PerformanceMonitor()
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_event_loop(monitor, stop, every=0.02))
    await asyncio.sleep(0.03)
    time.sleep(0.1)  # noqa: ASYNC251 (blocking the loop is the point)
    await asyncio.sleep(0.05)
    stop.set()
    await watcher
    assert operation(monitor.get_metrics(), "event_loop.lag")["max"] >= 0.05


def test_a_switched_off_monitor_records_nothing() -> None:
    monitor = NullMonitor()
    with monitor.timer("x"):
        pass
    monitor.observe("y", 1)
    monitor.increment("z")
    monitor.set_gauge("g", 1)
    monitor.record_error_rate("e", True)
    monitor.end_timer(monitor.start_timer("t"))
    assert monitor.get_metrics() == {
        "window_seconds": pytest.approx(0, abs=1),
        "operations": [],
        "counters": [],
        "gauges": [],
    }
