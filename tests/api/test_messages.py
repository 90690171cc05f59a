"""POST /api/messages and GET /api/messages/{id}: queued in process, refused with a reason, and end to end
through the emulator over real HTTP until the message is read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from linda.api.tokens import create_token
from linda.store.models import Account, Message, OutboxItem
from tests.api.conftest import Api, clear_tokens, error, wrote_in
from tests.conftest import NUMBER, SECOND_NUMBER
from tests.stack import eventually, running_stack

PHONE = "+971501234567"
USER = "971501234567"
TEXT = {"to": PHONE, "type": "text", "text": {"body": "Yes, the villa is available."}}
TEMPLATE = {"to": PHONE, "type": "template", "template": {"name": "hello", "language": {"code": "en_US"}}}
FIELDS = {
    "id",
    "direction",
    "account",
    "contact_id",
    "from",
    "to",
    "type",
    "text",
    "state",
    "wamid",
    "error_code",
    "error_title",
    "created_at",
    "updated_at",
}


async def send(api: Api, body: dict[str, Any]) -> httpx.Response:
    return await api.client.post("/api/messages", json=body)


async def queued_rows(api: Api) -> int:
    async with api.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxItem)) or 0)


async def test_a_text_in_the_window_is_queued(api: Api) -> None:
    contact, _ = await wrote_in(api.db, PHONE)
    response = await send(api, {"messaging_product": "whatsapp", "recipient_type": "individual", **TEXT})
    assert response.status_code == 202
    queued = response.json()
    assert set(queued) == {"id", "state"} and queued["state"] == "queued"
    message = (await api.client.get(f"/api/messages/{queued['id']}")).json()
    assert set(message) == FIELDS
    assert (message["direction"], message["account"], message["contact_id"]) == (
        "out",
        NUMBER.phone_number_id,
        contact,
    )
    assert (message["to"], message["type"], message["text"], message["state"]) == (
        PHONE,
        "text",
        "Yes, the villa is available.",
        "queued",
    )
    assert message["wamid"] is None and message["error_code"] is None


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({**TEXT, "to": "+971509999999"}, "outside_service_window", None),  # never wrote in
        ({**TEXT, "to": "12345"}, "invalid_phone", "to"),
        ({**TEXT, "text": {"body": ""}}, "invalid_message", "text.body"),
        ({**TEXT, "text": {"body": "x" * 4097}}, "invalid_message", "text.body"),
        ({**TEMPLATE, "template": {"language": {"code": "en"}}}, "invalid_message", "template.name"),
        ({"to": PHONE, "type": "image", "image": {}}, "invalid_message", "image"),
        ({"to": PHONE, "type": "text"}, "missing_field", "text"),
        ({**TEXT, "image": {"link": "https://example.com/a.jpg"}}, "unknown_field", "image"),
        ({**TEXT, "type": "sms"}, "invalid_request", "type"),
        ({**TEXT, "messaging_product": "sms"}, "invalid_request", "messaging_product"),
        ({**TEXT, "recipient_type": "group"}, "invalid_request", "recipient_type"),
        ({**TEXT, "account": "nope"}, "unknown_account", "account"),
        ({**TEXT, "idempotency_key": ""}, "invalid_request", "idempotency_key"),
        ({**TEXT, "text": "hi"}, "invalid_request", "text"),
    ],
)
async def test_refusals_say_why_and_queue_nothing(
    api: Api, body: dict[str, Any], code: str, field: str | None
) -> None:
    await wrote_in(api.db, PHONE)  # the window is open: only the refusal's own reason stops the send
    response = await send(api, body)
    assert error(response) == (422, code, field)
    assert await queued_rows(api) == 0


async def test_outside_the_window_a_template_still_goes(api: Api) -> None:
    refused = await send(api, TEXT)
    assert "template" in refused.json()["message"]
    assert (await send(api, TEMPLATE)).status_code == 202


async def test_an_opted_out_contact_gets_nothing(api: Api) -> None:
    contact, _ = await wrote_in(api.db, PHONE)
    await api.client.post(f"/api/contacts/{contact}/opt-out")
    for body in (TEXT, TEMPLATE):
        assert error(await send(api, body)) == (422, "opted_out", "to")
    await api.client.post(f"/api/contacts/{contact}/opt-in")
    assert (await send(api, TEXT)).status_code == 202


async def test_the_same_idempotency_key_queues_once(api: Api) -> None:
    await wrote_in(api.db, PHONE)
    first = await send(api, {**TEXT, "idempotency_key": "order-17-confirmation"})
    again = await send(api, {**TEXT, "idempotency_key": "order-17-confirmation"})
    other = await send(api, {**TEXT, "idempotency_key": "order-18-confirmation"})
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 202)
    assert again.json() == first.json() and other.json()["id"] != first.json()["id"]
    assert await queued_rows(api) == 2


async def test_the_default_number_is_the_one_the_contact_wrote_to(api: Api) -> None:
    await wrote_in(api.db, PHONE, phone_number_id=NUMBER.phone_number_id, hours_ago=3)
    await wrote_in(api.db, PHONE, phone_number_id=SECOND_NUMBER.phone_number_id, hours_ago=1)
    latest = (await send(api, TEXT)).json()
    chosen = (await send(api, {**TEXT, "account": NUMBER.phone_number_id})).json()
    stranger = (await send(api, {**TEMPLATE, "to": "+971509999999"})).json()
    accounts = {}
    for name, queued in (("latest", latest), ("chosen", chosen), ("stranger", stranger)):
        accounts[name] = (await api.client.get(f"/api/messages/{queued['id']}")).json()["account"]
    assert accounts == {
        "latest": SECOND_NUMBER.phone_number_id,
        "chosen": NUMBER.phone_number_id,
        "stranger": NUMBER.phone_number_id,  # no conversation yet: the first number
    }


async def test_without_any_number_the_answer_says_how_to_add_one(api: Api) -> None:
    from sqlalchemy import delete

    async with api.db.transaction() as session:
        await session.execute(delete(Account))
    response = await send(api, TEMPLATE)
    assert error(response) == (422, "unknown_account", "account")
    assert "linda accounts add" in response.json()["message"]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("image", {"link": "https://example.com/villa.jpg", "caption": "The villa"}),
        ("document", {"id": "1234", "filename": "lease.pdf"}),
        ("location", {"latitude": 25.2, "longitude": 55.27, "name": "Office"}),
        ("reaction", {"message_id": "wamid.in.1.1", "emoji": "👍"}),
        ("interactive", {"type": "button", "body": {"text": "Book?"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]}}),
        ("contacts", [{"name": {"formatted_name": "Front desk"}, "phones": [{"phone": "+97140000001"}]}]),
    ],
)  # fmt: skip
async def test_every_message_type_is_queued(api: Api, kind: str, payload: Any) -> None:
    await wrote_in(api.db, PHONE)
    response = await send(api, {"to": PHONE, "type": kind, kind: payload})
    assert response.status_code == 202, response.text
    async with api.db.read() as session:
        stored = await session.get_one(Message, response.json()["id"])
    assert stored.type == kind and stored.payload[kind] == payload


async def test_sent_through_the_emulator_until_read(database_url: str) -> None:
    async with running_stack(database_url) as stack:
        await clear_tokens(stack.db)
        token = await create_token(stack.db, "e2e")
        await stack.emulator.user_sends(
            NUMBER.phone_number_id, USER, {"type": "text", "text": {"body": "is the villa free?"}}
        )
        await stack.inbox_settled()
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=stack.url, headers=headers) as client:
            response = await client.post("/api/messages", json={"messaging_product": "whatsapp", **TEXT})
            assert response.status_code == 202, response.text
            message_id = response.json()["id"]
            states: list[str] = []

            async def read() -> bool:
                states.append((await client.get(f"/api/messages/{message_id}")).json()["state"])
                return states[-1] == "read"

            await eventually(read)
            message = (await client.get(f"/api/messages/{message_id}")).json()
            conversations = (await client.get("/api/conversations")).json()["data"]
        [sent] = stack.emulator.sent_messages(USER)
    order = ["queued", "accepted", "sent", "delivered", "read"]
    assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)  # only forward
    assert sent.wamid == message["wamid"] and sent.body["text"]["body"] == TEXT["text"]["body"]
    assert (message["state"], message["to"], message["account"]) == ("read", PHONE, NUMBER.phone_number_id)
    [conversation] = conversations
    assert conversation["in_service_window"] is True and conversation["last_outbound_at"] is not None
