"""The webhook endpoint: verify, persist, answer. Nothing else happens before Meta gets its 200.

A raw ASGI app rather than a FastAPI route: this is the hottest path in Linda and needs no validation or
dependency injection, only the raw bytes, and every microsecond here is webhooks per second.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from linda.inbox.writer import InboxWriter
from linda.monitoring.monitor import PerformanceMonitor
from linda.settings import Settings
from linda.whatsapp import signature

PATH = "/webhooks/whatsapp"
_SIGNATURE = signature.HEADER.lower().encode()
_OK_START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
_OK_BODY = {"type": "http.response.body", "body": b""}


class WebhookEndpoint:
    """GET: Meta's verification handshake. POST: a signed webhook, stored in the inbox before the 200."""

    def __init__(
        self,
        settings: Settings,
        inbox: InboxWriter,
        on_received: Callable[[], None],
        monitor: PerformanceMonitor,
    ) -> None:
        self.monitor = monitor
        self.app_secret = settings.app_secret
        self.verify_token = settings.verify_token.encode()
        self.limit = settings.webhook_max_body_bytes
        self.inbox = inbox
        self.on_received = on_received

    def route(self) -> Route:
        return Route(PATH, self, methods=["GET", "POST"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "GET":
            await self._verify(scope)(scope, receive, send)
            return
        started = time.perf_counter()
        failure = await self._receive(scope, receive)
        if failure is not None:
            await failure(scope, receive, send)
            self.monitor.record_error_rate("webhook.refused", True, failure.status_code)
            return
        await send(_OK_START)
        await send(_OK_BODY)
        self.monitor.observe("webhook.ack", time.perf_counter() - started)  # stored, and the 200 handed over

    def _verify(self, scope: Scope) -> Response:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = query.get("hub.verify_token", [""])[0].encode()
        if query.get("hub.mode") == ["subscribe"] and token and hmac.compare_digest(token, self.verify_token):
            return PlainTextResponse(query.get("hub.challenge", [""])[0])
        return PlainTextResponse("verification failed: hub.verify_token does not match", status_code=403)

    async def _receive(self, scope: Scope, receive: Receive) -> Response | None:
        """Store the webhook; None when stored, else the error answer (and nothing stored)."""
        headers: dict[bytes, bytes] = dict(scope["headers"])
        header = headers.get(_SIGNATURE)
        if not header:
            return _error(401, f"missing {signature.HEADER} header")
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return _error(413, f"body over {self.limit} bytes")
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _error(400, "the client went away before sending the whole body")
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return _error(413, f"body over {self.limit} bytes")
        raw = bytes(body)
        self.monitor.observe("webhook.bytes", len(raw))
        if not signature.is_valid(self.app_secret, raw, header.decode("latin-1")):
            return _error(403, f"{signature.HEADER} does not match the body")
        try:
            json.loads(raw)
        except ValueError as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        try:
            await self.inbox.write(raw)
        except Exception:
            return _error(500, "could not store the webhook; it was not accepted, send it again")
        self.on_received()
        return None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
