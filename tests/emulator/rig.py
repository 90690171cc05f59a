"""A running emulator, a webhook receiver and a Graph API client, all on real loopback sockets."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linda.emulator import EmulatedNumber, Emulator, Template
from linda.whatsapp import signature
from linda.whatsapp.client import GraphClient
from tests.servers import serve

APP_SECRET = "test-app-secret"
TOKEN = "token-1"
PNID = "PN1"
USER = "14155552671"
OTHER_USER = "16505551234"
THIRD_USER = "12025550143"
T0 = 1_700_000_000.0


class FakeClock:
    """The emulator's clock (windows, buckets, timestamps), moved by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Received:
    raw: bytes
    headers: dict[str, str]
    answered: int

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed

    @property
    def signed(self) -> bool:
        return signature.is_valid(APP_SECRET, self.raw, self.headers.get("x-hub-signature-256", ""))


@dataclass
class Receiver:
    """Linda's webhook endpoint, stubbed: records every POST, answers 500 `fail_first` times, then 200."""

    fail_first: int = 0
    fail_always: bool = False
    calls: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/hook", self._handle, methods=["POST"])])

    async def _handle(self, request: Request) -> Response:
        status = 200
        if self.fail_always or self.fail_first > 0:
            self.fail_first -= 1
            status = 500
        self.calls.append(Received(await request.body(), dict(request.headers), status))
        return Response(status_code=status)

    @property
    def accepted(self) -> list[Received]:
        return [c for c in self.calls if c.answered == 200]

    def statuses(self) -> list[tuple[str, str]]:
        """(wamid, status) of every accepted status item, in arrival order."""
        return [
            (s["id"], s["status"])
            for c in self.accepted
            for e in c.body["entry"]
            for ch in e["changes"]
            for s in ch["value"].get("statuses", [])
        ]


@dataclass
class Rig:
    emulator: Emulator
    client: GraphClient
    receiver: Receiver
    clock: FakeClock
    url: str


def number(**overrides: Any) -> EmulatedNumber:
    values: dict[str, Any] = {
        "phone_number_id": PNID,
        "display_phone_number": "+1 555 000 1111",
        "waba_id": "WABA-T",
        "access_token": TOKEN,
    }
    values.update(overrides)
    return EmulatedNumber(**values)


@contextlib.asynccontextmanager
async def running(
    *,
    numbers: list[EmulatedNumber] | None = None,
    templates: list[Template] | None = None,
    **kwargs: Any,
) -> AsyncIterator[Rig]:
    """Receiver and emulator served; the emulator posts webhooks to the receiver."""
    clock = FakeClock()
    receiver = Receiver()
    options: dict[str, Any] = {
        "status_delays": (0.01, 0.02, 0.03),
        "webhook_retry_base": 0.01,
        "clock": clock,
    }
    options.update(kwargs)
    emulator = Emulator(
        app_secret=APP_SECRET,
        webhook_url=None,
        numbers=numbers if numbers is not None else [number()],
        templates=templates if templates is not None else [Template("order_update", "en_US", {"body": 2})],
        **options,
    )
    async with serve(receiver.app) as hook_base, serve(emulator.app) as base:
        emulator.webhook_url = hook_base + "/hook"
        async with GraphClient(base + "/v23.0", TOKEN) as client:
            yield Rig(emulator, client, receiver, clock, base)


def text(to: str = USER, body: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
        **extra,
    }


def template(
    to: str = USER, params: int = 2, name: str = "order_update", lang: str = "en_US"
) -> dict[str, Any]:
    parameters = [{"type": "text", "text": f"p{i}"} for i in range(params)]
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": lang, "policy": "deterministic"},
            "components": [{"type": "body", "parameters": parameters}],
        },
    }
