"""The webhook endpoint: verify, persist, answer. Nothing else happens before Meta gets its 200.

Plain Starlette routes, not FastAPI ones: this is the hottest path in Linda, and it needs no validation or
dependency injection, only the raw bytes.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from linda.inbox.writer import InboxWriter
from linda.settings import Settings
from linda.whatsapp import signature

PATH = "/webhooks/whatsapp"
_OK = b""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def webhook_routes(settings: Settings, inbox: InboxWriter, on_received: Callable[[], None]) -> list[Route]:
    limit = settings.webhook_max_body_bytes
    too_large = f"body over {limit} bytes"

    async def verify(request: Request) -> Response:
        query = request.query_params
        token = query.get("hub.verify_token")
        if query.get("hub.mode") == "subscribe" and token is not None and _same(token, settings.verify_token):
            return PlainTextResponse(query.get("hub.challenge", ""))
        return PlainTextResponse("verification failed: hub.verify_token does not match", status_code=403)

    async def receive(request: Request) -> Response:
        header = request.headers.get(signature.HEADER)
        if not header:
            return _error(401, f"missing {signature.HEADER} header")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return _error(413, too_large)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return _error(413, too_large)
        raw = bytes(body)
        if not signature.is_valid(settings.app_secret, raw, header):
            return _error(403, f"{signature.HEADER} does not match the body")
        try:
            json.loads(raw)
        except ValueError as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        try:
            await inbox.write(raw)
        except Exception:
            return _error(500, "could not store the webhook; it was not accepted, send it again")
        on_received()
        return Response(_OK, status_code=200)

    return [Route(PATH, verify, methods=["GET"]), Route(PATH, receive, methods=["POST"])]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
