"""The live dashboard: its API (`/api/metrics`, `/api/dashboard`, the `/api/metrics/stream` of server-sent
events), the page at `/dashboard` with the browser hooks module it is built on (`/dashboard/hooks.js`), and
the Prometheus exposition at `/metrics`.

The page and the module are static files (no framework, no build step, nothing fetched from elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.applications import Starlette
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from linda.api.auth import require_token
from linda.api.errors import API_PREFIX
from linda.api.router import ERRORS
from linda.dashboard.api import redact_access_log, router, stream_router
from linda.dashboard.board import Dashboard
from linda.monitoring.prometheus import exporter_registry, exposition

STATIC = Path(__file__).parent / "static"
DASHBOARD_PREFIX = "/dashboard"
# The page holds an API token: it runs only its own scripts and talks only to this server.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": PAGE_POLICY,
    "Referrer-Policy": "no-referrer",
}

__all__ = ["DASHBOARD_PREFIX", "Dashboard", "dashboard_app", "install_dashboard"]


def dashboard_app() -> Starlette:
    """The page at the mount's root, `hooks.js` (importable from other origins) and the page's own files."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")

    async def index(_: Request) -> HTMLResponse:
        return HTMLResponse(page, headers=PAGE_HEADERS)

    async def hooks(_: Request) -> FileResponse:
        return FileResponse(
            STATIC / "hooks.js",
            media_type="text/javascript",
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )

    return Starlette(
        routes=[
            Route("/", index),
            Route("/hooks.js", hooks),
            Mount("/", StaticFiles(directory=STATIC), name="static"),
        ]
    )


def install_dashboard(app: FastAPI, board: Dashboard, *, metrics_public: bool = True) -> None:
    """Serve the dashboard's API, its page and `/metrics` on `app`."""
    app.state.dashboard = board
    app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(require_token)], responses=ERRORS)
    app.include_router(stream_router, responses=ERRORS)
    redact_access_log()
    registry = exporter_registry(board.monitor)

    async def prometheus_metrics(request: Request) -> Response:
        body, content_type = exposition(registry, request.headers.get("accept", ""))
        return Response(body, media_type=content_type)

    app.add_api_route(
        "/metrics",
        prometheus_metrics,
        methods=["GET"],
        tags=["operations"],
        summary="Prometheus metrics of this process",
        dependencies=[] if metrics_public else [Depends(require_token)],
        response_class=Response,
    )
    app.mount(DASHBOARD_PREFIX, dashboard_app())
