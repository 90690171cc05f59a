"""The sandbox chat page: a simulated WhatsApp user's phone in the browser, on the emulator's own API.

Static files only (HTML, one ES module, CSS; no framework, no build step, nothing fetched from elsewhere),
served by `sandbox_app` where `linda serve --sandbox` mounts it (`/sandbox`).
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
SANDBOX_PREFIX = "/sandbox"


def sandbox_app(emulator_url: str) -> Starlette:
    """The page at the mount's root and its files under `static/`. `emulator_url` is where the page finds
    the emulator: relative to the page (e.g. "../emulator", so a proxy's path prefix is kept) or absolute."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{emulator_url}}", html.escape(emulator_url, quote=True))

    async def index(_: Request) -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    return Starlette(
        routes=[Route("/", index), Mount("/static", StaticFiles(directory=STATIC), name="static")]
    )
