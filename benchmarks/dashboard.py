"""Part 4 of benchmarks/monitoring.py: how long the dashboard takes to show an event, from the event to the
browser.

`linda serve --sandbox` on its defaults (the emulator inside the same server, monitoring on), a process of
its own on a fresh SQLite file; an API token from `linda token create`; headless Chromium (Debian's, launched
as tests/test_sandbox_chat.py does) signed in at /dashboard with the window "last hour". For each event, at
random gaps (so that events do not keep step with the stream's 0.25 s look), the page itself posts a
simulated user's text to /emulator/_emulator/inbound and times, on the browser's clock, from just before
that request until:
  ack    the emulator's answer (the event is in);
  sse    the first `metrics` event that counts the message, on a second stream of the same page from the
         hooks module's `useMetricsSubscription`;
  dom    the page's "received" count shows it (a MutationObserver);
  frame  the next animation frame after that: painted.
In between: the emulator's signed webhook, the inbox, the inbox processor (`messages.in`), the stream's next
look, the server-sent event, the page's update. The server is otherwise idle but for the sample bot's
greetings to each new user.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright
from tests.test_sandbox_chat import CHROMIUM, CHROMIUM_ARGS

from benchmarks import harness, webhook_ingest
from benchmarks.harness import HOST, Row

WINDOW = "3600"  # the page's longest window: no message leaves the count during a run
WARMUP_EVENTS = 3  # first contact, first statements: not timed
TIMEOUT_MS = 10_000
STAGES = ("ack", "sse", "dom", "frame")

SUBSCRIBE = """async (window) => {
  const { useMetricsSubscription } = await import("./hooks.js");
  globalThis.benchArrivals = [];
  await new Promise((resolve) => {
    useMetricsSubscription((event) => {
      if (event.type === "metrics") benchArrivals.push([performance.now(), event.data.messages.in.count]);
    }, { window, onStatus: (status) => { if (status === "open") resolve(); } });
  });
}"""

SAY = """async ({ from, expected, timeout }) => {
  const shownCount = () => Number(counter.textContent.replace(/[^0-9]/g, ""));
  const counter = document.querySelector('[data-testid="messages-in-count"]');
  const deadline = performance.now() + timeout;
  const shown = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (shownCount() < expected) return;
      observer.disconnect();
      const dom = performance.now();
      requestAnimationFrame(() => resolve([dom, performance.now()]));
    });
    observer.observe(counter, { childList: true, characterData: true, subtree: true });
    setTimeout(() => { observer.disconnect(); resolve(null); }, timeout);
  });
  const started = performance.now();
  const answer = await fetch("/emulator/_emulator/inbound", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ from, type: "text", text: { body: "hi" }, profile_name: "Benchmark" }),
  });
  const ack = performance.now();
  if (!answer.ok) throw new Error(`inbound answered ${answer.status}`);
  const painted = await shown;
  if (painted === null) return null;
  let arrival;
  while (!(arrival = benchArrivals.find(([at, count]) => at >= started && count >= expected))) {
    if (performance.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { ack: ack - started, sse: arrival[0] - started, dom: painted[0] - started, frame: painted[1] - started };
}"""


def dashboard_latency(args: argparse.Namespace) -> Row:
    with tempfile.TemporaryDirectory(prefix="linda-bench-") as folder:
        port = harness.free_port()
        env = harness.clean_env(LINDA_DATABASE_URL=f"sqlite:///{folder}/sandbox.db")
        linda = str(Path(sys.executable).parent / "linda")
        command = [linda, "serve", "--sandbox", "--host", HOST, "--port", str(port)]
        with harness.server(command, env, port, Path(folder)) as pid:
            made = subprocess.run(
                [linda, "token", "create", "--name", "benchmark"],
                env=env,
                cwd=folder,
                capture_output=True,
                text=True,
                check=True,
            )
            token = made.stdout.strip().splitlines()[-1]
            start = harness.CpuSample.take(pid, None)
            events = asyncio.run(browse(f"http://{HOST}:{port}", token, args))
            cpu = harness.CpuSample.take(pid, None).since(start)
    timed = [row for row in events[WARMUP_EVENTS:] if row is not None]
    stats = {stage: webhook_ingest.latency_stats([row[stage] / 1000 for row in timed]) for stage in STAGES}
    return {
        "events": len(events) - WARMUP_EVENTS,
        "warmup_events": WARMUP_EVENTS,
        "timed_out": sum(row is None for row in events[WARMUP_EVENTS:]),
        "milliseconds": stats,
        "raw": events,
        "server_cpu": cpu["server_cpu"],
        "machine_busy": cpu["machine_busy"],
        "chromium": CHROMIUM.resolve().name,
    }


async def browse(url: str, token: str, args: argparse.Namespace) -> list[dict[str, float] | None]:
    """Sign in, open a second stream, then send the events one by one; each one's times (ms), None if the
    page did not show it within the timeout."""
    rng = random.Random(args.seed)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1160})
            await page.goto(f"{url}/dashboard/")
            await page.get_by_test_id("token").fill(token)
            await page.get_by_test_id("sign-in").click()
            await page.get_by_test_id("window").select_option(WINDOW)
            await page.wait_for_selector("[data-testid=connection][data-state=open]", timeout=TIMEOUT_MS)
            await page.evaluate(SUBSCRIBE, int(WINDOW))
            events: list[dict[str, float] | None] = []
            for i in range(WARMUP_EVENTS + args.events):
                shown = await page.get_by_test_id("messages-in-count").text_content() or ""
                expected = int(re.sub(r"\D", "", shown) or 0) + 1
                said: Any = {"from": f"9715{i:08d}", "expected": expected, "timeout": TIMEOUT_MS}
                events.append(await page.evaluate(SAY, said))
                await asyncio.sleep(rng.uniform(0.1, 0.5))
            return events
        finally:
            await browser.close()


def report_dashboard(dashboard: Row) -> None:
    print(
        f"\n4. Dashboard, event to browser: {dashboard['events']} simulated users' messages to an idle "
        f"`linda serve --sandbox`, Chromium headless; ms from sending"
    )
    print(f"{'until':<34}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    titles = {
        "ack": "the emulator took it",
        "sse": "the metrics event reached the page",
        "dom": "the page shows it",
        "frame": "painted (next animation frame)",
    }
    for stage, title in titles.items():
        s = dashboard["milliseconds"][stage]
        cells = "".join(
            f"{s[key]:>8.0f}" if s[key] is not None else f"{'-':>8}"
            for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms")
        )
        print(f"{title:<34}{cells}")
    if dashboard["timed_out"]:
        print(f"{dashboard['timed_out']} events not shown within {TIMEOUT_MS / 1000:g} s")
