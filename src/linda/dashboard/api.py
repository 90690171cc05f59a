"""The dashboard's API: `GET /api/metrics`, `GET /api/dashboard` and the live `GET /api/metrics/stream`.

All three need an API token. The stream also takes it as `?token=`, since a browser's EventSource cannot send
headers; access-log lines show such a token as `token=…`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from sse_starlette import EventSourceResponse, ServerSentEvent

from linda.api.auth import bearer, database, unauthorized
from linda.api.errors import API_PREFIX
from linda.api.tokens import verify_token
from linda.dashboard.board import Dashboard
from linda.store.models import ApiToken

router = APIRouter(tags=["monitoring"])  # under /api with the management API's bearer token
stream_router = APIRouter(prefix=API_PREFIX, tags=["monitoring"])

Window = Annotated[
    float, Query(ge=1, le=86_400, description="Seconds back from now that the numbers cover (default 60).")
]
LiveWindow = Annotated[
    float, Query(ge=1, le=3_600, description="Seconds back from now that the numbers cover (default 60).")
]


def dashboard(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


Board = Annotated[Dashboard, Depends(dashboard)]


@router.get("/metrics")
async def metrics(
    board: Board,
    window: Window = 60,
    operation: Annotated[
        str | None, Query(description="Only series whose name starts with this, e.g. `graph.send`.")
    ] = None,
) -> dict[str, Any]:
    """Performance metrics of every process over the last `window` seconds: per timed operation its count,
    rate, errors and latency quantiles (seconds), counters with rates, and gauges."""
    return await board.view.metrics(window, operation or None)


@router.get("/dashboard")
async def dashboard_data(board: Board, window: LiveWindow = 60) -> dict[str, Any]:
    """Everything the dashboard shows: messages in and out per second, latency quantiles, errors and the
    top error codes, the delivery funnel, queue depths, each number's throughput against its limit, the
    firing alerts, and recent history for the charts."""
    return await board.data(window)


async def stream_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token: Annotated[
        str | None, Query(description="The API token, for clients that cannot send headers.")
    ] = None,
) -> ApiToken:
    """The caller's live token, from `Authorization: Bearer` or `?token=`, or 401."""
    given = credentials.credentials if credentials is not None else token
    row = await verify_token(database(request), given) if given else None
    if row is None:
        raise unauthorized()
    return row


@stream_router.get("/metrics/stream", dependencies=[Depends(stream_token)])
async def metrics_stream(board: Board, window: LiveWindow = 60) -> EventSourceResponse:
    """Server-sent events: `metrics` (the body of `GET /api/dashboard`, sent when it changes, at least every
    few seconds), `alert` (an alert changing state), and `heartbeat` every 15 s. Event ids count up."""
    subscription, latest = board.subscribe(window)
    shutdown = anyio.Event()  # set when the server stops: the stream then ends cleanly

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            if latest is not None:
                yield _sse(latest)
            while not shutdown.is_set():
                event = await subscription.next(timeout=0.5)
                if event is not None:
                    yield _sse(event)
        except StopAsyncIteration:
            return
        finally:
            subscription.close()

    return EventSourceResponse(
        events(),
        ping=board.heartbeat_seconds,
        ping_message_factory=lambda: ServerSentEvent(event="heartbeat", data=json.dumps({})),
        shutdown_event=shutdown,
        shutdown_grace_period=1.0,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: dict[str, Any]) -> dict[str, str]:
    return {"event": event["event"], "id": str(event["id"]), "data": json.dumps(event["data"], default=_json)}


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_TOKEN_IN_QUERY = re.compile(r"((?:^|[?&])token=)[^&\s\"]*")


class RedactTokens(logging.Filter):
    """Show `token=…` instead of a token given in a query string, in uvicorn's access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1…", arg) if isinstance(arg, str) and "token=" in arg else arg
                for arg in record.args
            )
        return True


def redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())
