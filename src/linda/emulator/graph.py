"""The emulated Graph API: `POST /{version}/{phone_number_id}/messages` with Meta's checks and answers."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from linda.emulator.faults import GraphFault, bad_token, unknown_object
from linda.emulator.inbound import digits
from linda.emulator.outbound import accept_send
from linda.emulator.state import EmulatedNumber, RecordedRequest
from linda.whatsapp.errors import MessageValidationError
from linda.whatsapp.messages import validate_message

if TYPE_CHECKING:
    from linda.emulator.emulator import Emulator

_VERSION = re.compile(r"v\d+\.\d+")


def check_version(version: str) -> None:
    if not _VERSION.fullmatch(version):
        raise GraphFault(100, f"Unknown path components: /{version}", http_status=400)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def require_token(request: Request) -> str:
    """The request's bearer token; GraphFault 190 when there is none (checked before anything else)."""
    token = bearer_token(request)
    if token is None:
        raise bad_token("An access token is required to request this resource.")
    return token


def check_token(token: str, expected: str | None) -> None:
    """GraphFault 190 unless `token` is `expected` (None: nobody's token fits)."""
    if token != expected:
        raise bad_token("Invalid OAuth access token - Cannot parse access token")


def authorize(emulator: Emulator, request: Request, phone_number_id: str) -> EmulatedNumber:
    """The number addressed, when the request's bearer token is that number's; GraphFault otherwise."""
    token = require_token(request)
    number = emulator.numbers.get(phone_number_id)
    if number is None:
        raise unknown_object(phone_number_id)
    check_token(token, number.access_token)
    return number


def answer(
    emulator: Emulator,
    request: Request,
    phone_number_id: str | None,
    body: Any,
    result: dict[str, Any] | GraphFault,
    *,
    wamid: str | None = None,
    to: str | None = None,
) -> JSONResponse:
    """Record the call and answer it with `result` (a success body, or a fault in Meta's error shape)."""
    fault = result if isinstance(result, GraphFault) else None
    status = fault.status if fault else 200
    emulator.record(
        RecordedRequest(
            time=emulator.clock(),
            method=request.method,
            path=request.url.path,
            phone_number_id=phone_number_id,
            body=body,
            status=status,
            error_code=fault.code if fault else None,
            wamid=wamid,
            to=to,
        )
    )
    content = fault.body() if fault else result
    return JSONResponse(
        content, status_code=status, headers={"WWW-Authenticate": "OAuth"} if status == 401 else None
    )


def messages_router(emulator: Emulator) -> APIRouter:
    router = APIRouter()

    @router.post("/{version}/{phone_number_id}/messages", include_in_schema=False)
    async def post_messages(version: str, phone_number_id: str, request: Request) -> JSONResponse:
        raw = await request.body()
        body: Any = raw.decode(errors="replace")
        to: str | None = None
        try:
            check_version(version)
            number = authorize(emulator, request, phone_number_id)
            body = _parse(raw)
            try:
                validate_message(body)
            except MessageValidationError as exc:
                raise GraphFault(100, str(exc)) from exc
            if "status" in body:
                _mark_read(emulator, number, body)
                return answer(emulator, request, phone_number_id, body, {"success": True})
            to = digits(body["to"]) if isinstance(body.get("to"), str) else None
            wamid, wa_id = accept_send(emulator, number, body)
        except GraphFault as fault:
            return answer(emulator, request, phone_number_id, body, fault, to=to)
        message: dict[str, Any] = {"id": wamid}
        if body.get("type") == "template":
            message["message_status"] = "accepted"
        success = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": wa_id}],
            "messages": [message],
        }
        return answer(emulator, request, phone_number_id, body, success, wamid=wamid, to=to)

    return router


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise GraphFault(100, "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise GraphFault(100, "The request body must be a JSON object.")
    return body


def _mark_read(emulator: Emulator, number: EmulatedNumber, body: dict[str, Any]) -> None:
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or message_id not in emulator.received.get(number.phone_number_id, ()):
        raise GraphFault(100, f"message_id: no message {message_id!r} was received by this phone number")
