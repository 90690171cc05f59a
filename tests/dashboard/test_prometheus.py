"""/metrics: the monitor in Prometheus' text format, parsed back with prometheus_client's own parser."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from linda.monitoring.monitor import PerformanceMonitor
from linda.monitoring.prometheus import exporter_registry, exposition
from tests.dashboard.conftest import Linda, dashboard_app, running


def scrape(monitor: PerformanceMonitor) -> dict[str, Any]:
    body, content_type = exposition(exporter_registry(monitor))
    assert content_type.startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


def samples(family: Any, name: str | None = None, **labels: str) -> list[Sample]:
    return [
        s for s in family.samples if (name is None or s.name == name) and labels.items() <= s.labels.items()
    ]


def test_sketches_counters_and_gauges() -> None:
    monitor = PerformanceMonitor()
    for ms in range(1, 101):
        monitor.observe("webhook.ack", ms / 1000)
    token = monitor.start_timer("graph.send", account="111")
    monitor.end_timer(token, error=131026, result="error")
    monitor.increment("messages.out", 3, account="111")
    monitor.increment("statuses", 2, status="read")
    monitor.set_gauge("outbox.depth", 7)

    families = scrape(monitor)
    ack = families["linda_webhook_ack"]
    assert ack.type == "summary"
    quantiles = {s.labels["quantile"]: s.value for s in samples(ack, "linda_webhook_ack")}
    assert set(quantiles) == {"0.5", "0.95", "0.99", "0.999"}
    assert abs(quantiles["0.99"] - 0.099) <= 0.099 * 0.02
    assert samples(ack, "linda_webhook_ack_count")[0].value == 100
    assert abs(samples(ack, "linda_webhook_ack_sum")[0].value - 5.05) < 1e-9

    out = families["linda_messages_out"]
    assert out.type == "counter"
    assert [(s.name, s.labels, s.value) for s in out.samples] == [
        ("linda_messages_out_total", {"account": "111"}, 3)
    ]
    assert samples(families["linda_statuses"], status="read")[0].value == 2
    errors = families["linda_errors"]
    assert [(s.labels, s.value) for s in errors.samples] == [({"code": "131026", "op": "graph.send"}, 1)]
    send = samples(families["linda_graph_send"], "linda_graph_send_count", result="error")
    assert send[0].labels == {"account": "111", "result": "error"}
    assert families["linda_outbox_depth"].type == "gauge"
    assert families["linda_outbox_depth"].samples[0].value == 7
    assert "process_cpu_seconds" in families or "python_info" in families  # prometheus_client's own


def test_counts_never_fall_across_flushes() -> None:
    monitor = PerformanceMonitor(keep_intervals=3)
    registry = exporter_registry(monitor)

    def totals() -> tuple[float, float]:
        body, _ = exposition(registry)
        families = {f.name: f for f in text_string_to_metric_families(body.decode())}
        count = samples(families["linda_graph_send"], "linda_graph_send_count")[0].value
        return count, families["linda_messages_in"].samples[0].value

    monitor.observe("graph.send", 0.1)
    monitor.increment("messages.in")
    assert totals() == (1, 1)
    for n in range(2, 7):  # more flushes than the monitor keeps: each is added once, at a scrape
        monitor.flush()
        monitor.observe("graph.send", 0.1)
        monitor.increment("messages.in")
        assert totals() == (n, n)
        assert totals() == (n, n)


def test_openmetrics_when_asked() -> None:
    monitor = PerformanceMonitor()
    monitor.increment("messages.in")
    body, content_type = exposition(exporter_registry(monitor), "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")


async def test_served_at_slash_metrics_without_a_token_by_default(linda: Linda) -> None:
    linda.monitor.increment("messages.in", 4)
    async with linda.anonymous() as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert families["linda_messages_in"].samples[0].value == 4


async def test_with_metrics_public_off_it_needs_the_token(database_url: str) -> None:
    app = dashboard_app(database_url, metrics_public=False)
    async with running(app) as token:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://linda.test") as client:
            assert (await client.get("/metrics")).status_code == 401
            answer = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert "linda_" in answer.text or "process_" in answer.text
