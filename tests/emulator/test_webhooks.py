"""Status webhooks after sends, and the emitter's signing, ordering and retries."""

from __future__ import annotations

import asyncio
from typing import Any

from linda.whatsapp import signature
from tests.emulator.rig import APP_SECRET, PNID, USER, Rig, running, template, text


def _status_items(rig: Rig) -> list[dict[str, Any]]:
    return [
        s
        for c in rig.receiver.accepted
        for e in c.body["entry"]
        for ch in e["changes"]
        for s in ch["value"].get("statuses", [])
    ]


async def test_statuses_arrive_signed_in_order_with_metas_shape(rig: Rig) -> None:
    rig.emulator.open_window(PNID, USER)
    wamid = (await rig.client.send(PNID, text(biz_opaque_callback_data="campaign-7"))).wamid
    await rig.emulator.wait_idle()
    assert rig.receiver.statuses() == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]
    assert all(c.signed for c in rig.receiver.calls)
    assert all(c.headers["content-type"] == "application/json" for c in rig.receiver.calls)
    body = rig.receiver.calls[0].body
    assert body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    assert entry["id"] == "WABA-T"
    [change] = entry["changes"]
    assert change["field"] == "messages"
    assert change["value"]["messaging_product"] == "whatsapp"
    assert change["value"]["metadata"] == {"display_phone_number": "15550001111", "phone_number_id": PNID}
    sent, delivered, read = _status_items(rig)
    assert sent["recipient_id"] == USER
    assert sent["timestamp"] == str(int(rig.clock()))
    assert sent["biz_opaque_callback_data"] == "campaign-7"
    assert sent["conversation"]["origin"] == {"type": "service"}
    assert "expiration_timestamp" in sent["conversation"]
    assert delivered["conversation"]["id"] == sent["conversation"]["id"]
    assert sent["pricing"] == delivered["pricing"]
    assert sent["pricing"]["billable"] is False
    assert "pricing" not in read
    assert [r.kind for r in rig.emulator.webhooks] == ["status"] * 3
    assert [r.answer for r in rig.emulator.webhooks] == [200] * 3


async def test_template_statuses_are_billable_in_the_templates_category(rig: Rig) -> None:
    await rig.client.send(PNID, template())
    await rig.emulator.wait_idle()
    sent = _status_items(rig)[0]
    assert sent["pricing"]["billable"] is True
    assert sent["pricing"]["category"] == sent["conversation"]["origin"]["type"] == "utility"


async def test_duplicated_statuses(rig: Rig) -> None:
    rig.emulator.duplicate_statuses = True
    wamid = (await rig.client.send(PNID, template())).wamid
    await rig.emulator.wait_idle()
    got = rig.receiver.statuses()
    assert sorted(got) == sorted([(wamid, s) for s in ("sent", "delivered", "read") for _ in range(2)])
    assert all(c.signed for c in rig.receiver.calls)


async def test_reordered_statuses_deliver_read_first_and_a_late_sent(rig: Rig) -> None:
    rig.emulator.reorder_statuses = True
    wamid = (await rig.client.send(PNID, template())).wamid
    await rig.emulator.wait_idle()
    assert rig.receiver.statuses() == [(wamid, "read"), (wamid, "delivered"), (wamid, "sent")]
    items = {s["status"]: s for s in _status_items(rig)}
    assert int(items["sent"]["timestamp"]) <= int(items["read"]["timestamp"])


async def test_non_200_answers_are_retried_until_accepted(rig: Rig) -> None:
    rig.receiver.fail_first = 2
    wamid = await rig.emulator.user_sends(PNID, USER, {"type": "text", "text": {"body": "hi"}})
    await rig.emulator.wait_idle()
    assert [c.answered for c in rig.receiver.calls] == [500, 500, 200]
    assert len({c.raw for c in rig.receiver.calls}) == 1
    assert all(c.signed for c in rig.receiver.calls)
    assert [(w.attempt, w.answer, w.kind) for w in rig.emulator.webhooks] == [
        (1, 500, "message"),
        (2, 500, "message"),
        (3, 200, "message"),
    ]
    assert rig.emulator.webhooks[-1].body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] == wamid


async def test_delivery_is_given_up_after_max_attempts() -> None:
    async with running(webhook_max_attempts=3) as rig:
        rig.receiver.fail_always = True
        await rig.emulator.user_sends(PNID, USER, {"type": "text", "text": {"body": "hi"}})
        await rig.emulator.wait_idle()
        assert [w.attempt for w in rig.emulator.webhooks] == [1, 2, 3]
        assert len(rig.receiver.calls) == 3


async def test_connection_errors_are_recorded_and_retried(rig: Rig) -> None:
    good_url = rig.emulator.webhook_url
    rig.emulator.webhook_url = "http://127.0.0.1:9/hook"  # discard port: refused
    await rig.emulator.user_sends(PNID, USER, {"type": "text", "text": {"body": "hi"}})
    while not rig.emulator.webhooks:  # noqa: ASYNC110 - polls the emulator's records for the first attempt
        await asyncio.sleep(0.005)
    rig.emulator.webhook_url = good_url
    await rig.emulator.wait_idle()
    first, *_, last = rig.emulator.webhooks
    assert isinstance(first.answer, str)
    assert last.answer == 200
    assert len(rig.receiver.accepted) == 1


async def test_messages_of_one_number_keep_their_order(rig: Rig) -> None:
    sent = [
        await rig.emulator.user_sends(PNID, USER, {"type": "text", "text": {"body": str(i)}})
        for i in range(10)
    ]
    await rig.emulator.wait_idle()
    got = [c.body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] for c in rig.receiver.accepted]
    assert got == sent


async def test_post_webhook_signs_and_delivers_any_payload(rig: Rig) -> None:
    batch = {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": []}, {"id": "X"}]}
    await rig.emulator.post_webhook(batch)
    await rig.emulator.wait_idle()
    [call] = rig.receiver.calls
    assert call.body == batch
    assert call.signed
    assert rig.emulator.webhooks[0].kind == "raw"


async def test_without_webhook_url_nothing_is_delivered() -> None:
    async with running() as rig:
        rig.emulator.webhook_url = None
        await rig.emulator.post_webhook({"object": "whatsapp_business_account", "entry": []})
        await rig.emulator.wait_idle()
        assert rig.receiver.calls == []
        assert rig.emulator.webhooks[0].answer == "no webhook_url configured"


async def test_signature_uses_the_app_secret(rig: Rig) -> None:
    await rig.emulator.post_webhook({"a": 1})
    await rig.emulator.wait_idle()
    [call] = rig.receiver.calls
    assert call.headers["x-hub-signature-256"] == signature.sign(APP_SECRET, call.raw)
    assert not signature.is_valid("other-secret", call.raw, call.headers["x-hub-signature-256"])


async def test_a_payload_that_cannot_be_encoded_is_given_up(rig: Rig) -> None:
    await rig.emulator.post_webhook({"bad": object()})
    await rig.emulator.post_webhook({"good": True})
    await rig.emulator.wait_idle()
    assert [c.body for c in rig.receiver.calls] == [{"good": True}]
    assert "TypeError" in str(rig.emulator.webhooks[0].answer)


async def test_stop_cancels_pending_deliveries_and_start_resumes() -> None:
    async with running(status_delays=(5.0, 5.0, 5.0)) as rig:
        await rig.client.send(PNID, template())
        await rig.emulator.stop()
        await rig.emulator.wait_idle(timeout=1)
        await rig.emulator.start()
        await rig.emulator.user_sends(PNID, USER, {"type": "text", "text": {"body": "hi"}})
        await rig.emulator.wait_idle()
        assert [c.body["entry"][0]["changes"][0]["value"].get("statuses") for c in rig.receiver.calls] == [
            None
        ]
