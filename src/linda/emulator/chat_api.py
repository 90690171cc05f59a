"""The simulated phones under `/_emulator`: users, their chats, a live event feed (server-sent events) and
the media a user attaches. The sandbox chat page is built on these; like the rest of the control API they
have no authentication."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel
from sse_starlette import EventSourceResponse
from starlette.datastructures import UploadFile

from linda.emulator.faults import GraphFault
from linda.emulator.inbound import digits
from linda.emulator.media import check_upload
from linda.emulator.outbound import recipient_wa_id

if TYPE_CHECKING:
    from linda.emulator.emulator import Emulator


_PHONE = re.compile(r"\+?[\d\s().-]+")


class UserIn(BaseModel):
    wa_id: str
    profile_name: str | None = None


def chat_router(emulator: Emulator) -> APIRouter:
    router = APIRouter(prefix="/_emulator", tags=["emulator chats"])

    @router.get("/numbers")
    async def numbers() -> list[dict[str, str]]:
        """The business numbers hosted."""
        return [
            {"phone_number_id": n.phone_number_id, "display_phone_number": n.display_phone_number}
            for n in emulator.numbers.values()
        ]

    @router.get("/users")
    async def users() -> list[dict[str, Any]]:
        """Every simulated user seen (who wrote, was written to, or was created), the most recent first."""
        return emulator.chats.user_list()

    @router.post("/users")
    async def add_user(user: UserIn) -> dict[str, Any]:
        """Create a simulated user (a valid phone number in international form: digits, with or without '+',
        spaces, dashes, dots, parentheses), or rename one."""
        spelled = user.wa_id.strip()
        wa_id = recipient_wa_id(digits(spelled)) if _PHONE.fullmatch(spelled) else None
        if wa_id is None:
            raise HTTPException(
                422, f"wa_id: {user.wa_id!r} is not a valid phone number in international form"
            )
        name = (user.profile_name or "").strip() or None
        return emulator.chats.add_user(wa_id, name).as_dict()

    @router.get("/users/{wa_id}/chat")
    async def chat(wa_id: str) -> dict[str, Any]:
        """One user's chat as events, oldest first (see `GET /_emulator/events`)."""
        found = emulator.chats.users.get(digits(wa_id))
        if found is None:
            raise HTTPException(404, f"no simulated user {wa_id!r}")
        return {"user": found.as_dict(), "events": emulator.chats.chat(found.wa_id)}

    @router.get("/events")
    async def events(
        user: str | None = None,
        after: int | None = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> EventSourceResponse:
        """Server-sent events of one user's chat (`user`) or of all: each event's `id` is its `seq`, its
        `event` its kind. With `after` (or a reconnecting browser's Last-Event-ID), the events after that seq
        come first; `after=0` replays the whole history. Heartbeat comments keep the stream open."""
        since = after
        if last_event_id is not None and last_event_id.strip().isdigit():
            since = int(last_event_id.strip())
        shutdown = anyio.Event()  # set when the server stops: the stream then ends cleanly
        followed = emulator.chats.follow(digits(user) if user else None, since, until=shutdown.wait)

        async def stream() -> AsyncIterator[dict[str, str]]:
            async for event in followed:
                yield {"id": str(event["seq"]), "event": event["kind"], "data": json.dumps(event)}

        return EventSourceResponse(
            stream(),
            ping=emulator.heartbeat_seconds,
            shutdown_event=shutdown,
            shutdown_grace_period=1.0,
        )

    @router.post("/media")
    async def upload(request: Request) -> dict[str, Any]:
        """Store a file a simulated user attaches (multipart `file`, optional `phone_number_id`), so a
        message can carry its id and Linda can download it."""
        async with request.form() as form:
            file = form.get("file")
            number = form.get("phone_number_id")
            if not isinstance(file, UploadFile):
                raise HTTPException(422, "file: a file part is required")
            data = await file.read()
            mime = str(file.content_type or "")
        if not isinstance(number, str) or not number:
            if len(emulator.numbers) != 1:
                raise HTTPException(422, "phone_number_id is required: this emulator hosts several numbers")
            [number] = emulator.numbers
        if number not in emulator.numbers:
            raise HTTPException(404, f"unknown phone_number_id {number!r}")
        try:
            check_upload(mime, len(data))
        except GraphFault as fault:
            raise HTTPException(422, fault.details) from fault
        stored = emulator.store_media(number, data, mime)
        return {
            "id": stored.media_id,
            "mime_type": stored.mime_type,
            "sha256": stored.sha256,
            "file_size": stored.file_size,
        }

    @router.get("/media/{media_id}")
    async def media(media_id: str) -> Response:
        """The bytes of stored media (uploaded by the business or by a simulated user)."""
        stored = emulator.media.get(media_id)
        if stored is None:
            raise HTTPException(404, f"no media {media_id!r}")
        return Response(stored.data, media_type=stored.mime_type, headers={"Cache-Control": "max-age=3600"})

    return router
