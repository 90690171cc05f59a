"""The control API, the emulator mounted under a prefix in a host app, and the settings-built emulator."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from fastapi import FastAPI

from linda.emulator import Emulator, emulator_from_settings
from linda.settings import AccountSettings, Settings
from linda.whatsapp import errors
from linda.whatsapp.client import GraphClient
from tests.emulator.rig import APP_SECRET, PNID, TOKEN, USER, Receiver, Rig, number, template, text
from tests.servers import serve


async def test_health(rig: Rig, http: httpx.AsyncClient) -> None:
    answer = (await http.get(f"{rig.url}/_emulator/health")).json()
    assert answer["status"] == "ok"
    assert answer["numbers"] == [PNID]
    assert answer["webhooks_running"] is True


async def test_user_message_through_the_control_api(rig: Rig, http: httpx.AsyncClient) -> None:
    answer = await http.post(
        f"{rig.url}/_emulator/inbound",
        json={
            "from": USER,
            "type": "text",
            "text": {"body": "hi"},
            "profile_name": "Bo",
            "context": {"from": "15550001", "id": "wamid.earlier"},
        },
    )
    wamid = answer.json()["id"]
    await rig.emulator.wait_idle()
    value = rig.receiver.calls[0].body["entry"][0]["changes"][0]["value"]
    assert value["metadata"]["phone_number_id"] == PNID  # the one hosted number
    assert value["messages"][0]["id"] == wamid
    assert value["messages"][0]["text"] == {"body": "hi"}
    assert value["messages"][0]["context"]["id"] == "wamid.earlier"
    assert value["contacts"][0]["profile"]["name"] == "Bo"
    unknown = await http.post(
        f"{rig.url}/_emulator/inbound", json={"from": USER, "type": "text", "phone_number_id": "X"}
    )
    assert unknown.status_code == 404
    missing_from = await http.post(f"{rig.url}/_emulator/inbound", json={"type": "text"})
    assert missing_from.status_code == 422


async def test_inbound_needs_a_number_when_several_are_hosted(rig: Rig, http: httpx.AsyncClient) -> None:
    from linda.emulator import EmulatedNumber

    rig.emulator.add_number(EmulatedNumber("999", "+1 555 0199"))
    answer = await http.post(
        f"{rig.url}/_emulator/inbound", json={"from": USER, "type": "text", "text": {"body": "x"}}
    )
    assert answer.status_code == 422 and "phone_number_id" in answer.text


async def test_sent_and_errors_lists(rig: Rig, http: httpx.AsyncClient) -> None:
    from linda.whatsapp import messages

    rig.emulator.open_window(PNID, USER)
    await rig.client.send(PNID, messages.request_body(USER, messages.text("hello")))
    rig.emulator.mark_not_on_whatsapp("971509999999")
    with contextlib.suppress(Exception):
        await rig.client.send(PNID, messages.request_body("971509999999", messages.text("lost")))
    sent = (await http.get(f"{rig.url}/_emulator/sent")).json()
    errors = (await http.get(f"{rig.url}/_emulator/errors")).json()
    assert [(s["to"], s["type"], s["payload"]["text"]["body"]) for s in sent] == [(USER, "text", "hello")]
    assert sent[0]["wamid"].startswith("wamid.")
    assert [(e["to"], e["error_code"]) for e in errors] == [("971509999999", 131026)]


async def test_raw_webhook_through_the_control_api(rig: Rig, http: httpx.AsyncClient) -> None:
    payload = {"object": "whatsapp_business_account", "entry": []}
    assert (await http.post(f"{rig.url}/_emulator/webhooks", json=payload)).json() == {"queued": True}
    await rig.emulator.wait_idle()
    assert rig.receiver.calls[0].body == payload
    records = (await http.get(f"{rig.url}/_emulator/webhooks")).json()
    assert records[0]["body"] == payload
    assert records[0]["kind"] == "raw"
    assert records[0]["attempt"] == 1
    assert records[0]["answer"] == 200


async def test_requests_are_listed(rig: Rig, http: httpx.AsyncClient) -> None:
    result = await rig.client.send(PNID, template())
    [record] = (await http.get(f"{rig.url}/_emulator/requests")).json()
    assert record["wamid"] == result.wamid
    assert record["method"] == "POST"
    assert record["phone_number_id"] == PNID
    assert record["body"]["type"] == "template"
    assert (record["status"], record["error_code"]) == (200, None)


async def test_templates_and_failures_through_the_control_api(rig: Rig, http: httpx.AsyncClient) -> None:
    spec = {"name": "promo", "language": "pt_BR", "parameter_counts": {"body": 1}, "category": "marketing"}
    assert (await http.post(f"{rig.url}/_emulator/templates", json=spec)).status_code == 200
    await rig.client.send(PNID, template(name="promo", lang="pt_BR", params=1))
    assert (
        await http.post(f"{rig.url}/_emulator/fail", json={"code": 130429, "times": 1})
    ).status_code == 200
    with pytest.raises(errors.ThroughputExceeded):
        await rig.client.send(PNID, template())


async def test_quirks_through_the_control_api(rig: Rig, http: httpx.AsyncClient) -> None:
    answer = await http.post(f"{rig.url}/_emulator/quirks", json={"reorder_statuses": True})
    assert answer.json() == {"duplicate_statuses": False, "reorder_statuses": True}
    assert rig.emulator.reorder_statuses


async def test_mounted_under_a_prefix() -> None:
    receiver = Receiver()
    emulator = Emulator(
        app_secret=APP_SECRET, webhook_url=None, numbers=[number()], status_delays=(0.0, 0.01, 0.02)
    )
    host = FastAPI()
    host.mount("/emulator", emulator.app)
    async with serve(receiver.app) as hook, serve(host) as base:
        emulator.webhook_url = hook + "/hook"
        await emulator.start()
        try:
            async with GraphClient(base + "/emulator/v23.0", TOKEN) as client, httpx.AsyncClient() as http:
                media_id = await client.upload_media(PNID, b"%PDF-1.4", "application/pdf", "a.pdf")
                info = await client.get_media(media_id)
                assert info.url.startswith(base + "/emulator/")
                assert await client.download_media(info.url) == b"%PDF-1.4"
                health = await http.get(base + "/emulator/_emulator/health")
                assert health.json()["status"] == "ok"
                await emulator.user_sends(PNID, USER, {"type": "text", "text": {"body": "hi"}})
                await client.send(PNID, text())
                await emulator.wait_idle()
        finally:
            await emulator.stop()
    assert len(receiver.accepted) == 4
    assert all(c.signed for c in receiver.calls)
    assert emulator.requests[-1].path == "/emulator/v23.0/PN1/messages"


async def test_built_from_settings() -> None:
    settings = Settings(
        app_secret="s3cret",
        public_url="http://127.0.0.1:8123",
        accounts=[AccountSettings(phone_number_id="P9", display_phone_number="+1 555 000 9999")],
    )
    emulator = emulator_from_settings(settings)
    assert emulator.webhook_url == "http://127.0.0.1:8123/webhooks/whatsapp"
    assert emulator.app_secret == "s3cret"
    [configured] = emulator.numbers.values()
    assert (configured.phone_number_id, configured.access_token) == ("P9", settings.access_token)
