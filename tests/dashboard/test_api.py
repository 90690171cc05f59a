"""GET /api/metrics and /api/dashboard: the token, the filters, the shape, and every process counted once."""

from __future__ import annotations

import logging
import math
import time
import uuid
from datetime import UTC, datetime

import httpx

from linda.dashboard.api import RedactTokens
from linda.monitoring.history import write_interval
from linda.monitoring.monitor import Interval, labels_of
from linda.store.models import Alert
from linda.store.types import utcnow
from linda.whatsapp.errors import GraphAPIError
from tests.api.conftest import error
from tests.conftest import NUMBER, SECOND_NUMBER
from tests.dashboard.conftest import Linda, dashboard_app, running

UNKNOWN_TOKEN = "linda_" + "A" * 43


async def test_every_endpoint_needs_a_valid_token(linda: Linda) -> None:
    async with linda.anonymous() as client:
        for path in (
            "/api/metrics",
            "/api/dashboard",
            "/api/metrics/stream",
            f"/api/metrics/stream?token={UNKNOWN_TOKEN}",
            "/api/metrics/stream?token=",
        ):
            response = await client.get(path)
            assert error(response) == (401, "unauthorized", None), path
            assert response.headers["www-authenticate"] == "Bearer"
        bearer = {"Authorization": f"Bearer {UNKNOWN_TOKEN}"}
        assert (await client.get("/api/metrics/stream", headers=bearer)).status_code == 401
        assert (
            await client.get("/api/metrics", params={"token": linda.token})
        ).status_code == 401  # header only


async def test_metrics_by_operation(linda: Linda) -> None:
    monitor = linda.monitor
    for _ in range(3):
        monitor.end_timer(monitor.start_timer("graph.send", account=NUMBER.phone_number_id), result="sent")
    failure = GraphAPIError(131026, "Message undeliverable")
    monitor.end_timer(
        monitor.start_timer("graph.send", account=NUMBER.phone_number_id), error=failure, result="error"
    )
    monitor.observe("webhook.ack", 0.004)
    monitor.increment("messages.in")

    everything = (await linda.client.get("/api/metrics")).json()
    assert {"graph.send", "webhook.ack"} <= {o["name"] for o in everything["operations"]}
    sends = (await linda.client.get("/api/metrics", params={"operation": "graph.send"})).json()
    assert set(sends) == {"window_seconds", "operations", "counters", "gauges"}
    assert {o["name"] for o in sends["operations"]} == {"graph.send"}
    by_result = {o["labels"]["result"]: o for o in sends["operations"]}
    assert by_result["sent"]["count"] == 3 and by_result["sent"]["errors"] == 0
    assert by_result["error"]["errors"] == 1 and by_result["error"]["error_ratio"] == 1.0
    assert set(by_result["sent"]) >= {"rate", "mean", "max", "p50", "p95", "p99", "p999"}
    assert [(c["name"], c["labels"], c["value"]) for c in sends["counters"]] == [
        ("errors", {"op": "graph.send", "code": "131026"}, 1)
    ]
    assert sends["gauges"] == []


async def test_the_window_picks_the_stored_history_of_every_process(linda: Linda) -> None:
    linda.monitor.increment("messages.in", 2)
    now = time.time()
    resolution = linda.collector.resolution
    for ago, count in ((30, 5), (120, 7)):
        elsewhere = Interval(now - ago)
        elsewhere.counters[("messages.in", labels_of({}))] = count
        at = datetime.fromtimestamp(math.floor((now - ago) / resolution) * resolution, UTC)
        async with linda.app.state.db.transaction() as session:
            await write_interval(session, elsewhere, "worker-host:4242", at, resolution)

    async def received(window: int) -> float:
        body = (
            await linda.client.get("/api/metrics", params={"window": window, "operation": "messages"})
        ).json()
        assert 0 < body["window_seconds"] <= window
        return sum(c["value"] for c in body["counters"] if c["name"] == "messages.in")

    assert await received(60) == 2 + 5
    assert await received(300) == 2 + 5 + 7
    response = await linda.client.get("/api/metrics", params={"window": 0})
    assert error(response) == (422, "invalid_request", "window")


async def test_a_flush_moves_counts_to_history_without_counting_them_twice(linda: Linda) -> None:
    monitor = linda.monitor
    boundary = math.floor(time.time() / 10) * 10  # the collector closes intervals on the clock's 10 s marks
    monitor.current.started = boundary - 20
    monitor.increment("messages.in", 3)
    await linda.collector.cycle()  # samples, stores this process's interval, rolls up
    monitor.current.started = boundary - 10
    monitor.increment("messages.in", 2)

    async def received() -> float:
        count: float = (await linda.client.get("/api/dashboard")).json()["messages"]["in"]["count"]
        return count

    assert await received() == 5
    closed = monitor.flush()  # closed, not stored yet: still counted, once
    assert await received() == 5
    async with linda.app.state.db.transaction() as session:  # stored, as the collector does it
        at = datetime.fromtimestamp(boundary - 10, UTC)
        await write_interval(session, closed, linda.collector.process, at, linda.collector.resolution)
    assert await received() == 5
    monitor.increment("messages.in")
    await linda.collector.store_historical_data()
    assert await received() == 6


async def test_the_dashboard_has_everything_the_page_shows(linda: Linda) -> None:
    monitor = linda.monitor
    monitor.increment("messages.in", 6)
    monitor.increment("messages.out", 4, account=NUMBER.phone_number_id)
    for status, count in (("sent", 4), ("delivered", 3), ("read", 2), ("failed", 1)):
        monitor.increment("statuses", count, status=status)
    for ms in (2, 4, 8):
        monitor.observe("webhook.ack", ms / 1000)
    for account, code in ((NUMBER.phone_number_id, None), (SECOND_NUMBER.phone_number_id, 130429)):
        token = monitor.start_timer("graph.send", account=account)
        monitor.end_timer(token, error=code, result="error" if code else "sent")
    monitor.record_error_rate("webhook.refused", True, 403)
    monitor.set_gauge("inbox.backlog", 3)
    firing, resolved = f"firing-{uuid.uuid4().hex}", f"resolved-{uuid.uuid4().hex}"
    async with linda.app.state.db.transaction() as session:
        for rule, state in ((firing, "firing"), (resolved, "resolved")):
            session.add(
                Alert(
                    fingerprint=rule[:64], rule=rule, labels={}, severity="critical", state=state, value=0.5,
                    threshold=0.05, summary="Send errors at 50%", fired_at=utcnow(),
                )
            )  # fmt: skip

    data = (await linda.client.get("/api/dashboard", params={"window": 120})).json()
    assert set(data) == {
        "generated_at", "window_seconds", "monitoring", "messages", "latency", "errors", "funnel", "outbox",
        "inbox", "numbers", "alerts", "charts",
    }  # fmt: skip
    assert data["monitoring"] is True and 0 < data["window_seconds"] <= 120
    assert data["messages"]["in"]["count"] == 6 and data["messages"]["in"]["per_second"] > 0
    assert data["messages"]["out"]["count"] == 4
    latency = {row["name"]: row for row in data["latency"]}
    assert list(latency) == ["webhook.ack", "inbox.apply", "bot.handler", "graph.send"]
    assert latency["webhook.ack"]["count"] == 3
    assert abs(latency["webhook.ack"]["p50"] - 0.004) < 0.004 * 0.02
    assert latency["webhook.ack"]["max"] == 0.008
    assert latency["graph.send"]["count"] == 2 and latency["graph.send"]["errors"] == 1  # merged accounts
    assert latency["inbox.apply"]["count"] == 0 and latency["inbox.apply"]["p99"] is None
    assert (
        data["errors"]["sends"] == 2
        and data["errors"]["failed_sends"] == 1
        and data["errors"]["ratio"] == 0.5
    )
    assert data["errors"]["total"] == 2
    assert {(e["op"], e["code"], e["count"]) for e in data["errors"]["top"]} == {
        ("graph.send", "130429", 1),
        ("webhook.refused", "403", 1),
    }
    assert data["funnel"] == {"accepted": 4, "sent": 4, "delivered": 3, "read": 2, "failed": 1}
    assert data["outbox"]["depth"] == 0  # read from the database now
    assert data["inbox"] == {"backlog": 3, "dead": None}
    numbers = {n["phone_number_id"]: n for n in data["numbers"]}
    assert list(numbers) == [NUMBER.phone_number_id, SECOND_NUMBER.phone_number_id]
    main = numbers[NUMBER.phone_number_id]
    assert (main["name"], main["limit"], main["sent"]) == ("Main", 80, 4)
    assert main["utilization"] == main["per_second"] / 80
    assert numbers[SECOND_NUMBER.phone_number_id]["sent"] == 0
    alerts = {alert["rule"]: alert for alert in data["alerts"]}
    assert firing in alerts and resolved not in alerts
    assert alerts[firing]["summary"] == "Send errors at 50%" and alerts[firing]["severity"] == "critical"
    assert isinstance(data["charts"], dict)
    assert error(await linda.client.get("/api/dashboard", params={"window": 7200})) == (
        422,
        "invalid_request",
        "window",
    )


def test_tokens_in_query_strings_never_reach_the_access_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/metrics/stream?window=60&token={UNKNOWN_TOKEN}", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record)
    assert UNKNOWN_TOKEN not in record.getMessage()
    assert "/api/metrics/stream?window=60&token=… HTTP/1.1" in record.getMessage()


async def test_with_monitoring_off_the_dashboard_still_answers(database_url: str) -> None:
    app = dashboard_app(database_url, monitoring=False)
    async with running(app) as token:
        app.state.runtime.monitor.increment("messages.in", 5)  # measures nothing
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://linda.test", headers=headers
        ) as client:
            data = (await client.get("/api/dashboard")).json()
    assert data["monitoring"] is False
    assert data["messages"]["in"]["count"] == 0 and data["charts"] == {}
    assert data["outbox"]["depth"] == 0 and len(data["numbers"]) == 2
