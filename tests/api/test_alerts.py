"""GET /api/alerts and /api/alerts/history: current alerts by state, the history in pages."""

from __future__ import annotations

from collections.abc import Callable

from linda.monitoring.alerts import AlertEvaluator
from linda.monitoring.monitor import PerformanceMonitor
from tests.api.conftest import Api, error
from tests.monitoring.alerting import Feed, clean_alerts, rule


async def test_alerts_and_their_history(api: Api) -> None:
    async with clean_alerts(api.db):
        await alerts_and_their_history(api)


async def alerts_and_their_history(api: Api) -> None:
    feed = Feed(api.db)
    rules = [
        rule(name="deep", metric="outbox.depth", threshold=100, summary="{value:.0f} waiting"),
        rule(name="dead", metric="inbox.dead", threshold=0, severity="critical"),
        rule(name="slow", metric="inbox.dead", threshold=0, **{"for": "10m"}),
    ]
    evaluator = AlertEvaluator(api.db, rules)

    def trouble(depth: float) -> Callable[[PerformanceMonitor], None]:
        def measure(monitor: PerformanceMonitor) -> None:
            monitor.set_gauge("outbox.depth", depth)
            monitor.set_gauge("inbox.dead", 2)

        return measure

    await evaluator.evaluate(feed.collector, await feed.tick(trouble(500)))
    await evaluator.evaluate(feed.collector, await feed.tick(trouble(0)))

    everything = (await api.client.get("/api/alerts")).json()
    assert [(a["rule"], a["state"]) for a in everything["data"]] == [
        ("slow", "pending"),
        ("dead", "firing"),
        ("deep", "resolved"),
    ]
    deep = everything["data"][2]
    assert deep["summary"] == "0 waiting" and deep["threshold"] == 100 and deep["resolved_at"] is not None
    firing = (await api.client.get("/api/alerts", params={"state": "firing"})).json()
    assert [a["rule"] for a in firing["data"]] == ["dead"]
    assert error(await api.client.get("/api/alerts", params={"state": "on fire"}))[:2] == (
        422,
        "invalid_request",
    )

    page = (await api.client.get("/api/alerts/history", params={"limit": 2})).json()
    assert [(e["rule"], e["state"]) for e in page["data"]] == [("deep", "resolved"), ("dead", "firing")]
    assert page["data"][0]["message"] == "0 waiting" and page["data"][1]["severity"] == "critical"
    rest = (
        await api.client.get("/api/alerts/history", params={"limit": 2, "cursor": page["next_cursor"]})
    ).json()
    assert [(e["rule"], e["state"]) for e in rest["data"]] == [("deep", "firing")] and rest[
        "next_cursor"
    ] is None
    later = feed.later(1).isoformat()
    assert (await api.client.get("/api/alerts/history", params={"since": later})).json()["data"] == []
    assert error(await api.client.get("/api/alerts/history", params={"cursor": page["next_cursor"] + "x"}))[
        :2
    ] == (
        400,
        "invalid_cursor",
    )
    assert (await api.anonymous().get("/api/alerts")).status_code == 401
