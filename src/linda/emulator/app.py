"""The emulator as an ASGI app, and a standalone runner for `linda emulator`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from linda.emulator.chat_api import chat_router
from linda.emulator.control import control_router
from linda.emulator.graph import messages_router
from linda.emulator.media import media_router

if TYPE_CHECKING:
    from linda.emulator.emulator import Emulator
    from linda.settings import Settings


def create_emulator_app(emulator: Emulator) -> FastAPI:
    """Graph API + control API. The lifespan runs the webhook emitter when the app runs standalone; when the
    app is mounted in another one, the host calls `emulator.start()` / `stop()` itself."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    app = FastAPI(
        title="Linda's WhatsApp Cloud API emulator",
        lifespan=lifespan,
        docs_url="/_emulator/docs",
        redoc_url=None,
        openapi_url="/_emulator/openapi.json",
    )
    # Order matters: the fixed paths must win over the Graph API's two-segment `/{version}/{id}` route.
    app.include_router(control_router(emulator))
    app.include_router(chat_router(emulator))
    app.include_router(messages_router(emulator))
    app.include_router(media_router(emulator))
    return app


def emulator_from_settings(settings: Settings, *, webhook_path: str = "/webhooks/whatsapp") -> Emulator:
    """An emulator serving the numbers declared in settings and posting webhooks to Linda's public URL.

    It knows Meta's sample template `hello_world` (en_US, no parameters), which every new business account
    has; add others with `POST /_emulator/templates`.
    """
    from linda.accounts import SANDBOX_ACCOUNT
    from linda.emulator.emulator import Emulator
    from linda.emulator.state import EmulatedNumber, Template

    numbers = [
        EmulatedNumber(
            phone_number_id=account.phone_number_id,
            display_phone_number=account.display_phone_number,
            waba_id=account.waba_id or "WABA1",
            access_token=account.access_token or settings.access_token,
            throughput_per_second=settings.emulator_throughput,
        )
        for account in settings.all_accounts() or [SANDBOX_ACCOUNT]
    ]
    return Emulator(
        app_secret=settings.app_secret,
        webhook_url=settings.emulator_webhook_url or settings.base_url.rstrip("/") + webhook_path,
        numbers=numbers,
        templates=[Template("hello_world", "en_US", {})],
        status_delays=settings.emulator_status_delays,
    )


def run(emulator: Emulator, host: str = "127.0.0.1", port: int = 8001, *, log_level: str = "info") -> None:
    """Serve the emulator until interrupted (blocking); the app's lifespan starts and stops the emitter."""
    uvicorn.run(emulator.app, host=host, port=port, log_level=log_level)
