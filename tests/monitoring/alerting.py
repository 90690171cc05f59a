"""Helpers for alert tests: a process measuring on a fake clock into the database, and clean alert tables."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete

from linda.monitoring.alert_rules import Rule
from linda.monitoring.collector import MetricsCollector
from linda.monitoring.monitor import PerformanceMonitor
from linda.store.db import Database
from linda.store.models import Alert, AlertDelivery, AlertEvent, MetricPoint

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


async def clear_alerts(db: Database) -> None:
    async with db.transaction() as session:
        for table in (AlertEvent, Alert, AlertDelivery, MetricPoint):
            await session.execute(delete(table))


@contextlib.asynccontextmanager
async def clean_alerts(db: Database) -> AsyncIterator[Database]:
    """No alerts or metric points before or after (the shared PostgreSQL database keeps rows between tests)."""
    await clear_alerts(db)
    try:
        yield db
    finally:
        await clear_alerts(db)


class Feed:
    """One Linda process: it measures with a PerformanceMonitor on a fake clock and stores each 10 s
    interval through its MetricsCollector, which alerts then read."""

    def __init__(self, db: Database, start: datetime = START, process: str = "web:1") -> None:
        self.at = start.timestamp()
        self.collector = MetricsCollector(db, PerformanceMonitor(clock=lambda: self.at))
        self.collector.process = process
        self.collector.monitor.flush()  # the first interval starts now

    @property
    def monitor(self) -> PerformanceMonitor:
        return self.collector.monitor

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)

    async def tick(self, measure: Callable[[PerformanceMonitor], None], seconds: float = 10) -> datetime:
        """Measure, let `seconds` pass, store the interval; the time it is now."""
        measure(self.monitor)
        self.at += seconds
        await self.collector.store_historical_data()
        return self.now

    def later(self, seconds: float) -> datetime:
        return self.now + timedelta(seconds=seconds)


def rule(**fields: Any) -> Rule:
    values: dict[str, Any] = {"name": "r", "metric": "m", "aggregation": "value", "threshold": 1.0}
    return Rule.model_validate({**values, **fields})


def sends(
    monitor: PerformanceMonitor, ok: int, failed: int, account: str = "111", code: str = "131056"
) -> None:
    """`ok` and `failed` Graph API sends from `account`, as the sender records them."""
    for _ in range(ok):
        monitor.end_timer(monitor.start_timer("graph.send", account=account), result="sent")
    for _ in range(failed):
        monitor.end_timer(monitor.start_timer("graph.send", account=account), error=code, result="error")
