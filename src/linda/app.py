"""The FastAPI application: webhooks in, health, and in sandbox mode the emulator mounted at /emulator."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from linda import __version__
from linda.accounts import SANDBOX_ACCOUNT
from linda.api.router import install_api
from linda.dashboard import Dashboard, install_dashboard
from linda.emulator import Emulator, emulator_from_settings
from linda.inbox.processor import counts
from linda.inbox.receiver import WebhookEndpoint
from linda.inbox.writer import InboxWriter
from linda.runtime import Runtime
from linda.sandbox import SANDBOX_PREFIX, sandbox_app
from linda.settings import Settings, get_settings
from linda.store.db import Database

EMULATOR_PREFIX = "/emulator"


def sandbox_settings(settings: Settings) -> Settings:
    """Sandbox mode: Linda talks to the emulator mounted in this same server, on a sandbox number, and marks
    messages read (blue ticks in the sandbox chat) unless LINDA_MARK_AS_READ says otherwise."""
    return settings.model_copy(
        update={
            "graph_api_url": settings.base_url.rstrip("/") + EMULATOR_PREFIX,
            "accounts": settings.all_accounts() or [SANDBOX_ACCOUNT],
            "mark_as_read": settings.mark_as_read or "mark_as_read" not in settings.model_fields_set,
        }
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.sandbox:
        settings = sandbox_settings(settings)
    db = Database(settings.database_url)
    inbox = InboxWriter(db)
    runtime = Runtime(settings, db, webhook_pressure=inbox.pressure)
    board = Dashboard(
        db,
        runtime.monitor,
        runtime.collector,
        monitoring=settings.monitoring,
        flush_seconds=settings.metrics_flush_seconds,
    )
    emulator: Emulator | None = emulator_from_settings(settings) if settings.sandbox else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.prepare()
        await inbox.start()
        if emulator is not None:
            await emulator.start()
        await runtime.start()
        try:
            yield
        finally:
            await board.stop()
            await inbox.stop()
            await runtime.stop()
            if emulator is not None:
                await emulator.stop()
            await db.dispose()

    # Linda measures itself (monitoring/); FastAPI's own OpenTelemetry hooks look for providers on every
    # request, which cost more CPU per webhook than all of Linda's measurements (benchmarks/monitoring.py).
    no_telemetry: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
    app = FastAPI(title="Linda", version=__version__, lifespan=lifespan, telemetry=no_telemetry)
    app.state.settings = settings
    app.state.db = db
    app.state.runtime = runtime
    app.state.emulator = emulator
    app.router.routes.append(WebhookEndpoint(settings, inbox, runtime.notify_inbox, runtime.monitor).route())
    install_api(app)
    install_dashboard(app, board, metrics_public=settings.metrics_public)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, object]:
        """Liveness and the inbox's rows per state."""
        return {
            "status": "ok",
            "version": __version__,
            "sandbox": settings.sandbox,
            "inbox": await counts(db),
        }

    if emulator is not None:
        app.mount(EMULATOR_PREFIX, emulator.app)
        app.mount(SANDBOX_PREFIX, sandbox_app(".." + EMULATOR_PREFIX))
    return app
