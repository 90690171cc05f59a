"""The webhook endpoint: verify, persist, answer. Nothing else happens before Meta gets its 200."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from linda.inbox.writer import InboxWriter
from linda.settings import Settings
from linda.whatsapp import signature


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def webhook_router(settings: Settings, inbox: InboxWriter, on_received: Callable[[], None]) -> APIRouter:
    router = APIRouter()

    @router.get("/webhooks/whatsapp", include_in_schema=False)
    async def verify(
        mode: str | None = Query(None, alias="hub.mode"),
        token: str | None = Query(None, alias="hub.verify_token"),
        challenge: str = Query("", alias="hub.challenge"),
    ) -> Response:
        if mode == "subscribe" and token is not None and hmac.compare_digest(token, settings.verify_token):
            return PlainTextResponse(challenge)
        return PlainTextResponse("verification failed: hub.verify_token does not match", status_code=403)

    @router.post("/webhooks/whatsapp", include_in_schema=False)
    async def receive(request: Request) -> Response:
        header = request.headers.get(signature.HEADER)
        if not header:
            return _error(401, f"missing {signature.HEADER} header")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.webhook_max_body_bytes:
            return _error(413, f"body over {settings.webhook_max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.webhook_max_body_bytes:
                return _error(413, f"body over {settings.webhook_max_body_bytes} bytes")
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
        return Response(status_code=200)

    return router
