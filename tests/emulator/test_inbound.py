"""Simulated users: every inbound message type becomes Meta's signed webhook and opens the service window."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.rig import PNID, USER, Rig, text

INBOUND: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": {"body": "hi"}},
    "button_reply": {
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}},
    },
    "list_reply": {
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Row", "description": "d"}},
    },
    "button": {"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}},
    "image": {"type": "image", "image": {"caption": "look"}},
    "video": {"type": "video", "video": {}},
    "audio": {"type": "audio", "audio": {"voice": True}},
    "document": {"type": "document", "document": {"filename": "invoice.pdf"}},
    "sticker": {"type": "sticker", "sticker": {"animated": True}},
    "location": {
        "type": "location",
        "location": {"latitude": -23.55, "longitude": -46.63, "name": "Sé", "address": "Praça da Sé"},
    },
    "contacts": {
        "type": "contacts",
        "contacts": [
            {"name": {"formatted_name": "Ana", "first_name": "Ana"}, "phones": [{"phone": "+1 415"}]}
        ],
    },
    "reaction": {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}},
    "reaction_removed": {"type": "reaction", "reaction": {"message_id": "wamid.X"}},
    "order": {
        "type": "order",
        "order": {"catalog_id": "C1", "product_items": [{"product_retailer_id": "P1", "quantity": 2}]},
    },
    "system": {"type": "system", "system": {"body": "changed number", "type": "user_changed_number"}},
    "unsupported": {"type": "unsupported"},
    "referral": {
        "type": "text",
        "text": {"body": "from an ad"},
        "referral": {"source_url": "https://fb.me/x", "source_type": "ad", "source_id": "1"},
    },
    "forwarded": {"type": "text", "text": {"body": "fwd"}, "context": {"forwarded": True}},
}


@pytest.mark.parametrize("name", sorted(INBOUND))
async def test_every_inbound_type_has_metas_shape(rig: Rig, name: str) -> None:
    message = INBOUND[name]
    wamid = await rig.emulator.user_sends(PNID, "+" + USER, message, profile_name="Ana")
    await rig.emulator.wait_idle()
    [call] = rig.receiver.calls
    assert call.signed
    body = call.body
    assert body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"]["phone_number_id"] == PNID
    assert value["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": USER}]
    [item] = value["messages"]
    assert (item["from"], item["id"], item["type"]) == (USER, wamid, message["type"])
    assert item["timestamp"] == str(int(rig.clock()))
    kind = message["type"]
    if kind in ("image", "video", "audio", "document", "sticker"):
        media = item[kind]
        assert {"id", "mime_type", "sha256"} <= set(media)
        assert media.items() >= message[kind].items()
    elif kind == "unsupported":
        assert item["errors"][0]["code"] == 131051
    else:
        for key, part in message.items():
            assert item[key] == part
    # the user's message opened the window: free-form replies go through
    assert (await rig.client.send(PNID, text())).wa_id == USER


async def test_reply_context_and_user_id(rig: Rig) -> None:
    await rig.emulator.user_sends(
        PNID, USER, {"type": "text", "text": {"body": "re"}}, context_id="wamid.ORIG", user_id="US.123"
    )
    await rig.emulator.wait_idle()
    value = rig.receiver.calls[0].body["entry"][0]["changes"][0]["value"]
    assert value["messages"][0]["context"] == {"from": "15550001111", "id": "wamid.ORIG"}
    assert value["contacts"][0]["user_id"] == "US.123"


async def test_inbound_media_can_be_fetched_by_the_business(rig: Rig) -> None:
    await rig.emulator.user_sends(PNID, USER, {"type": "image", "image": {"mime_type": "image/png"}})
    await rig.emulator.wait_idle()
    image = rig.receiver.calls[0].body["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    info = await rig.client.get_media(image["id"])
    assert (info.mime_type, info.sha256) == ("image/png", image["sha256"])
    assert len(await rig.client.download_media(info.url)) == info.file_size


async def test_inbound_media_may_reuse_an_uploaded_file(rig: Rig) -> None:
    media_id = await rig.client.upload_media(PNID, b"\x89PNG data", "image/png", "a.png")
    await rig.emulator.user_sends(PNID, USER, {"type": "sticker", "sticker": {"id": media_id}})
    await rig.emulator.wait_idle()
    sticker = rig.receiver.calls[0].body["entry"][0]["changes"][0]["value"]["messages"][0]["sticker"]
    assert sticker["id"] == media_id
    assert sticker["mime_type"] == "image/png"
    assert sticker["animated"] is False


async def test_unknown_business_number_is_refused(rig: Rig) -> None:
    with pytest.raises(KeyError):
        await rig.emulator.user_sends("NOPE", USER, {"type": "text", "text": {"body": "hi"}})
