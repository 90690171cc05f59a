"""GET /api/metrics/stream on a real server: fresh data right after an event, alerts, heartbeats, and no
work left behind when the last listener goes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from linda.api.tokens import create_token
from linda.dashboard import Dashboard
from tests.api.conftest import clear_tokens
from tests.dashboard.conftest import dashboard_app
from tests.servers import serve
from tests.stack import eventually


async def events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The server-sent events of a streamed response, as {"event", "id", "data"}."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            event[field] = value.removeprefix(" ")


async def next_event(
    stream: AsyncIterator[dict[str, Any]], kind: str, timeout: float = 5.0
) -> dict[str, Any]:
    async def find() -> dict[str, Any]:
        async for event in stream:
            if event.get("event") == kind:
                return {**event, "data": json.loads(event["data"])}
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(find(), timeout)


async def test_the_stream_pushes_changes_alerts_and_heartbeats(database_url: str) -> None:
    app = dashboard_app(database_url)
    board: Dashboard = app.state.dashboard
    board.heartbeat_seconds = 0.3
    monitor = app.state.runtime.monitor
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        await clear_tokens(app.state.db)
        token = await create_token(app.state.db, "stream")
        params = {"token": token, "window": "60"}
        async with client.stream("GET", "/api/metrics/stream", params=params) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = events(response)
            first = await next_event(stream, "metrics")
            assert first["data"]["messages"]["in"]["count"] == 0
            assert int(first["id"]) >= 1

            monitor.increment("messages.in", 2)
            # a tick is 0.25 s: the change is on its way well within a second
            changed = await next_event(stream, "metrics", timeout=1.0)
            assert changed["data"]["messages"]["in"]["count"] == 2
            assert int(changed["id"]) > int(first["id"])

            app.state.runtime.collector.publish(
                {"event": "alert", "data": {"rule": "send_errors", "state": "firing"}}
            )
            alert = await next_event(stream, "alert")
            assert alert["data"] == {"rule": "send_errors", "state": "firing"}
            assert (await next_event(stream, "heartbeat"))["data"] == {}

            # a second listener of the same window shares the work and starts with the newest data
            headers = {"Authorization": f"Bearer {token}"}
            async with client.stream("GET", "/api/metrics/stream", headers=headers) as other:
                again = await next_event(events(other), "metrics")
                assert again["data"]["messages"]["in"]["count"] == 2
                assert board.hub(60).feed.subscribers == 2

        hub = board.hub(60)

        async def all_gone() -> bool:
            return hub.feed.subscribers == 0 and hub._task is not None and hub._task.done()

        await eventually(all_gone, timeout=5)


async def test_a_stream_without_a_collector_still_ticks(database_url: str) -> None:
    app = dashboard_app(database_url)
    board: Dashboard = app.state.dashboard
    board.collector = board.view.collector = None  # a process that stores no history
    board.refresh_seconds = 0.2
    async with serve(app):
        subscription, latest = board.subscribe(30)
        assert latest is None
        try:
            first = await asyncio.wait_for(subscription.next(), 5)
            second = await asyncio.wait_for(
                subscription.next(), 5
            )  # nothing changed: sent again all the same
        finally:
            subscription.close()
    assert first is not None and second is not None
    assert first["event"] == second["event"] == "metrics"
    assert second["data"]["charts"] == {} and second["data"]["window_seconds"] <= 30
