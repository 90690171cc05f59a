"""The control API under `/_emulator`: drive simulated users, inject faults, read what happened.

It has NO authentication: it is a loopback test tool. Never expose an emulator beyond the local machine.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from linda.emulator.state import Template

if TYPE_CHECKING:
    from linda.emulator.emulator import Emulator


class UserMessage(BaseModel):
    phone_number_id: str
    message: dict[str, Any]
    profile_name: str = "Test User"
    context_id: str | None = None
    user_id: str | None = None


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

    @router.post("/users/{wa_id}/messages")
    async def user_sends(wa_id: str, sent: UserMessage) -> dict[str, str]:
        if sent.phone_number_id not in emulator.numbers:
            raise HTTPException(404, f"unknown phone_number_id {sent.phone_number_id!r}")
        wamid = await emulator.user_sends(
            sent.phone_number_id,
            wa_id,
            sent.message,
            profile_name=sent.profile_name,
            context_id=sent.context_id,
            user_id=sent.user_id,
        )
        return {"id": wamid}

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
