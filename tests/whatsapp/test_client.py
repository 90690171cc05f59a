"""GraphClient against the emulator (and a misbehaving server) on real loopback sockets."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from linda.whatsapp import errors
from linda.whatsapp.client import GraphClient, MediaInfo, SendResult
from tests.emulator.rig import PNID, TOKEN, USER, Rig, running, template, text
from tests.servers import serve


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with running() as r:
        yield r


async def test_send_returns_the_typed_result(rig: Rig) -> None:
    rig.emulator.open_window(PNID, USER)
    result = await rig.client.send(PNID, text())
    assert isinstance(result, SendResult)
    assert (result.wa_id, result.input) == (USER, USER)
    assert result.raw["messages"][0]["id"] == result.wamid
    [recorded] = rig.emulator.sent_messages()
    assert recorded.body == text()


async def test_error_answers_become_typed_exceptions(rig: Rig) -> None:
    with pytest.raises(errors.OutsideServiceWindow) as caught:
        await rig.client.send(PNID, text())
    error = caught.value
    assert (error.code, error.http_status, error.is_retryable) == (131047, 400, False)
    assert error.fbtrace_id
    assert error.raw["error"]["error_data"]["messaging_product"] == "whatsapp"


async def test_mark_as_read(rig: Rig) -> None:
    wamid = await rig.emulator.user_sends(PNID, USER, {"type": "text", "text": {"body": "hi"}})
    await rig.client.mark_as_read(PNID, wamid)
    assert rig.emulator.requests[-1].body["message_id"] == wamid


async def test_media_roundtrip(rig: Rig) -> None:
    data = b"\xff\xd8\xff jpeg bytes"
    media_id = await rig.client.upload_media(PNID, data, "image/jpeg", "photo.jpg")
    upload = rig.emulator.requests[-1]
    assert upload.body == {
        "messaging_product": "whatsapp",
        "type": "image/jpeg",
        "filename": "photo.jpg",
        "size": len(data),
    }
    info = await rig.client.get_media(media_id)
    assert info == MediaInfo(
        url=info.url,
        mime_type="image/jpeg",
        sha256=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
        id=media_id,
    )
    assert await rig.client.download_media(info.url) == data
    rig.emulator.open_window(PNID, USER)
    body = {"messaging_product": "whatsapp", "to": USER, "type": "image", "image": {"id": media_id}}
    assert (await rig.client.send(PNID, body)).wa_id == USER


async def test_template_send(rig: Rig) -> None:
    result = await rig.client.send(PNID, template())
    assert result.raw["messages"][0]["message_status"] == "accepted"


async def test_refused_connection_is_a_transport_error() -> None:
    async with GraphClient("http://127.0.0.1:9/v23.0", TOKEN) as client:
        with pytest.raises(errors.TransportError) as caught:
            await client.send(PNID, text())
    assert caught.value.is_retryable


def _misbehaving_app() -> Starlette:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(1)
        return Response(status_code=200)

    async def bad_gateway(request: Request) -> Response:
        return PlainTextResponse("upstream down", status_code=502)

    async def not_json(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/v23.0/slow/messages", slow, methods=["POST"]),
            Route("/v23.0/down/messages", bad_gateway, methods=["POST"]),
            Route("/v23.0/odd/messages", not_json, methods=["POST"]),
            Route("/file", bad_gateway, methods=["GET"]),
        ]
    )


async def test_misbehaving_servers() -> None:
    async with serve(_misbehaving_app()) as base, GraphClient(base + "/v23.0", TOKEN, timeout=0.05) as client:
        with pytest.raises(errors.TransportError):
            await client.send("slow", text())
        with pytest.raises(errors.GraphAPIError) as caught:
            await client.send("down", text())
        assert (caught.value.http_status, caught.value.is_retryable) == (502, True)
        with pytest.raises(errors.GraphAPIError) as caught:
            await client.send("odd", text())
        assert not caught.value.is_retryable
        with pytest.raises(errors.GraphAPIError):
            await client.download_media(base + "/file")


async def test_a_shared_http_client_is_used_and_left_open(rig: Rig) -> None:
    async with httpx.AsyncClient() as http:
        client = GraphClient(rig.url + "/v23.0/", TOKEN, http=http)
        await client.send(PNID, template())
        await client.aclose()
        assert not http.is_closed
    assert rig.emulator.requests[-1].path == "/v23.0/PN1/messages"
