"""PerformanceMonitor: what one process measures about itself, in bounded memory.

Timings and sizes go into quantile sketches (1% relative error), counts into counters, levels into gauges,
each a series named by an operation and a few low-cardinality labels (`account`, `code`, `handler`, ...). The
current interval (10 s by default) collects everything; `flush()` closes it and keeps the last few for
`get_metrics()`; the MetricsCollector stores each closed interval. Memory is bounded by the number of series
(capped) and of kept intervals, never by traffic.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import resource
import threading
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, ParamSpec, TypeVar

from linda.monitoring.sketch import Sketch

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
Labels = tuple[tuple[str, str], ...]
Key = tuple[str, Labels]
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p999": 0.999}
ERRORS = "errors"  # the counter of failures: labels op and code
MAX_SERIES = 5000


def labels_of(labels: dict[str, Any]) -> Labels:
    if not labels:  # the common case, on the hot path: no sorting, no generator
        return ()
    if len(labels) == 1:
        ((name, value),) = labels.items()
        return () if value is None else ((name, str(value)),)
    return tuple(sorted((k, str(v)) for k, v in labels.items() if v is not None))


@dataclass
class Interval:
    """Everything measured from `started` until it was closed (`ended`)."""

    started: float
    ended: float | None = None
    sketches: dict[Key, Sketch] = field(default_factory=dict)
    failures: dict[Key, int] = field(default_factory=dict)  # failed calls of a timed series
    counters: dict[Key, float] = field(default_factory=dict)
    gauges: dict[Key, float] = field(default_factory=dict)

    @property
    def series(self) -> int:
        return len(self.sketches) + len(self.counters) + len(self.gauges)

    def merge(self, other: Interval) -> None:
        for key, sketch in other.sketches.items():
            mine = self.sketches.get(key)
            if mine is None:
                self.sketches[key] = sketch.copy()
            else:
                mine.merge(sketch)
        for key, n in other.failures.items():
            self.failures[key] = self.failures.get(key, 0) + n
        for key, value in other.counters.items():
            self.counters[key] = self.counters.get(key, 0) + value
        self.gauges.update(other.gauges)  # the later interval's level wins
        self.started = min(self.started, other.started)


class TimerToken(NamedTuple):
    key: Key  # the operation and its labels
    labels: dict[str, Any]
    started: float


class _Timer:
    """The context manager of `PerformanceMonitor.timer`: times its block; an exception counts as a failure."""

    __slots__ = ("_key", "_monitor", "_started", "elapsed")

    def __init__(self, monitor: PerformanceMonitor, key: Key) -> None:
        self._monitor = monitor
        self._key = key
        self.elapsed = 0.0

    def __enter__(self) -> _Timer:
        self._started = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        self.elapsed = time.perf_counter() - self._started
        failed = kind is not None and not issubclass(kind, asyncio.CancelledError)
        self._monitor._observe(self._key, self.elapsed, failed, _code_of(error) if failed else None)


def _code_of(error: BaseException | None) -> str | None:
    code = getattr(error, "code", None)
    return str(code) if code is not None else type(error).__name__ if error is not None else None


class PerformanceMonitor:
    def __init__(
        self,
        *,
        keep_intervals: int = 30,
        max_series: int = MAX_SERIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.max_series = max_series
        self.current = Interval(clock())
        self.history: deque[Interval] = deque(maxlen=keep_intervals)
        self.dropped_series = 0
        self._lock = threading.Lock()

    # --- recording ----------------------------------------------------------------------------------------

    def timer(self, operation: str, **labels: Any) -> _Timer:
        """`with monitor.timer("graph.send", account=pnid):` times the block."""
        return _Timer(self, (operation, labels_of(labels)))

    def timed(self, operation: str, **labels: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorate a function (sync or async) to time every call."""
        key = (operation, labels_of(labels))

        def decorate(function: Callable[P, R]) -> Callable[P, R]:
            if inspect.iscoroutinefunction(function):

                @functools.wraps(function)
                async def timed_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                    with _Timer(self, key):
                        return await function(*args, **kwargs)

                return timed_async  # type: ignore[return-value]

            @functools.wraps(function)
            def timed_sync(*args: P.args, **kwargs: P.kwargs) -> R:
                with _Timer(self, key):
                    return function(*args, **kwargs)

            return timed_sync

        return decorate

    def start_timer(self, operation: str, **labels: Any) -> TimerToken:
        """Start timing an operation that ends elsewhere (another callback, another task)."""
        return TimerToken((operation, labels_of(labels)), labels, time.perf_counter())

    def end_timer(self, token: TimerToken, *, error: Any = None, **metadata: Any) -> float:
        """End a timing; `metadata` adds labels known only at the end (e.g. `result="sent"`), and `error`
        (an exception, a code, or True) counts the call as failed. Returns the seconds elapsed."""
        elapsed = time.perf_counter() - token.started
        key = (token.key[0], labels_of({**token.labels, **metadata})) if metadata else token.key
        failed = error is not None and error is not False
        code = None if not failed else str(error) if isinstance(error, (str, int)) else _code_of(error)
        self._observe(key, elapsed, failed, code if error is not True else None)
        return elapsed

    def observe(self, name: str, value: float, **labels: Any) -> None:
        """Add a value (a size, a lag, a delay) to the series' sketch."""
        self._observe((name, labels_of(labels)), value, False, None)

    def increment(self, name: str, amount: float = 1, **labels: Any) -> None:
        key = (name, labels_of(labels))
        with self._lock:
            counters = self.current.counters
            if key in counters or self._room():
                counters[key] = counters.get(key, 0) + amount

    def set_gauge(self, name: str, value: float, **labels: Any) -> None:
        key = (name, labels_of(labels))
        with self._lock:
            gauges = self.current.gauges
            if key in gauges or self._room():
                gauges[key] = value

    def record_error_rate(self, operation: str, failed: bool, code: Any = None, **labels: Any) -> None:
        """Count one call of `operation` and whether it failed (with its error code), for error rates of
        operations that are not timed."""
        key = (operation, labels_of(labels))
        with self._lock:
            self._count_call(key, failed, None if code is None else str(code))

    def record_memory_usage(self, *, trace: bool = False, top: int = 10) -> dict[str, Any]:
        """The process's resident memory (gauge `process.rss_bytes`, and its peak); with `trace`, the `top`
        places allocating the most (tracemalloc is started on first use, and costs while it runs)."""
        rss = _rss_bytes()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
        self.set_gauge("process.rss_bytes", rss)
        self.set_gauge("process.rss_peak_bytes", peak)
        usage: dict[str, Any] = {"rss_bytes": rss, "rss_peak_bytes": peak}
        if trace:
            if not tracemalloc.is_tracing():
                tracemalloc.start()
            stats = tracemalloc.take_snapshot().statistics("lineno")[:top]
            usage["top_allocations"] = [  # what was allocated since tracing started
                {"place": str(s.traceback), "bytes": s.size, "blocks": s.count} for s in stats
            ]
        return usage

    def _observe(self, key: Key, value: float, failed: bool, code: str | None) -> None:
        with self._lock:
            sketches = self.current.sketches
            sketch = sketches.get(key)
            if sketch is None:
                if not self._room():
                    return
                sketch = sketches[key] = Sketch()
            sketch.add(value)
            if failed:
                self.current.failures[key] = self.current.failures.get(key, 0) + 1
                self._count_error(key, code)

    def _count_call(self, key: Key, failed: bool, code: str | None) -> None:
        calls = (key[0] + ".calls", key[1])
        counters = self.current.counters
        if calls in counters or self._room():
            counters[calls] = counters.get(calls, 0) + 1
        if failed:
            self.current.failures[calls] = self.current.failures.get(calls, 0) + 1
            self._count_error(key, code)

    def _count_error(self, key: Key, code: str | None) -> None:
        errors = (ERRORS, labels_of({"op": key[0], "code": code or "unknown"}))
        counters = self.current.counters
        if errors in counters or self._room():
            counters[errors] = counters.get(errors, 0) + 1

    def _room(self) -> bool:
        if self.current.series < self.max_series:
            return True
        self.dropped_series += 1  # a label with too many values: say so once in a while, keep memory flat
        if self.dropped_series in (1, 1000, 100_000):
            log.warning("monitoring: %s new series dropped (too many label values?)", self.dropped_series)
        return False

    # --- intervals and reading ------------------------------------------------------------------------

    def flush(self) -> Interval:
        """Close the current interval and start the next; the closed one is kept for `get_metrics`."""
        with self._lock:
            closed, self.current = self.current, Interval(self.clock())
            closed.ended = self.current.started
            self.history.append(closed)
        return closed

    def window(self, seconds: float) -> Interval:
        """The kept intervals of the last `seconds`, with the current one, merged."""
        since = self.clock() - seconds
        merged = Interval(self.clock())
        with self._lock:
            chosen = [i for i in self.history if (i.ended or 0) > since] + [self.current]
            for interval in chosen:
                merged.merge(interval)
        return merged

    def error_rate(self, operation: str, window: float = 60.0, **labels: Any) -> float | None:
        """Failed calls / calls of `operation` over the last `window` seconds (None without calls)."""
        merged = self.window(window)
        key = (operation, labels_of(labels))
        calls = merged.sketches[key].count if key in merged.sketches else 0
        calls_key = (operation + ".calls", key[1])
        calls += int(merged.counters.get(calls_key, 0))
        failed = merged.failures.get(key, 0) + merged.failures.get(calls_key, 0)
        return failed / calls if calls else None

    def get_metrics(self, operation: str | None = None, window: float = 60.0) -> dict[str, Any]:
        """This process's metrics over the last `window` seconds (operations starting with `operation`)."""
        merged = self.window(window)
        elapsed = max(self.clock() - merged.started, 1e-9)
        return summarize(merged, elapsed, operation)


def summarize(interval: Interval, seconds: float, prefix: str | None = None) -> dict[str, Any]:
    """Per series: count, rate, errors, error ratio, quantiles; counters with rates; gauges."""

    def wanted(name: str) -> bool:
        return prefix is None or name.startswith(prefix)

    operations = []
    for (name, labels), sketch in sorted(interval.sketches.items()):
        if not wanted(name):
            continue
        failed = interval.failures.get((name, labels), 0)
        row: dict[str, Any] = {
            "name": name,
            "labels": dict(labels),
            "count": sketch.count,
            "rate": sketch.count / seconds,
            "errors": failed,
            "error_ratio": failed / sketch.count if sketch.count else 0.0,
            "mean": sketch.mean,
            "max": sketch.max if sketch.count else None,
        }
        row.update({label: sketch.quantile(q) for label, q in QUANTILES.items()})
        operations.append(row)
    counters = [
        {"name": name, "labels": dict(labels), "value": value, "rate": value / seconds}
        for (name, labels), value in sorted(interval.counters.items())
        if wanted(name)
        or (name == ERRORS and prefix is not None and dict(labels).get("op", "").startswith(prefix))
    ]
    gauges = [
        {"name": name, "labels": dict(labels), "value": value}
        for (name, labels), value in sorted(interval.gauges.items())
        if wanted(name)
    ]
    return {"window_seconds": seconds, "operations": operations, "counters": counters, "gauges": gauges}


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:  # not Linux: the peak is the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def watch_event_loop(monitor: PerformanceMonitor, stop: asyncio.Event, every: float = 0.5) -> None:
    """Measure event-loop lag: how late a sleep of `every` seconds wakes up (series `event_loop.lag`)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        expected = loop.time() + every
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            monitor.observe("event_loop.lag", max(0.0, loop.time() - expected))


class _NullTimer:
    __slots__ = ()
    elapsed = 0.0

    def __enter__(self) -> _NullTimer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


_NULL_TIMER = _NullTimer()
_NULL_TOKEN = TimerToken(("", ()), {}, 0.0)


class NullMonitor(PerformanceMonitor):
    """Monitoring switched off (LINDA_MONITORING=false): every measurement is a no-op."""

    def timer(self, operation: str, **labels: Any) -> _Timer:
        return _NULL_TIMER  # type: ignore[return-value]

    def _observe(self, key: Key, value: float, failed: bool, code: str | None) -> None:
        return None

    def observe(self, name: str, value: float, **labels: Any) -> None:
        return None

    def start_timer(self, operation: str, **labels: Any) -> TimerToken:
        return _NULL_TOKEN

    def end_timer(self, token: TimerToken, *, error: Any = None, **metadata: Any) -> float:
        return 0.0

    def increment(self, name: str, amount: float = 1, **labels: Any) -> None:
        return None

    def set_gauge(self, name: str, value: float, **labels: Any) -> None:
        return None

    def record_error_rate(self, operation: str, failed: bool, code: Any = None, **labels: Any) -> None:
        return None
