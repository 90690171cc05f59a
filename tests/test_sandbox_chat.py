"""The sandbox chat page in headless Chromium (Debian's, driven by Playwright) against a real sandbox server."""

from __future__ import annotations

import contextlib
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from linda.app import create_app
from linda.sandbox import sandbox_app
from linda.settings import Settings
from tests.servers import free_port, serve
from tests.stack import sandbox_test_settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 15_000  # ms: the bot answers through the inbox, the outbox and the emulator's status delays

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect


@contextlib.asynccontextmanager
async def sandbox(tmp_path: Path) -> AsyncIterator[tuple[str, Any]]:
    """Linda in sandbox mode on a free loopback port, and a page of headless Chromium."""
    port = free_port()
    settings = sandbox_test_settings(tmp_path / "sandbox.db", port, emulator_status_delays=(0.05, 0.1, 0.2))
    app = create_app(settings)
    async with serve(app, port=port) as url, browser_page() as page:
        yield url, page


@contextlib.asynccontextmanager
async def browser_page() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert errors == [], errors
        finally:
            await browser.close()


async def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """A screenshot kept as a test artifact (in the test's tmp_path and in test-artifacts/)."""
    path = tmp_path / name
    await page.screenshot(path=str(path))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(path, ARTIFACTS / name)
    return path


async def start_chat(page: Any, url: str, phone: str, name: str) -> None:
    await page.goto(f"{url}/sandbox/")
    await page.get_by_test_id("new-phone").fill(phone)
    await page.get_by_test_id("new-name").fill(name)
    await page.get_by_test_id("create-user").click()
    await expect(page.get_by_test_id("chat-name")).to_have_text(name)
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open", timeout=WAIT)


async def test_hi_greeting_menu_rent_and_read_ticks(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (url, page):
        await start_chat(page, url, "+971 50 123 4567", "Ali")
        await expect(page.locator('[data-testid=user][data-wa-id="971501234567"]')).to_contain_text("Ali")

        await page.get_by_test_id("text").fill("hi")
        await page.get_by_test_id("text").press("Enter")
        messages = page.get_by_test_id("message")
        mine = page.locator('[data-testid=message][data-from="user"]')
        theirs = page.locator('[data-testid=message][data-from="business"]')
        await expect(mine.filter(has_text="hi")).to_have_count(1)

        greeting = theirs.filter(has_text="Welcome to Palm Homes")
        await expect(greeting).to_have_count(1, timeout=WAIT)
        menu = theirs.filter(has_text="How can we help you today?").last
        await expect(menu).to_be_visible(timeout=WAIT)
        rent = page.locator('[data-testid=reply-button][data-id="rent"]').last
        await expect(rent).to_have_text("Rent")
        await rent.click()

        await expect(mine.filter(has_text="Rent")).to_have_count(1, timeout=WAIT)
        await expect(theirs.filter(has_text="for rent")).to_have_count(1, timeout=WAIT)
        # Blue ticks: every bot message read by the user, every user message marked read by Linda.
        count = await messages.count()
        for index in range(count):
            ticks = messages.nth(index).get_by_test_id("ticks")
            await expect(ticks).to_have_attribute("data-state", "read", timeout=WAIT)
        await screenshot(page, tmp_path, "sandbox-chat.png")

        menu_id = await menu.get_attribute("data-id")
        async with httpx.AsyncClient(base_url=url) as client:
            chat = (await client.get("/emulator/_emulator/users/971501234567/chat")).json()["events"]
    tapped = [
        e["message"]
        for e in chat
        if e["kind"] == "message" and e["direction"] == "in" and e["message"]["type"] == "interactive"
    ]
    assert tapped == [
        {
            "from": "971501234567",
            "id": tapped[0]["id"],
            "timestamp": tapped[0]["timestamp"],
            "context": {"from": tapped[0]["context"]["from"], "id": menu_id},
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "rent", "title": "Rent"}},
        }
    ]


async def test_a_list_a_location_and_an_image(tmp_path: Path) -> None:
    picture = tmp_path / "flat.png"
    picture.write_bytes(png(48, 32, (0, 128, 105)))
    async with sandbox(tmp_path) as (url, page):
        await start_chat(page, url, "+44 7911 123456", "Emma")
        theirs = page.locator('[data-testid=message][data-from="business"]')
        mine = page.locator('[data-testid=message][data-from="user"]')
        await page.get_by_test_id("text").fill("menu")
        await page.get_by_test_id("send").click()
        await page.locator('[data-testid=reply-button][data-id="buy"]').last.click(timeout=WAIT)
        await page.get_by_test_id("list-button").last.click(timeout=WAIT)
        await expect(page.get_by_test_id("list-sheet")).to_be_visible()
        await page.locator('[data-testid=list-row][data-id="buy_marina"]').click()
        await expect(mine.filter(has_text="Dubai Marina")).to_have_count(1, timeout=WAIT)
        await expect(theirs.filter(has_text="Marina apartments")).to_have_count(1, timeout=WAIT)

        await page.get_by_test_id("send-location").click()
        await page.get_by_test_id("latitude").fill("25.2048")
        await page.get_by_test_id("longitude").fill("55.2708")
        await page.get_by_test_id("location-name").fill("Downtown")
        await page.get_by_test_id("location-send").click()
        await expect(mine.get_by_test_id("location")).to_contain_text("25.20480, 55.27080")

        await page.get_by_test_id("image-input").set_input_files(str(picture))
        await page.get_by_test_id("image-caption").fill("my flat")
        await page.get_by_test_id("image-send").click()
        sent_image = mine.filter(has_text="my flat").get_by_test_id("image")
        await expect(sent_image).to_be_visible(timeout=WAIT)
        assert await sent_image.evaluate("img => img.naturalWidth") == 48  # shown from the emulator's store

        await page.reload()
        await expect(page.get_by_test_id("chat-name")).to_have_text("Emma")  # the chat comes back
        await expect(mine.filter(has_text="my flat")).to_have_count(1, timeout=WAIT)
        await screenshot(page, tmp_path, "sandbox-chat-media.png")

        async with httpx.AsyncClient(base_url=url) as client:
            chat = (await client.get("/emulator/_emulator/users/447911123456/chat")).json()["events"]
    sent = {
        e["message"]["type"]: e["message"] for e in chat if e["kind"] == "message" and e["direction"] == "in"
    }
    assert sent["interactive"]["interactive"]["list_reply"] == {
        "id": "buy_marina",
        "title": "Dubai Marina",
        "description": "Waterfront living",
    }
    assert sent["location"]["location"] == {"latitude": 25.2048, "longitude": 55.2708, "name": "Downtown"}
    assert sent["image"]["image"]["caption"] == "my flat"
    assert sent["image"]["image"]["mime_type"] == "image/png"


async def test_without_the_emulator_the_page_says_what_is_missing(tmp_path: Path) -> None:
    async with serve(sandbox_app("../emulator")) as url, browser_page() as page:
        response = await page.goto(url + "/")
        assert response is not None and response.status == 200
        banner = page.get_by_test_id("banner")
        await expect(banner).to_be_visible()
        await expect(banner).to_contain_text("linda serve --sandbox")


async def test_no_sandbox_page_outside_sandbox_mode(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'x.db'}")  # type: ignore[call-arg]
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://linda") as client:
        assert (await client.get("/sandbox/")).status_code == 404


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small solid-colour PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
