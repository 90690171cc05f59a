"""Alert notifications for real: a signed webhook to a loopback server, and WhatsApp texts to admins through
Linda's outbox, senders and the emulator (grouped, rate-limited, held back outside the 24 h window)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linda.monitoring.alerts import AlertEvaluator
from linda.monitoring.monitor import PerformanceMonitor
from linda.monitoring.notify import SIGNATURE_HEADER, WebhookNotifier
from linda.store.db import Database
from linda.store.models import AlertDelivery, OutboxItem
from linda.store.types import utcnow
from linda.whatsapp.signature import is_valid
from tests.conftest import NUMBER
from tests.monitoring.alerting import Feed, clean_alerts, rule
from tests.servers import serve
from tests.stack import Stack, eventually, running_stack

SECRET = "alert-secret"
ADMIN, OTHER = "971501110001", "971501110002"


@pytest.fixture
async def alerts_db(db: Database) -> AsyncIterator[Database]:
    async with clean_alerts(db):
        yield db


class Receiver:
    """A webhook endpoint that keeps what it got, answering `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.got: list[tuple[bytes, dict[str, str]]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.got.append((await request.body(), dict(request.headers)))
        return Response(status_code=self.status)


def depth(value: float) -> Any:
    return lambda monitor: monitor.set_gauge("outbox.depth", value)


async def test_the_webhook_gets_each_change_signed(alerts_db: Database) -> None:
    receiver = Receiver()
    feed = Feed(alerts_db)
    async with serve(receiver.app) as url:
        webhook = WebhookNotifier(url + "/hook", SECRET)
        r = rule(
            name="depth", metric="outbox.depth", threshold=100, severity="critical", labels={"team": "ops"}
        )
        evaluator = AlertEvaluator(alerts_db, [r], notifiers=[webhook])
        await evaluator.evaluate(feed.collector, await feed.tick(depth(500)))
        await evaluator.evaluate(feed.collector, await feed.tick(depth(400)))  # no change: nothing sent
        await evaluator.evaluate(feed.collector, await feed.tick(depth(0)))
    assert len(receiver.got) == 2
    for body, headers in receiver.got:
        assert is_valid(SECRET, body, headers[SIGNATURE_HEADER.lower()])
        assert headers["content-type"] == "application/json"
    firing, resolved = (json.loads(body) for body, _ in receiver.got)
    assert firing["source"] == "linda"
    [alert] = firing["alerts"]
    assert {k: alert[k] for k in ("rule", "state", "severity", "labels", "value", "threshold")} == {
        "rule": "depth",
        "state": "firing",
        "severity": "critical",
        "labels": {"team": "ops"},
        "value": 500,
        "threshold": 100,
    }
    assert [a["state"] for a in resolved["alerts"]] == ["resolved"]
    assert resolved["alerts"][0]["fingerprint"] == alert["fingerprint"]


async def test_a_failing_webhook_is_logged_and_the_alert_still_recorded(
    alerts_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="linda.monitoring.notify")
    receiver = Receiver(status=500)
    feed = Feed(alerts_db)
    async with serve(receiver.app) as url:
        broken = [WebhookNotifier(url + "/hook"), WebhookNotifier("http://127.0.0.1:9/hook", timeout=2)]
        evaluator = AlertEvaluator(alerts_db, [rule(name="depth", metric="outbox.depth", threshold=1)])
        evaluator.notifiers += broken
        [change] = await evaluator.evaluate(feed.collector, await feed.tick(depth(5)))
    assert change.state == "firing"
    [(_, headers)] = receiver.got
    assert SIGNATURE_HEADER.lower() not in headers  # no secret, no signature
    assert "/hook answered 500" in caplog.text
    assert "alert webhook http://127.0.0.1:9/hook failed" in caplog.text
    assert "alert firing depth {}" in caplog.text  # the log always has it


def rules_file(tmp_path: Path) -> str:
    path = tmp_path / "alerts.yaml"
    path.write_text(
        """
rules:
  - {name: queue_deep, metric: outbox.depth, aggregation: value, threshold: 100,
     summary: "{value:.0f} messages wait"}
  - {name: dead_letters, metric: inbox.dead, aggregation: value, threshold: 0, keep_firing_for: 1h,
     severity: critical, summary: "{value:.0f} dead letters"}
"""
    )
    return str(path)


async def say_hi(stack: Stack, user: str) -> None:
    await stack.emulator.user_sends(NUMBER.phone_number_id, user, {"type": "text", "text": {"body": "hi"}})
    await stack.inbox_settled()


def texts(stack: Stack, user: str) -> list[str]:
    return [
        str(r.body["text"]["body"]) for r in stack.emulator.sent_messages(user) if r.body["type"] == "text"
    ]


async def queued_to(stack: Stack, user: str) -> int:
    async with stack.db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.recipient == user)
        )
    return int(count or 0)


async def sent(stack: Stack, user: str, count: int) -> list[str]:
    async def arrived() -> bool:
        return len(texts(stack, user)) >= count

    await eventually(arrived)
    return texts(stack, user)


async def test_admins_get_grouped_rate_limited_texts_through_the_emulator(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    overrides = {
        "alert_rules": rules_file(tmp_path),
        "alert_admins": ["+" + ADMIN, OTHER],
        "alert_whatsapp_min_seconds": 300,
        "monitoring": False,
    }
    async with running_stack(database_url, **overrides) as stack, clean_alerts(stack.db):
        evaluator = AlertEvaluator.from_settings(
            stack.settings, stack.db, on_queued=stack.app.state.runtime.notify_outbox
        )
        await say_hi(stack, ADMIN)  # ADMIN wrote in: free-form texts may go; OTHER did not
        feed = Feed(stack.db, start=utcnow().replace(microsecond=0))

        def trouble(monitor: PerformanceMonitor) -> None:
            monitor.set_gauge("outbox.depth", 500)
            monitor.set_gauge("inbox.dead", 3)

        first = await evaluator.evaluate(feed.collector, t1 := await feed.tick(trouble))
        assert sorted(c.rule for c in first) == ["dead_letters", "queue_deep"]
        [grouped] = await sent(stack, ADMIN, 1)
        assert grouped.startswith("Linda: 2 alert changes\n")
        assert "FIRING" in grouped and "queue_deep: 500 messages wait" in grouped
        assert "[critical] dead_letters: 3 dead letters" in grouped
        assert "not queued (outside_service_window)" in caplog.text
        assert await queued_to(stack, OTHER) == 0

        def better(monitor: PerformanceMonitor) -> None:
            monitor.set_gauge("outbox.depth", 0)
            monitor.set_gauge("inbox.dead", 3)

        [resolved] = await evaluator.evaluate(feed.collector, await feed.tick(better))
        assert (resolved.rule, resolved.state) == ("queue_deep", "resolved")
        assert await queued_to(stack, ADMIN) == 1  # held back: ADMIN had a text less than 300 s ago

        await say_hi(stack, OTHER)  # the window opens: OTHER gets everything held back, in one text
        assert await evaluator.evaluate(feed.collector, await feed.tick(better)) == []
        [caught_up] = await sent(stack, OTHER, 1)
        assert caught_up.startswith("Linda: 3 alert changes\n") and caught_up.count("RESOLVED") == 1

        assert await evaluator.evaluate(feed.collector, t1 + timedelta(seconds=301)) == []
        _, later = await sent(stack, ADMIN, 2)
        assert later.startswith("Linda: 1 alert change\n") and "RESOLVED" in later and "queue_deep" in later
        assert await queued_to(stack, OTHER) == 1
        async with stack.db.read() as session:
            deliveries = {d.recipient: d for d in await session.scalars(select(AlertDelivery))}
        assert set(deliveries) == {"+" + ADMIN, "+" + OTHER}


async def test_an_admin_outside_the_window_gets_the_fallback_template(
    database_url: str, tmp_path: Path
) -> None:
    overrides = {
        "alert_rules": rules_file(tmp_path),
        "alert_admins": [ADMIN],
        "fallback_template": "hello:en_US",
        "monitoring": False,
    }
    async with running_stack(database_url, **overrides) as stack, clean_alerts(stack.db):
        evaluator = AlertEvaluator.from_settings(stack.settings, stack.db)
        feed = Feed(stack.db, start=utcnow().replace(microsecond=0))
        await evaluator.evaluate(feed.collector, await feed.tick(lambda m: m.set_gauge("inbox.dead", 1)))
        stack.app.state.runtime.notify_outbox()

        async def template_sent() -> bool:
            return any(r.body["type"] == "template" for r in stack.emulator.sent_messages(ADMIN))

        await eventually(template_sent)
