"""Alerts evaluated against metrics stored by real collectors, on SQLite and PostgreSQL: the default rules,
label sets, no data, several evaluating processes, removed rules, reloading, history."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from linda.monitoring.alert_rules import load_rules
from linda.monitoring.alerts import AlertEvaluator, alert_history, get_alerts, memory_limit
from linda.monitoring.monitor import PerformanceMonitor
from linda.store.db import Database
from tests.monitoring.alerting import Feed, clean_alerts, rule, sends

LIMIT = 1_000_000_000


@pytest.fixture
async def alerts_db(db: Database) -> AsyncIterator[Database]:
    async with clean_alerts(db):
        yield db


def trouble(monitor: PerformanceMonitor) -> None:
    """Everything the default rules watch, going wrong at once."""
    for _ in range(30):
        monitor.observe("webhook.ack", 0.4)
    sends(monitor, ok=24, failed=6)  # 20% fail, with Meta's 131056 (pair rate limit)
    monitor.set_gauge("outbox.oldest_due_seconds", 120)
    monitor.set_gauge("inbox.dead", 2)
    monitor.set_gauge("process.rss_bytes", 0.9 * LIMIT)


def calm(monitor: PerformanceMonitor) -> None:
    for _ in range(30):
        monitor.observe("webhook.ack", 0.05)
    sends(monitor, ok=30, failed=0)
    monitor.set_gauge("outbox.oldest_due_seconds", 0)
    monitor.set_gauge("inbox.dead", 0)
    monitor.set_gauge("process.rss_bytes", 0.5 * LIMIT)


async def test_every_default_rule_fires_on_its_trouble_and_resolves_once(alerts_db: Database) -> None:
    feed = Feed(alerts_db)
    evaluator = AlertEvaluator(alerts_db, load_rules(), memory_limit_bytes=LIMIT)
    fired: list[str] = []
    for _ in range(6 * 8):  # 8 minutes of trouble
        now = await feed.tick(trouble)
        for change in await evaluator.evaluate(feed.collector, now):
            assert change.state == "firing" and change.rule not in fired
            fired.append(change.rule)
    firing = {a.rule: a for a in await get_alerts(alerts_db, "firing")}
    assert set(firing) == {rule.name for rule in load_rules()}
    assert firing["send_error_ratio"].labels == {"account": "111"}
    assert firing["send_error_ratio"].value == pytest.approx(0.2)
    assert firing["meta_limit_errors"].labels == {"code": "131056"}
    assert firing["memory_high"].summary == "A process uses 90% of the memory limit (limit 85%)"
    ack = firing["webhook_ack_slow"]
    assert ack.fired_at is not None and ack.pending_since is not None
    assert (ack.fired_at - ack.pending_since).total_seconds() >= 300  # `for: 5m`

    for _ in range(6 * 12):  # 12 calm minutes
        now = await feed.tick(calm)
        for change in await evaluator.evaluate(feed.collector, now):
            assert change.state == "resolved"
    assert await get_alerts(alerts_db, "firing") == []
    assert len(await get_alerts(alerts_db, "resolved")) == 6
    history = await alert_history(alerts_db)
    per_rule: dict[str, list[str]] = {}
    for event in reversed(history):  # newest first
        per_rule.setdefault(event.rule, []).append(event.state)
    assert per_rule == {name: ["firing", "resolved"] for name in firing}
    assert len(await alert_history(alerts_db, limit=3)) == 3
    assert await alert_history(alerts_db, since=feed.later(1)) == []


async def test_one_alert_per_label_set_and_no_data_resolves_it(alerts_db: Database) -> None:
    feed = Feed(alerts_db)
    r = rule(
        name="errors",
        metric="graph.send",
        aggregation="error_ratio",
        by=["account"],
        threshold=0.1,
        window=60,
        keep_firing_for=30,
        summary="{value:.0%} failed from {account}",
    )
    evaluator = AlertEvaluator(alerts_db, [r])

    def mixed(monitor: PerformanceMonitor) -> None:
        sends(monitor, ok=5, failed=5, account="A")
        sends(monitor, ok=10, failed=0, account="B")

    [change] = await evaluator.evaluate(feed.collector, await feed.tick(mixed))
    assert (change.state, change.labels, change.summary) == ("firing", {"account": "A"}, "50% failed from A")
    assert await evaluator.evaluate(feed.collector, await feed.tick(mixed)) == []  # deduplicated
    [alert] = await get_alerts(alerts_db)
    assert (alert.state, alert.labels) == ("firing", {"account": "A"})

    def only_b(monitor: PerformanceMonitor) -> None:
        sends(monitor, ok=10, failed=0, account="B")

    changes = []
    for _ in range(12):  # A stops sending: once its last point leaves the window, A has no data
        changes += await evaluator.evaluate(feed.collector, await feed.tick(only_b))
    [resolved] = changes
    assert (resolved.state, resolved.value, resolved.labels) == ("resolved", None, {"account": "A"})
    assert resolved.summary == "50% failed from A (no data now)"


async def test_several_processes_evaluating_record_each_change_once(
    alerts_db: Database, database_url: str
) -> None:
    feed = Feed(alerts_db)
    r = rule(name="depth", metric="outbox.depth", threshold=100)
    other = Database(database_url)
    try:
        now = await feed.tick(lambda m: m.set_gauge("outbox.depth", 500))
        evaluators = [AlertEvaluator(alerts_db, [r]), AlertEvaluator(other, [r]), AlertEvaluator(other, [r])]
        results = await asyncio.gather(*(e.evaluate(feed.collector, now) for e in evaluators))
    finally:
        await other.dispose()
    assert sorted(len(changes) for changes in results) == [0, 0, 1]
    assert [e.state for e in await alert_history(alerts_db)] == ["firing"]


async def test_an_alert_whose_rule_is_gone_resolves(alerts_db: Database) -> None:
    feed = Feed(alerts_db)
    firing = rule(name="depth", metric="outbox.depth", threshold=100)
    pending = rule(name="slow", metric="outbox.depth", threshold=100, **{"for": "10m"})
    now = await feed.tick(lambda m: m.set_gauge("outbox.depth", 500))
    await AlertEvaluator(alerts_db, [firing, pending]).evaluate(feed.collector, now)
    assert {a.rule: a.state for a in await get_alerts(alerts_db)} == {"depth": "firing", "slow": "pending"}
    [change] = await AlertEvaluator(alerts_db, []).evaluate(feed.collector, feed.later(10))
    assert (change.rule, change.state, change.summary) == ("depth", "resolved", "the rule depth was removed")
    assert [(a.rule, a.state) for a in await get_alerts(alerts_db)] == [("depth", "resolved")]


async def test_a_pending_alert_that_stops_leaves_nothing_behind(alerts_db: Database) -> None:
    feed = Feed(alerts_db)
    evaluator = AlertEvaluator(
        alerts_db, [rule(name="d", metric="outbox.depth", threshold=10, **{"for": 60})]
    )
    await evaluator.evaluate(feed.collector, await feed.tick(lambda m: m.set_gauge("outbox.depth", 50)))
    assert [a.state for a in await get_alerts(alerts_db)] == ["pending"]
    await evaluator.evaluate(feed.collector, await feed.tick(lambda m: m.set_gauge("outbox.depth", 0)))
    assert await get_alerts(alerts_db) == [] and await alert_history(alerts_db) == []


async def test_an_edited_rules_file_is_reloaded_and_a_broken_edit_is_not(
    alerts_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - {name: d, metric: outbox.depth, aggregation: value, threshold: 100}\n")
    evaluator = AlertEvaluator(alerts_db, rules_path=str(path))
    feed = Feed(alerts_db)
    now = await feed.tick(lambda m: m.set_gauge("outbox.depth", 50))
    assert await evaluator.evaluate(feed.collector, now) == []
    path.write_text("rules:\n  - {name: d, metric: outbox.depth, aggregation: value, threshold: 10}\n")
    os.utime(path, (1, 1))
    [change] = await evaluator.evaluate(feed.collector, now)
    assert change.threshold == 10
    path.write_text("rules:\n  - {name: d, metric: outbox.depth, aggregation: value}\n")
    os.utime(path, (2, 2))
    assert await evaluator.evaluate(feed.collector, feed.later(10)) == []
    assert [r.threshold for r in evaluator.rules] == [10]
    assert "alert rules not reloaded" in caplog.text and "threshold: Field required" in caplog.text


def test_memory_limit_is_the_setting_or_the_machines_memory() -> None:
    assert memory_limit(2048) == 2048
    machine = memory_limit(None)
    assert machine is not None and machine > 64 * 1024 * 1024
