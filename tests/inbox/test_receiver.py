"""POST /webhooks/whatsapp and the verification handshake, over real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from linda.store.models import InboxItem
from linda.store.types import utcnow
from linda.whatsapp import signature
from tests.stack import APP_SECRET, VERIFY_TOKEN, Stack, running_stack


async def inbox_count(stack: Stack) -> int:
    async with stack.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxItem)) or 0)


@pytest.fixture
async def stack(database_url: str):  # type: ignore[no-untyped-def]
    async with running_stack(database_url, webhook_max_body_bytes=4096) as running:
        yield running


async def test_verification_handshake(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        ok = await client.get("/webhooks/whatsapp", params=params)
        wrong = await client.get("/webhooks/whatsapp", params={**params, "hub.verify_token": "nope"})
        no_mode = await client.get("/webhooks/whatsapp", params={"hub.challenge": "x"})
    assert (ok.status_code, ok.text, ok.headers["content-type"].split(";")[0]) == (
        200,
        "1158201444",
        "text/plain",
    )
    assert wrong.status_code == 403 and no_mode.status_code == 403


async def test_signature_failures_store_nothing(stack: Stack) -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    async with httpx.AsyncClient(base_url=stack.url) as client:
        missing = await client.post("/webhooks/whatsapp", content=body)
        wrong = await client.post(
            "/webhooks/whatsapp",
            content=body,
            headers={signature.HEADER: signature.sign("other-secret", body)},
        )
        tampered = await client.post(
            "/webhooks/whatsapp",
            content=body + b" ",
            headers={signature.HEADER: signature.sign(APP_SECRET, body)},
        )
    assert missing.status_code == 401 and "X-Hub-Signature-256" in missing.json()["error"]
    assert wrong.status_code == 403 and tampered.status_code == 403
    assert await inbox_count(stack) == 0


async def test_oversized_and_malformed_bodies_are_refused(stack: Stack) -> None:
    huge = json.dumps({"object": "whatsapp_business_account", "pad": "x" * 5000}).encode()
    broken = b'{"object": "whatsapp_business_account", "entry": ['
    async with httpx.AsyncClient(base_url=stack.url) as client:
        too_big = await client.post(
            "/webhooks/whatsapp", content=huge, headers={signature.HEADER: signature.sign(APP_SECRET, huge)}
        )

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):  # no content-length: the cap applies while streaming
                yield b"x" * 1000

        streamed = await client.post(
            "/webhooks/whatsapp", content=chunks(), headers={signature.HEADER: "sha256=00"}
        )
        malformed = await client.post(
            "/webhooks/whatsapp",
            content=broken,
            headers={signature.HEADER: signature.sign(APP_SECRET, broken)},
        )
    assert too_big.status_code == 413 and "4096" in too_big.json()["error"]
    assert streamed.status_code == 413
    assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["error"]
    assert await inbox_count(stack) == 0


async def test_signed_body_is_stored_raw_before_the_answer(stack: Stack) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[],  "spacing":"kept as sent"}'
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.post(
            "/webhooks/whatsapp", content=body, headers={signature.HEADER: signature.sign(APP_SECRET, body)}
        )
    assert answer.status_code == 200
    async with stack.db.read() as session:
        stored = (await session.scalars(select(InboxItem))).one()
    assert stored.body == body
    assert stored.attempts == 0
    assert abs((utcnow() - stored.received_at).total_seconds()) < 60  # an aware UTC time, read back right
