"""Reports: per operation counts, rates, errors, quantiles and trends; text, JSON and HTML; `linda report`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from linda.cli import app
from linda.monitoring.collector import MetricsCollector
from linda.monitoring.monitor import PerformanceMonitor
from linda.store.db import Database

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START.timestamp()

    def __call__(self) -> float:
        return self.now


async def record(
    db: Database, minutes: int, sends: Callable[[int], int], failures: int, at: datetime
) -> None:
    """`minutes` of traffic from `at`: sends(minute) graph.send calls a minute, some failing with 131056."""
    clock = Clock()
    clock.now = at.timestamp()
    collector = MetricsCollector(db, PerformanceMonitor(clock=clock))
    collector.monitor.flush()
    for minute in range(minutes):
        for n in range(sends(minute)):
            token = collector.monitor.start_timer("graph.send", account="A")
            collector.monitor.end_timer(token, error="131056" if n < failures else None)
            collector.monitor.observe("webhook.ack", 0.004 + 0.001 * (n % 10))
        collector.monitor.increment("messages.in", 10)
        clock.now += 60
        await collector.store_historical_data()


async def test_a_report_compares_the_period_with_the_one_before(db: Database) -> None:
    await record(db, 10, lambda m: 10, 0, START - timedelta(minutes=10))  # the period before
    await record(db, 10, lambda m: 20, 2, START)
    clock = Clock()  # the report is made as the period ends (the history of a day ago would be rolled up)
    clock.now = (START + timedelta(minutes=10)).timestamp()
    collector = MetricsCollector(db, PerformanceMonitor(clock=clock))
    report = await collector.generate_report(START, START + timedelta(minutes=10))

    send = next(r for r in report.operations if r.name == "graph.send")
    assert send.count == 200 and send.rate == pytest.approx(200 / 600)
    assert send.error_rate == pytest.approx(0.1) and send.count_change == pytest.approx(1.0)
    assert report.top_errors == [{"op": "graph.send", "code": "131056", "count": 20}]
    counter = next(c for c in report.counters if c.name == "messages.in")
    assert counter.total == 100 and counter.change == pytest.approx(0.0)
    assert [c["title"] for c in report.charts][:2] == ["webhook ack p99 (s)", "sends per second"]

    text = report.to_text()
    assert "graph.send account=A" in text and "10.0%" in text and "count +100%" in text and "131056" in text
    data = json.loads(report.to_json())
    assert data["operations"][0]["name"] == "graph.send" and data["since"] == START.isoformat()
    page = report.to_html()
    assert page.startswith("<!doctype html>") and page.count("<svg") == len(report.charts) >= 3
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from the network


def test_linda_report_prints_writes_and_refuses_bad_options(env: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--since", "1h"])
    assert result.exit_code == 0 and "Linda report" in result.output
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--since", "7d", "--format", "html", "--output", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("<!doctype html>")
    result = runner.invoke(app, ["report", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["operations"] == []
    assert runner.invoke(app, ["report", "--format", "pdf"]).exit_code == 2
    bad = runner.invoke(app, ["report", "--since", "yesterday"])
    assert bad.exit_code == 2 and "not a duration" in bad.output
