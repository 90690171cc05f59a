"""Dashboard: the dashboard's data for one app, read fresh (`data`) or streamed live (`hub`).

What comes from the database besides metric history: the business numbers and their throughput limits, the
firing alerts, the charts' recent history, and the outbox's depth right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from linda.dashboard.build import Number, dashboard_data
from linda.dashboard.stream import Hub
from linda.dashboard.view import MetricsView, Stored
from linda.monitoring.collector import MetricsCollector
from linda.monitoring.live import Subscription
from linda.monitoring.monitor import PerformanceMonitor
from linda.store.db import Database
from linda.store.models import Account, MetricPoint, OutboxItem
from linda.store.types import utcnow

log = logging.getLogger(__name__)

# The charts: (key, series, value of each step), over the last CHART_SECONDS in steps of the finest history.
CHARTS = (
    ("messages_in", "messages.in", "rate"),
    ("messages_out", "messages.out", "rate"),
    ("webhook_ack_p99", "webhook.ack", "p99"),
    ("graph_send_p99", "graph.send", "p99"),
    ("errors", "errors", "rate"),
)
CHART_SECONDS = 300


@dataclass
class Extras:
    """What the dashboard shows besides metrics, read with the stored history."""

    numbers: list[Number] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    charts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outbox_depth: int | None = None


class Dashboard:
    def __init__(
        self,
        db: Database,
        monitor: PerformanceMonitor,
        collector: MetricsCollector | None,
        *,
        monitoring: bool = True,
        flush_seconds: float = 10.0,
    ) -> None:
        self.db = db
        self.monitor = monitor
        self.collector = collector
        self.monitoring = monitoring
        self.flush_seconds = flush_seconds
        self.view = MetricsView(monitor, collector)
        self.tick_seconds = 0.25  # how often a stream looks for news
        self.refresh_seconds = 5.0  # a stream sends at least this often (rates fall while nothing happens)
        self.heartbeat_seconds = 15.0
        self._hubs: dict[float, Hub] = {}

    # --- reading -----------------------------------------------------------------------------------------

    async def data(self, window: float) -> dict[str, Any]:
        """Everything the dashboard shows over the last `window` seconds, read now."""
        stored = await self.view.stored(window)
        extras = await self.extras()
        extras.outbox_depth = await self.outbox_depth()
        return self.build(stored, extras, window)

    def build(self, stored: Stored, extras: Extras, window: float) -> dict[str, Any]:
        interval, seconds = self.view.merged(stored, self.view.live(stored), window)
        return dashboard_data(
            interval,
            seconds,
            numbers=extras.numbers,
            alerts=extras.alerts,
            charts=extras.charts,
            outbox_depth=extras.outbox_depth,
            monitoring=self.monitoring,
        )

    async def extras(self) -> Extras:
        return Extras(await self.numbers(), await self.alerts(), await self.charts())

    async def numbers(self) -> list[Number]:
        async with self.db.read() as session:
            accounts = (await session.scalars(select(Account).order_by(Account.id))).all()
        return [
            Number(a.phone_number_id, a.name, a.display_phone_number, a.throughput_per_second)
            for a in accounts
        ]

    async def alerts(self) -> list[dict[str, Any]]:
        """The firing alerts, as `GET /api/alerts` shows them."""
        if self.collector is None:
            return []
        return [alert.model_dump(mode="json") for alert in await self.collector.get_alerts("firing")]

    async def charts(self) -> dict[str, list[dict[str, Any]]]:
        """The last CHART_SECONDS of a few series, in whole steps of the finest stored resolution (from the
        first stored history on, for a deployment younger than that)."""
        if self.collector is None or not self.monitoring:
            return {}
        step = self.collector.resolution
        until = datetime.fromtimestamp(math.floor(time.time() / step) * step, UTC)
        since = until - timedelta(seconds=CHART_SECONDS)
        async with self.db.read() as session:
            first = await session.scalar(
                select(func.min(MetricPoint.at)).where(
                    MetricPoint.resolution == step, MetricPoint.at >= since
                )
            )
        if first is None or first >= until:
            return {}
        since = first
        charts = {}
        for key, name, value in CHARTS:
            rows = await self.collector.timeseries(name, since=since, until=until, step=step)
            charts[key] = [{"t": row["t"], "v": row[value]} for row in rows]
        return charts

    async def outbox_depth(self) -> int:
        """Sends due now and not done: the collector's `outbox.depth`, but read this instant."""
        async with self.db.read() as session:
            depth = await session.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.state == "pending", OutboxItem.due_at <= utcnow())
            )
        return int(depth or 0)

    # --- streaming ---------------------------------------------------------------------------------------

    def hub(self, window: float) -> Hub:
        """The live data of `window`, shared by every stream of it."""
        hub = self._hubs.get(window)
        if hub is None:
            hub = self._hubs[window] = Hub(self, window)
        return hub

    def subscribe(self, window: float) -> tuple[Subscription, dict[str, Any] | None]:
        """Live dashboard data of `window` (and alert changes): a subscription, and the newest `metrics` event
        already computed for it (None when its stream is just starting)."""
        hub = self.hub(window)
        return hub.subscribe(), hub.latest

    def collector_events(self) -> Subscription | None:
        """The collector's live events: `flush` (a process stored an interval) and `alert`."""
        return self.collector.subscribe() if self.collector is not None else None

    async def stop(self) -> None:
        """End every stream's background work (the app is stopping)."""
        hubs, self._hubs = list(self._hubs.values()), {}
        for hub in hubs:
            with contextlib.suppress(asyncio.CancelledError):
                await hub.stop()
