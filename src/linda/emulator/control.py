"""The control API under `/_emulator`: drive simulated users, inject faults, read what happened.

It has NO authentication: it is a loopback test tool. Never expose an emulator beyond the local machine.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from linda.emulator.state import Template

if TYPE_CHECKING:
    from linda.emulator.emulator import Emulator


class Inbound(BaseModel):
    """A message item as Meta sends it (`from`, `type`, the type's object, optional `context`); Meta's id and
    timestamp are added. `phone_number_id` may be left out when the emulator hosts one number."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: str = Field(alias="from")
    type: str
    phone_number_id: str | None = None
    profile_name: str | None = None
    user_id: str | None = None
    context: dict[str, Any] | None = None


class TemplateIn(BaseModel):
    name: str
    language: str
    parameter_counts: dict[str, int] = {}
    category: str = "utility"


class FailIn(BaseModel):
    code: int
    times: int = 1
    http_status: int | None = None
    to: str | None = None


class QuirksIn(BaseModel):
    duplicate_statuses: bool | None = None
    reorder_statuses: bool | None = None


def control_router(emulator: Emulator) -> APIRouter:
    router = APIRouter(prefix="/_emulator", tags=["emulator control"])

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "numbers": sorted(emulator.numbers),
            "webhook_url": emulator.webhook_url,
            "webhooks_running": emulator.emitter.running,
        }

    @router.post("/inbound")
    async def inbound(sent: Inbound) -> dict[str, str]:
        number = sent.phone_number_id
        if number is None:
            if len(emulator.numbers) != 1:
                raise HTTPException(422, "phone_number_id is required: this emulator hosts several numbers")
            [number] = emulator.numbers
        if number not in emulator.numbers:
            raise HTTPException(404, f"unknown phone_number_id {number!r}")
        message = {"type": sent.type, **(sent.model_extra or {})}
        wamid = await emulator.user_sends(
            number,
            sent.from_,
            message,
            profile_name=sent.profile_name,
            context_id=(sent.context or {}).get("id"),
            user_id=sent.user_id,
        )
        return {"id": wamid}

    @router.get("/sent")
    async def sent() -> list[dict[str, Any]]:
        """What the business sent and the emulator accepted, in order."""
        return [
            {
                "to": r.to,
                "type": r.body.get("type"),
                "payload": r.body,
                "wamid": r.wamid,
                "time": r.time,
                "phone_number_id": r.phone_number_id,
            }
            for r in emulator.sent_messages()
        ]

    @router.get("/errors")
    async def errors() -> list[dict[str, Any]]:
        """Every request the emulator rejected, with Meta's error code."""
        return [
            {
                "time": r.time,
                "path": r.path,
                "to": r.to,
                "error_code": r.error_code,
                "status": r.status,
                "payload": r.body,
            }
            for r in emulator.requests
            if r.error_code is not None
        ]

    @router.post("/webhooks")
    async def post_webhook(payload: dict[str, Any]) -> dict[str, bool]:
        await emulator.post_webhook(payload)
        return {"queued": True}

    @router.get("/requests")
    async def requests() -> list[dict[str, Any]]:
        return [asdict(r) for r in emulator.requests]

    @router.get("/webhooks")
    async def webhooks() -> list[dict[str, Any]]:
        return [asdict(w) for w in emulator.webhooks]

    @router.post("/templates")
    async def add_template(template: TemplateIn) -> dict[str, bool]:
        emulator.add_template(Template(**template.model_dump()))
        return {"added": True}

    @router.post("/fail")
    async def fail(spec: FailIn) -> dict[str, bool]:
        emulator.fail_next(spec.code, times=spec.times, http_status=spec.http_status, to=spec.to)
        return {"armed": True}

    @router.post("/quirks")
    async def quirks(spec: QuirksIn) -> dict[str, bool]:
        if spec.duplicate_statuses is not None:
            emulator.duplicate_statuses = spec.duplicate_statuses
        if spec.reorder_statuses is not None:
            emulator.reorder_statuses = spec.reorder_statuses
        return {
            "duplicate_statuses": emulator.duplicate_statuses,
            "reorder_statuses": emulator.reorder_statuses,
        }

    return router
