"""Conversations through the API: list with filters and pages, read, messages newest first, hand-off."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, error, wrote_in
from tests.conftest import NUMBER, SECOND_NUMBER

FIELDS = {
    "id",
    "account",
    "contact_id",
    "window_expires_at",
    "in_service_window",
    "last_inbound_at",
    "last_outbound_at",
    "assigned_to",
    "assigned_at",
}


async def ids(api: Api, **params: Any) -> list[int]:
    response = await api.client.get("/api/conversations", params=params)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["data"]]


async def test_list_newest_first_with_filters(api: Api) -> None:
    ali, first = await wrote_in(api.db, "+971501234567")
    _, second = await wrote_in(api.db, "+971501234568", hours_ago=30)  # window closed
    _, third = await wrote_in(api.db, "+971501234567", phone_number_id=SECOND_NUMBER.phone_number_id)
    assert await ids(api) == [third, second, first]
    assert await ids(api, account=NUMBER.phone_number_id) == [second, first]
    assert await ids(api, contact_id=ali) == [third, first]
    assert await ids(api, account="nope") == []
    await api.client.post(f"/api/conversations/{second}/assign", json={"to": "Sara"})
    assert await ids(api, assigned_to="Sara") == [second]
    page = (await api.client.get("/api/conversations", params={"limit": 2})).json()
    rest = (await api.client.get("/api/conversations", params={"cursor": page["next_cursor"]})).json()
    assert [c["id"] for c in page["data"] + rest["data"]] == [third, second, first]
    assert rest["next_cursor"] is None


async def test_read_shows_the_window(api: Api) -> None:
    contact, open_one = await wrote_in(api.db, "+971501234567", hours_ago=1)
    _, closed = await wrote_in(api.db, "+971501234568", hours_ago=25)
    body = (await api.client.get(f"/api/conversations/{open_one}")).json()
    assert set(body) == FIELDS
    assert (body["account"], body["contact_id"], body["in_service_window"]) == (
        NUMBER.phone_number_id,
        contact,
        True,
    )
    assert body["window_expires_at"] > body["last_inbound_at"]
    assert (await api.client.get(f"/api/conversations/{closed}")).json()["in_service_window"] is False


async def test_messages_newest_first_in_pages(api: Api) -> None:
    _, conversation = await wrote_in(api.db, "+971501234567", "hello")
    for n in range(4):
        sent = await api.client.post(
            "/api/messages", json={"to": "+971501234567", "type": "text", "text": {"body": f"answer {n}"}}
        )
        assert sent.status_code == 202
    texts: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get(f"/api/conversations/{conversation}/messages", params=params)).json()
        texts += [(m["direction"], m["text"]) for m in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert texts == [("out", f"answer {n}") for n in (3, 2, 1, 0)] + [("in", "hello")]
    first = (await api.client.get(f"/api/conversations/{conversation}/messages")).json()["data"][-1]
    assert (first["from"], first["to"], first["state"]) == ("+971501234567", "+971 4 000 0001", "received")
    missing = await api.client.get("/api/conversations/999/messages")
    assert error(missing)[:2] == (404, "not_found")


async def test_a_cursor_of_one_conversation_is_refused_for_another(api: Api) -> None:
    _, one = await wrote_in(api.db, "+971501234567", "a")
    _, other = await wrote_in(api.db, "+971501234568", "b")
    await api.client.post(
        "/api/messages", json={"to": "+971501234567", "type": "text", "text": {"body": "c"}}
    )
    page = (await api.client.get(f"/api/conversations/{one}/messages", params={"limit": 1})).json()
    assert page["next_cursor"] is not None
    wrong = await api.client.get(
        f"/api/conversations/{other}/messages", params={"cursor": page["next_cursor"]}
    )
    assert error(wrong) == (400, "invalid_cursor", "cursor")


async def test_assign_and_release(api: Api) -> None:
    _, conversation = await wrote_in(api.db, "+971501234567")
    assigned = await api.client.post(f"/api/conversations/{conversation}/assign", json={"to": "  Sara  "})
    body = assigned.json()
    assert assigned.status_code == 200
    assert body["assigned_to"] == "Sara" and body["assigned_at"] is not None
    assert (await api.client.get(f"/api/conversations/{conversation}")).json() == body
    again = (await api.client.post(f"/api/conversations/{conversation}/assign", json={"to": "Omar"})).json()
    assert again["assigned_to"] == "Omar"  # reassigning is allowed
    released = (await api.client.post(f"/api/conversations/{conversation}/release")).json()
    assert (released["assigned_to"], released["assigned_at"]) == (None, None)
    twice = await api.client.post(f"/api/conversations/{conversation}/release")
    assert twice.status_code == 200 and twice.json() == released
    empty = await api.client.post(f"/api/conversations/{conversation}/assign", json={"to": " "})
    assert error(empty) == (422, "invalid_request", "to")
    extra = await api.client.post(f"/api/conversations/{conversation}/assign", json={"to": "x", "note": "y"})
    assert error(extra) == (422, "unknown_field", "note")
    missing = await api.client.post("/api/conversations/999/assign", json={"to": "Sara"})
    assert error(missing)[:2] == (404, "not_found")
