"""Linda watching itself: PerformanceMonitor (in each process), MetricsCollector (history across processes,
reports, alerts), and the quantile sketch both use."""

from __future__ import annotations

from linda.monitoring.monitor import Interval, PerformanceMonitor, TimerToken, watch_event_loop
from linda.monitoring.sketch import Sketch

__all__ = ["Interval", "PerformanceMonitor", "Sketch", "TimerToken", "watch_event_loop"]
