"""The dashboard page in headless Chromium against a sandbox server: sign in, then watch traffic arrive live."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from linda.api.tokens import create_token
from linda.app import create_app
from tests.servers import free_port, serve
from tests.stack import sandbox_test_settings
from tests.test_sandbox_chat import CHROMIUM, WAIT, browser_page, expect, screenshot

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)

RULES = """
include_defaults: true
rules:
  - name: send_errors_now
    metric: graph.send
    aggregation: error_ratio
    window: 1m
    operator: ">"
    threshold: 0.1
    severity: warning
    summary: "{value:.1%} of sends failed in the last minute (limit {threshold:.0%})"
"""
HOOKS_METRICS = """async () => {
  const { usePerformanceMetrics } = await import("./hooks.js");
  const store = usePerformanceMetrics({ operation: "webhook", window: 60, interval: 100 });
  return await new Promise((resolve) => {
    const off = store.subscribe((state) => {
      if (state.data) { off(); store.stop(); resolve(state.data.operations.map((o) => o.name)); }
    });
  });
}"""
HOOKS_BAD_TOKEN = """async () => {
  const { useMetricsSubscription } = await import("./hooks.js");
  const seen = [];
  return await new Promise((resolve) => {
    useMetricsSubscription(() => {}, {
      token: "linda_" + "B".repeat(43),
      onStatus: (status) => { seen.push(status); if (status === "unauthorized") resolve(seen); },
    });
  });
}"""
USERS = [("971501110001", "Ali"), ("971501110002", "Sara"), ("447911110003", "Emma"), ("12025550104", "Omar")]


async def test_sign_in_and_see_messages_arrive_live(tmp_path: Path) -> None:
    port = free_port()
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES)
    settings = sandbox_test_settings(
        tmp_path / "dashboard.db",
        port,
        metrics_flush_seconds=1.0,  # the charts fill in seconds
        metrics_retention="1s:1h,1m:1d",
        alert_rules=str(rules),
    )
    app = create_app(settings)
    async with (
        serve(app, port=port) as url,
        browser_page() as page,
        httpx.AsyncClient(base_url=url) as client,
    ):
        await page.set_viewport_size({"width": 1280, "height": 1160})
        token = await create_token(app.state.db, "dashboard")
        await page.goto(f"{url}/dashboard")
        await expect(page.get_by_test_id("login-form")).to_be_visible()
        await page.get_by_test_id("token").fill("linda_" + "A" * 43)
        await page.get_by_test_id("sign-in").click()
        await expect(page.get_by_test_id("login-error")).to_contain_text("not valid")

        await page.get_by_test_id("token").fill(token)
        await page.get_by_test_id("sign-in").click()
        await expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open", timeout=WAIT)
        received = page.get_by_test_id("messages-in-count")
        await expect(received).to_have_text("0")
        await page.evaluate("window.stillTheSamePage = true")
        failing = USERS[-1][0]  # Meta refuses one send to this user: an error shows
        armed = await client.post("/emulator/_emulator/fail", json={"code": 131026, "to": failing})
        assert armed.status_code == 200

        for wa_id, name in USERS:
            said = await client.post(
                "/emulator/_emulator/inbound",
                json={"from": wa_id, "type": "text", "text": {"body": "hi"}, "profile_name": name},
            )
            assert said.status_code == 200
        await expect(received).to_have_text(str(len(USERS)), timeout=WAIT)
        assert await page.evaluate("window.stillTheSamePage === true")  # live: no reload

        # The sample bot greets each user with two messages; the emulator reports them sent, delivered, read.
        sent = 2 * len(USERS) - 1
        await expect(page.get_by_test_id("messages-out-count")).to_have_text(str(sent), timeout=WAIT)
        funnel = page.get_by_test_id("funnel")
        await expect(funnel.locator('[data-step="read"] .value')).to_contain_text(f"{sent} ·", timeout=WAIT)
        await expect(page.get_by_test_id("error-codes")).to_contain_text("131026")
        await expect(page.get_by_test_id("error-ratio")).to_have_text("12.5%")
        ack = page.locator('[data-testid=latency] tr[data-name="webhook.ack"] td').first
        await expect(ack).not_to_have_text("–")
        await expect(page.get_by_test_id("numbers")).to_contain_text("/ 80 msg/s")
        alert = page.get_by_test_id("alert")  # the rule fires at the next flush, and the page shows it
        await expect(alert).to_contain_text("send_errors_now", timeout=WAIT)
        await expect(alert).to_contain_text("12.5% of sends failed")
        await page.wait_for_timeout(2500)  # a few flushes: the charts have history
        await screenshot(page, tmp_path, "dashboard.png")

        # The hooks module, as another front end would use it (the token: the one this tab signed in with).
        operations = await page.evaluate(HOOKS_METRICS)
        assert "webhook.ack" in operations and all(name.startswith("webhook") for name in operations)
        assert await page.evaluate(HOOKS_BAD_TOKEN) == ["connecting", "unauthorized"]

        await page.get_by_test_id("window").select_option("300")
        await expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open", timeout=WAIT)
        await expect(received).to_have_text(str(len(USERS)))

        # The token stays for the tab: a reload shows the dashboard again; signing out forgets it.
        await page.reload()
        await expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open", timeout=WAIT)
        await expect(received).to_have_text(str(len(USERS)))
        await page.get_by_test_id("sign-out").click()
        await expect(page.get_by_test_id("login-form")).to_be_visible()
        assert await page.evaluate("sessionStorage.getItem('linda.token')") is None
