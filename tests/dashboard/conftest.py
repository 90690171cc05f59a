"""A Linda app with its lifespan running and an API token, on SQLite and PostgreSQL; its metrics are flushed
only when a test says so."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from linda.api.tokens import create_token
from linda.app import create_app
from linda.dashboard import Dashboard
from linda.monitoring.collector import MetricsCollector
from linda.monitoring.monitor import PerformanceMonitor
from linda.store.models import MetricPoint
from tests.api.conftest import UNREACHABLE_GRAPH_API, clear_tokens
from tests.conftest import NUMBER, SECOND_NUMBER
from tests.stack import stack_settings


@dataclass
class Linda:
    app: FastAPI
    token: str
    client: httpx.AsyncClient  # sends the token

    @property
    def monitor(self) -> PerformanceMonitor:
        monitor: PerformanceMonitor = self.app.state.runtime.monitor
        return monitor

    @property
    def collector(self) -> MetricsCollector:
        collector: MetricsCollector = self.app.state.runtime.collector
        return collector

    @property
    def board(self) -> Dashboard:
        board: Dashboard = self.app.state.dashboard
        return board

    def anonymous(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://linda.test")


def dashboard_app(database_url: str, **overrides: Any) -> FastAPI:
    settings = stack_settings(
        database_url,
        UNREACHABLE_GRAPH_API,
        [NUMBER, SECOND_NUMBER],
        senders=0,
        metrics_flush_seconds=3600,  # no flush unless a test asks for one
        **overrides,
    )
    return create_app(settings)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[str]:
    """The app's lifespan, no metric history (the PostgreSQL database is shared by the session's tests), this
    process named apart from other tests' apps, and a fresh API token."""
    async with app.router.lifespan_context(app):
        await clear_tokens(app.state.db)
        async with app.state.db.transaction() as session:
            await session.execute(delete(MetricPoint))
        app.state.runtime.collector.process = f"test:{uuid.uuid4().hex[:8]}"
        yield await create_token(app.state.db, "dashboard")


@pytest.fixture
async def linda(database_url: str) -> AsyncIterator[Linda]:
    app = dashboard_app(database_url)
    async with running(app) as token:
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://linda.test", headers=headers) as c:
            yield Linda(app, token, c)
