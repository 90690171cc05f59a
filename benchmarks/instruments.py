"""The in-process parts of benchmarks/monitoring.py: what one timed operation costs, and how far quantiles
are off, for Linda's PerformanceMonitor and Sketch against prometheus_client and the OpenTelemetry SDK."""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import Aggregation, ExponentialBucketHistogramAggregation, View
from prometheus_client import CollectorRegistry, Histogram

from benchmarks import harness
from benchmarks.harness import Row
from linda.monitoring import PerformanceMonitor, Sketch

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p99.9": 0.999}
ACCOUNT = "100000000000777"  # a label value, as Linda's series carry a phone number id

# --- 1. cost of one timed operation ------------------------------------------------------------------------

VARIANTS = {
    "floor": "perf_counter() pair, nothing kept (floor)",
    "linda_timer": 'Linda  with monitor.timer("op")',
    "linda_timer_label": 'Linda  with monitor.timer("op", account=a)',
    "linda_timed": "Linda  @monitor.timed function",
    "linda_start_end": "Linda  start_timer / end_timer",
    "prom_time": "prometheus  with h.time()",
    "prom_time_label": "prometheus  with h.labels(account=a).time()",
    "prom_timed": "prometheus  @h.time() function",
    "prom_observe": "prometheus  h.observe(delta)",
    "otel_record": "OpenTelemetry  h.record(delta)",
    "otel_record_label": "OpenTelemetry  h.record(delta, {account: a})",
    "otel_exponential": "OpenTelemetry  exponential h.record(delta)",
    "linda_observe_value": "Linda  monitor.observe(op, lognormal)",
    "prom_observe_value": "prometheus  h.observe(lognormal)",
    "otel_record_value": "OpenTelemetry  h.record(lognormal)",
}
PAIRS = {  # Linda's variant: its prometheus_client and OpenTelemetry counterparts
    "linda_timer": ("prom_time", "otel_record"),
    "linda_timer_label": ("prom_time_label", "otel_record_label"),
    "linda_timed": ("prom_timed", None),
    "linda_start_end": ("prom_observe", "otel_record"),
    "linda_observe_value": ("prom_observe_value", "otel_record_value"),
}
Loop = Callable[[int], None]


def otel_histogram(name: str, aggregation: Aggregation | None = None) -> Any:
    """An OpenTelemetry SDK histogram on its own MeterProvider, read by an in-memory reader (nothing exported
    while timing); `aggregation` replaces the default explicit buckets."""
    views = [View(instrument_name="*", aggregation=aggregation)] if aggregation is not None else []
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()], views=views)
    return provider.get_meter("benchmarks.monitoring").create_histogram(name, unit="s")


def cost_loops(values: list[float]) -> dict[str, Loop]:
    """One loop of `n` timed empty blocks (or recorded values) per variant, each on its own fresh metric."""
    monitor = PerformanceMonitor()
    registry = CollectorRegistry()
    prom = Histogram("op_seconds", "an empty block", registry=registry)
    prom_label = Histogram("op_label_seconds", "an empty block", ["account"], registry=registry)
    prom_value = Histogram("value_seconds", "a lognormal value", registry=registry)
    otel, otel_label, otel_value = (otel_histogram(name) for name in ("op", "op_label", "value"))
    otel_exponential = otel_histogram("op_exponential", ExponentialBucketHistogramAggregation())
    perf_counter = time.perf_counter

    @monitor.timed("op.decorated")
    def linda_function() -> None:
        pass

    @prom.time()
    def prom_function() -> None:
        pass

    def floor(n: int) -> None:
        for _ in range(n):
            started = perf_counter()
            perf_counter() - started

    def linda_timer(n: int) -> None:
        for _ in range(n):
            with monitor.timer("op"):
                pass

    def linda_timer_label(n: int) -> None:
        for _ in range(n):
            with monitor.timer("op.label", account=ACCOUNT):
                pass

    def linda_timed(n: int) -> None:
        for _ in range(n):
            linda_function()

    def linda_start_end(n: int) -> None:
        for _ in range(n):
            token = monitor.start_timer("op.token")
            monitor.end_timer(token)

    def prom_time(n: int) -> None:
        for _ in range(n):
            with prom.time():
                pass

    def prom_time_label(n: int) -> None:
        for _ in range(n):
            with prom_label.labels(account=ACCOUNT).time():
                pass

    def prom_timed(n: int) -> None:
        for _ in range(n):
            prom_function()

    def prom_observe(n: int) -> None:
        for _ in range(n):
            started = perf_counter()
            prom.observe(perf_counter() - started)

    def otel_record(n: int) -> None:
        for _ in range(n):
            started = perf_counter()
            otel.record(perf_counter() - started)

    def otel_record_label(n: int) -> None:
        for _ in range(n):
            started = perf_counter()
            otel_label.record(perf_counter() - started, {"account": ACCOUNT})

    def otel_exponential_record(n: int) -> None:
        for _ in range(n):
            started = perf_counter()
            otel_exponential.record(perf_counter() - started)

    def linda_observe_value(n: int) -> None:
        for value in values[:n]:
            monitor.observe("value", value)

    def prom_observe_value(n: int) -> None:
        for value in values[:n]:
            prom_value.observe(value)

    def otel_record_value(n: int) -> None:
        for value in values[:n]:
            otel_value.record(value)

    loops: dict[str, Loop] = {
        "floor": floor,
        "linda_timer": linda_timer,
        "linda_timer_label": linda_timer_label,
        "linda_timed": linda_timed,
        "linda_start_end": linda_start_end,
        "prom_time": prom_time,
        "prom_time_label": prom_time_label,
        "prom_timed": prom_timed,
        "prom_observe": prom_observe,
        "otel_record": otel_record,
        "otel_record_label": otel_record_label,
        "otel_exponential": otel_exponential_record,
        "linda_observe_value": linda_observe_value,
        "prom_observe_value": prom_observe_value,
        "otel_record_value": otel_record_value,
    }
    assert list(loops) == list(VARIANTS)
    return loops


def timer_cost(args: argparse.Namespace) -> Row:
    rng = random.Random(args.seed)
    values = [rng.lognormvariate(args.mu, args.sigma) for _ in range(args.ops)]
    loops = cost_loops(values)
    names = list(loops)
    for loop in loops.values():  # warm-up: first series, caches, branch paths
        loop(min(args.ops, 2000))
    repeats: list[Row] = []
    for repeat in range(args.cost_repeats):  # interleaved, each repeat in a rotated order
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        ns: dict[str, float] = {}
        before = Usage.take()
        for name in order:
            gc.collect()
            gc.disable()
            try:
                started = time.perf_counter_ns()
                loops[name](args.ops)
                ns[name] = (time.perf_counter_ns() - started) / args.ops
            finally:
                gc.enable()
        repeats.append({"ns_per_op": {name: ns[name] for name in names}} | Usage.take().since(before))
    medians = {name: statistics.median(r["ns_per_op"][name] for r in repeats) for name in names}
    ratios: Row = {}
    for linda, counterparts in PAIRS.items():
        for other in counterparts:
            if other is not None:
                same_repeat = [r["ns_per_op"][linda] / r["ns_per_op"][other] for r in repeats]
                ratios[f"{linda}/{other}"] = {
                    "median": statistics.median(same_repeat),
                    "repeats": same_repeat,
                }
    return {
        "variants": VARIANTS,
        "repeats": repeats,
        "median_ns_per_op": medians,
        "median_ns_over_floor": {name: medians[name] - medians["floor"] for name in names},
        "ratios": ratios,
        "median_other_cpu": statistics.median(r["other_cpu"] for r in repeats),
    }


class Usage:
    """This process's CPU time and the machine's busy ticks, to tell how much else ran meanwhile."""

    def __init__(self) -> None:
        self.at, self.cpu, self.machine = time.monotonic(), time.process_time(), harness.machine_ticks()

    @classmethod
    def take(cls) -> Usage:
        return cls()

    def since(self, start: Usage) -> Row:
        wall = self.at - start.at
        busy, total = self.machine[0] - start.machine[0], self.machine[1] - start.machine[1]
        machine_cores = (os.cpu_count() or 1) * busy / max(total, 1)
        own = (self.cpu - start.cpu) / wall
        return {"seconds": wall, "own_cpu": own, "other_cpu": max(0.0, machine_cores - own)}


# --- 2. quantile error ---------------------------------------------------------------------------------------


def histogram_quantile(q: float, bounds: list[float], cumulative: list[float]) -> float:
    """PromQL's histogram_quantile on a classic histogram: upper bounds ending in +Inf, cumulative counts;
    linear interpolation within the bucket holding rank q * count (the first bucket starts at 0)."""
    rank = q * cumulative[-1]
    b = next(i for i, count in enumerate(cumulative) if count >= rank)
    if b == len(bounds) - 1:
        return bounds[-2]  # in the +Inf bucket: the highest finite bound
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, below = (bounds[b - 1], cumulative[b - 1]) if b > 0 else (0.0, 0.0)
    return start + (bounds[b] - start) * (rank - below) / (cumulative[b] - below)


def exponential_quantile(q: float, point: Any) -> float:
    """A quantile of an OpenTelemetry exponential histogram point (positive values): bucket i holds
    (base^i, base^(i+1)], base = 2^(2^-scale); log-linear interpolation within the bucket at rank q * count."""
    base = 2.0 ** (2.0**-point.scale)
    rank, seen = q * point.count, float(point.zero_count)
    if rank <= seen:
        return 0.0
    for i, count in enumerate(point.positive.bucket_counts):
        if count and seen + count >= rank:
            low = base ** (point.positive.offset + i)
            return float(low * base ** ((rank - seen) / count))
        seen += count
    return float(point.max)


def otel_point(values: list[float], aggregation: Aggregation | None, scale: float = 1.0) -> Any:
    reader = InMemoryMetricReader()
    views = [View(instrument_name="*", aggregation=aggregation)] if aggregation is not None else []
    provider = MeterProvider(metric_readers=[reader], views=views)
    histogram = provider.get_meter("benchmarks.monitoring").create_histogram("latency")
    record = histogram.record
    for value in values:
        record(value * scale)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    return data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0]


def estimators(values: list[float]) -> Iterator[tuple[str, str, dict[str, float], int, float | None]]:
    """Each method after taking every value: its name, what it is, its quantiles, its buckets in use, and
    the relative error it guarantees (None: classic buckets bound nothing)."""
    sketch = Sketch()
    for value in values:
        sketch.add(value)
    estimates = {label: sketch.quantile(q) or 0.0 for label, q in QUANTILES.items()}
    yield "linda_sketch", "Linda Sketch", estimates, len(sketch.to_dict()["k"]), sketch.accuracy

    registry = CollectorRegistry()
    prom = Histogram("latency_seconds", "lognormal values", registry=registry)
    for value in values:
        prom.observe(value)
    samples = [s for metric in registry.collect() for s in metric.samples if s.name.endswith("_bucket")]
    bounds, counts = [float(s.labels["le"]) for s in samples], [s.value for s in samples]
    estimates = {label: histogram_quantile(q, bounds, counts) for label, q in QUANTILES.items()}
    yield "prometheus_default", "prometheus_client default buckets", estimates, len(bounds), None

    for unit, scale in (("ms", 1000.0), ("s", 1.0)):
        point = otel_point(values, None, scale)
        bounds = [*point.explicit_bounds, math.inf]
        counts = [float(sum(point.bucket_counts[: i + 1])) for i in range(len(point.bucket_counts))]
        estimates = {label: histogram_quantile(q, bounds, counts) / scale for label, q in QUANTILES.items()}
        title = f"OpenTelemetry default buckets, in {unit}"
        yield f"otel_explicit_{unit}", title, estimates, len(bounds), None

    for size in (160, 2048):
        point = otel_point(values, ExponentialBucketHistogramAggregation(max_size=size))
        estimates = {label: exponential_quantile(q, point) for label, q in QUANTILES.items()}
        title = f"OpenTelemetry exponential, max {size} (scale {point.scale})"
        bound = 2.0 ** (2.0**-point.scale) - 1  # estimate and value in one bucket, whose ends differ by this
        yield f"otel_exponential_{size}", title, estimates, len(point.positive.bucket_counts), bound


def quantile_error(args: argparse.Namespace) -> Row:
    rng = random.Random(args.seed)
    values = [rng.lognormvariate(args.mu, args.sigma) for _ in range(args.values)]
    ordered = sorted(values)
    exact = {label: ordered[math.floor(q * (len(ordered) - 1))] for label, q in QUANTILES.items()}
    methods: Row = {}
    began = time.perf_counter()
    for name, title, estimates, buckets, bound in estimators(values):
        errors = {label: (estimates[label] - exact[label]) / exact[label] for label in QUANTILES}
        methods[name] = {
            "title": title,
            "buckets": buckets,
            "guaranteed_relative_error": bound,
            "estimates": estimates,
            "relative_errors": errors,
            "max_abs_relative_error": max(map(abs, errors.values())),
        }
    return {
        "sample": {"values": args.values, "mu": args.mu, "sigma": args.sigma, "seed": args.seed},
        "exact": exact,
        "methods": methods,
        "seconds": time.perf_counter() - began,
    }


def report_cost(cost: Row, p: Row) -> None:
    print(f"\n1. One timed operation: ns per operation, median of {p['cost_repeats']} interleaved repeats")
    print(f"{'variant':<46}{'ns/op':>9}{'over floor':>12}{'vs prometheus':>15}{'vs OTel':>9}")
    for name, title in VARIANTS.items():
        prom, otel = PAIRS.get(name, (None, None))
        ratio = cost["ratios"]
        cells = [
            f"{cost['median_ns_per_op'][name]:.0f}",
            f"{cost['median_ns_over_floor'][name]:.0f}",
            f"{ratio[f'{name}/{prom}']['median']:.2f}" if prom else "",
            f"{ratio[f'{name}/{otel}']['median']:.2f}" if otel else "",
        ]
        print(f"{title:<46}{cells[0]:>9}{cells[1]:>12}{cells[2]:>15}{cells[3]:>9}")
    print(f"vs: Linda / counterpart, median of same-repeat ratios; other CPU {cost['median_other_cpu']:.0%}")


def report_quantiles(quantiles: Row) -> None:
    s = quantiles["sample"]
    print(
        f"\n2. Quantile error against exact, {s['values']:,} lognormal values (mu {s['mu']:g}, sigma "
        f"{s['sigma']:g}, seed {s['seed']}); exact: "
        + ", ".join(f"{label} {1000 * v:.2f} ms" for label, v in quantiles["exact"].items())
    )
    print(f"{'method':<46}{'buckets':>8}{'bound':>8}" + "".join(f"{label:>11}" for label in QUANTILES))
    for method in quantiles["methods"].values():
        errors = "".join(f"{e:>+11.2%}" for e in method["relative_errors"].values())
        bound = fmt(method["guaranteed_relative_error"], "{:.1%}")
        print(f"{method['title']:<46}{method['buckets']:>8}{bound:>8}{errors}")
    print("bound: the relative error the method guarantees on any data; classic buckets guarantee none")


def fmt(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)
