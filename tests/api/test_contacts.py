"""Contacts through the API: create, find, page, update, opt out and in, erase."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from linda.store.models import Contact, Conversation, Message, OutboxItem, StatusEvent
from linda.store.types import utcnow
from tests.api.conftest import Api, error, wrote_in

FIELDS = {
    "id",
    "phone",
    "name",
    "locale",
    "tags",
    "attributes",
    "opted_out",
    "opted_out_at",
}


async def create(api: Api, **body: Any) -> dict[str, Any]:
    response = await api.client.post("/api/contacts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_read_and_find_by_phone_in_any_format(api: Api) -> None:
    made = await create(
        api,
        phone="00971 50 123 4567",
        name="Ali",
        locale="ar_AE",
        tags=["vip"],
        attributes={"unit": "A-12"},
    )
    assert FIELDS <= set(made) <= FIELDS | {"created_at", "updated_at"}
    assert (
        made["phone"],
        made["name"],
        made["locale"],
        made["tags"],
        made["attributes"],
    ) == (
        "+971501234567",
        "Ali",
        "ar_AE",
        ["vip"],
        {"unit": "A-12"},
    )
    assert made["opted_out"] is False
    assert (await api.client.get(f"/api/contacts/{made['id']}")).json() == made
    for spelling in ("+971 50 123 4567", "971501234567", "+971-50-1234567"):
        found = (await api.client.get("/api/contacts", params={"phone": spelling})).json()
        assert found == {"data": [made], "next_cursor": None}, spelling
    for raw in ("?phone=+971501234567", "?phone=971501234567", "?phone=%2B971501234567"):  # as typed in a URL
        assert (await api.client.get("/api/contacts" + raw)).json()["data"] == [made], raw
    absent = (await api.client.get("/api/contacts", params={"phone": "+971509999999"})).json()
    assert absent == {"data": [], "next_cursor": None}
    invalid = await api.client.get("/api/contacts", params={"phone": "12"})
    assert error(invalid) == (422, "invalid_phone", "phone")


async def test_a_second_contact_with_the_same_phone_conflicts(api: Api) -> None:
    first = await create(api, phone="+971501234567")
    again = await api.client.post("/api/contacts", json={"phone": "971 50 123 4567", "name": "Twin"})
    assert error(again) == (409, "contact_exists", "phone")
    assert f"/api/contacts/{first['id']}" in again.json()["message"]


async def test_filter_by_tag(api: Api) -> None:
    vip = await create(api, phone="+971501234567", tags=["vip", "dubai"])
    await create(api, phone="+971501234568", tags=["dubai"])
    await create(api, phone="+971501234569", tags=["vipx"])  # a longer tag is another tag
    page = (await api.client.get("/api/contacts", params={"tag": "vip"})).json()
    assert [c["id"] for c in page["data"]] == [vip["id"]]
    both = (await api.client.get("/api/contacts", params={"tag": "dubai", "limit": 10})).json()
    assert len(both["data"]) == 2


async def test_walking_every_page_sees_each_contact_once(api: Api) -> None:
    made = [(await create(api, phone=f"+97150123450{i}"))["id"] for i in range(7)]
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get("/api/contacts", params=params)).json()
        seen += [c["id"] for c in page["data"]]
        pages += 1
        if pages == 2:  # a contact created mid-walk shows up at the end, nothing shifts
            made.append((await create(api, phone="+971501234599"))["id"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3


async def test_patch_changes_only_what_is_given(api: Api) -> None:
    made = await create(api, phone="+971501234567", name="Ali", tags=["a"], attributes={"x": 1, "y": 2})
    patched = await api.client.patch(
        f"/api/contacts/{made['id']}", json={"tags": ["b", "c"], "attributes": {"z": 3}}
    )
    body = patched.json()
    assert patched.status_code == 200
    assert (body["name"], body["tags"], body["attributes"]) == (
        "Ali",
        ["b", "c"],
        {"z": 3},
    )  # replaced
    renamed = (
        await api.client.patch(f"/api/contacts/{made['id']}", json={"name": None, "locale": "en"})
    ).json()
    assert (renamed["name"], renamed["locale"], renamed["tags"]) == (
        None,
        "en",
        ["b", "c"],
    )
    assert renamed["updated_at"] >= body["updated_at"] >= made["updated_at"]
    assert (await api.client.get(f"/api/contacts/{made['id']}")).json() == renamed
    null_tags = await api.client.patch(f"/api/contacts/{made['id']}", json={"tags": None})
    assert error(null_tags) == (422, "invalid_request", "tags")
    missing = await api.client.patch("/api/contacts/999", json={"name": "x"})
    assert error(missing)[:2] == (404, "not_found")


async def test_opt_out_and_back_in(api: Api) -> None:
    made = await create(api, phone="+971501234567")
    out = (await api.client.post(f"/api/contacts/{made['id']}/opt-out")).json()
    assert out["opted_out"] is True and out["opted_out_at"] is not None
    again = (await api.client.post(f"/api/contacts/{made['id']}/opt-out")).json()
    assert again["opted_out_at"] == out["opted_out_at"]  # idempotent: the first time stands
    async with api.db.read() as session:
        assert (await session.get_one(Contact, made["id"])).opt_source == "api"
    back = (await api.client.post(f"/api/contacts/{made['id']}/opt-in")).json()
    assert back["opted_out"] is False
    assert error(await api.client.post("/api/contacts/999/opt-in"))[:2] == (
        404,
        "not_found",
    )


async def _count(api: Api, model: Any, *where: Any) -> int:
    async with api.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_delete_erases_the_contact_and_everything_about_it(api: Api) -> None:
    gone, conversation = await wrote_in(api.db, "+971501234567", "please forget me")
    kept, _ = await wrote_in(api.db, "+971501234568", "keep me")
    for to in ("+971501234567", "+971501234568"):
        sent = await api.client.post("/api/messages", json={"to": to, "type": "text", "text": {"body": "ok"}})
        assert sent.status_code == 202
    async with api.db.transaction() as session:
        session.add(
            StatusEvent(
                wamid="wamid.in.x",
                status="read",
                timestamp=utcnow(),
                recipient_id="971501234567",
                raw={},
            )
        )
    response = await api.client.delete(f"/api/contacts/{gone}")
    assert response.status_code == 204 and response.content == b""
    assert error(await api.client.get(f"/api/contacts/{gone}"))[:2] == (
        404,
        "not_found",
    )
    assert error(await api.client.get(f"/api/conversations/{conversation}"))[:2] == (
        404,
        "not_found",
    )
    assert await _count(api, Contact) == 1
    assert await _count(api, Conversation, Conversation.contact_id == gone) == 0
    assert await _count(api, Message, Message.contact_id == gone) == 0
    assert await _count(api, StatusEvent) == 0
    assert await _count(api, Message, Message.contact_id == kept) == 2
    assert await _count(api, OutboxItem) == 1  # the other contact's queued message stays
    assert error(await api.client.delete(f"/api/contacts/{gone}"))[:2] == (
        404,
        "not_found",
    )


async def test_delete_waits_for_a_send_in_flight(api: Api) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    contact, _ = await wrote_in(api.db, "+971501234567")
    await api.client.post(
        "/api/messages",
        json={"to": "+971501234567", "type": "text", "text": {"body": "x"}},
    )
    async with api.db.transaction() as session:  # as a sender holds it while calling the Graph API
        await session.execute(
            update(OutboxItem).values(lease_owner="sender-1", lease_until=utcnow() + timedelta(minutes=1))
        )
    assert error(await api.client.delete(f"/api/contacts/{contact}"))[:2] == (
        409,
        "send_in_progress",
    )
    assert (await api.client.get(f"/api/contacts/{contact}")).status_code == 200
