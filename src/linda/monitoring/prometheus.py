"""This process's PerformanceMonitor in Prometheus' exposition format, through `prometheus_client`.

Series names become `linda_` + the name with dots as underscores. A sketch becomes a summary: quantiles
(0.5, 0.95, 0.99, 0.999) over the last minute, with `_count` and `_sum` counted since the exporter first
looked; a counter becomes `<name>_total` (failures are in `linda_errors_total{op, code}`); a gauge, its newest
level. Timings are in seconds. The process, platform and garbage-collector metrics of `prometheus_client` come
along. Each process exposes its own measurements (scrape each one, as Prometheus does).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from linda.monitoring.monitor import QUANTILES, Interval, Key, Labels, PerformanceMonitor

PREFIX = "linda_"
QUANTILE_WINDOW = 60.0
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(name: str) -> str:
    return PREFIX + _INVALID.sub("_", name)


def _labels(labels: Labels) -> dict[str, str]:
    return {_INVALID.sub("_", k): v for k, v in labels}


class MonitorExporter(Collector):
    """A prometheus_client collector over a PerformanceMonitor.

    The monitor keeps its last few intervals, not totals; the exporter adds every closed interval to running
    totals once (at each scrape, so scrapes must come more often than the monitor's kept history spans, five
    minutes by default), and the open interval on top, so counts only ever grow."""

    def __init__(self, monitor: PerformanceMonitor, quantile_window: float = QUANTILE_WINDOW) -> None:
        self.monitor = monitor
        self.quantile_window = quantile_window
        self.totals = Interval(0.0)  # counts and sums only: quantiles come from the recent window
        self._folded_until = float("-inf")
        self._lock = threading.Lock()

    def _fold(self) -> Interval:
        """The running totals plus the open interval."""
        for interval in list(self.monitor.history):
            ended = interval.ended or 0.0
            if ended > self._folded_until:
                self.totals.merge(interval)
                self._folded_until = ended
        with_current = Interval(0.0)
        with_current.merge(self.totals)
        with_current.merge(self.monitor.window(0))
        return with_current

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            totals = self._fold()
        recent = self.monitor.window(self.quantile_window)
        yield from self._summaries(totals, recent)
        yield from self._counters(totals)
        yield from self._gauges(recent)

    def _summaries(self, totals: Interval, recent: Interval) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for (name, labels), sketch in sorted(totals.sketches.items()):
            prom = metric_name(name)
            family = families.get(prom)
            if family is None:
                family = families[prom] = Metric(prom, f"{name}: quantiles over the last minute", "summary")
            base = _labels(labels)
            window = recent.sketches.get((name, labels))
            if window is not None and window.count:
                for q in QUANTILES.values():
                    value = window.quantile(q)
                    if value is not None:
                        family.add_sample(prom, {**base, "quantile": str(q)}, value)
            family.add_sample(prom + "_count", base, sketch.count)
            family.add_sample(prom + "_sum", base, sketch.sum)
        yield from families.values()

    def _counters(self, totals: Interval) -> Iterator[Metric]:
        yield from _families(totals.counters, CounterMetricFamily, "{name}: total")

    def _gauges(self, recent: Interval) -> Iterator[Metric]:
        yield from _families(recent.gauges, GaugeMetricFamily, "{name}: the newest level")


def _families(
    series: dict[Key, float], kind: type[CounterMetricFamily] | type[GaugeMetricFamily], doc: str
) -> Iterator[Metric]:
    families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
    for (name, labels), value in sorted(series.items()):
        prom = metric_name(name)
        family = families.get(prom)
        if family is None:
            family = families[prom] = kind(prom, doc.format(name=name), labels=None)
        family.add_sample(
            prom + ("_total" if kind is CounterMetricFamily else ""), _labels(labels), float(value)
        )
    yield from families.values()


def exporter_registry(monitor: PerformanceMonitor) -> CollectorRegistry:
    """A registry of the monitor's metrics, with the process, platform and GC metrics of prometheus_client."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorExporter(monitor))
    for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(standard)
    return registry


def exposition(registry: CollectorRegistry, accept: str = "") -> tuple[bytes, str]:
    """The registry's metrics in the format `accept` asks for (OpenMetrics or Prometheus text): (body,
    content type)."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
