"""One error shape for everything under /api: validation, unknown fields, bad types, bad cursors, not found."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.conftest import Api, error


async def test_unknown_fields_are_rejected_by_name(api: Api) -> None:
    created = await api.client.post("/api/contacts", json={"phone": "+971501234567", "nmae": "Ali"})
    assert error(created) == (422, "unknown_field", "nmae")
    assert "remove it" in created.json()["message"]
    contact = (await api.client.post("/api/contacts", json={"phone": "+971501234567"})).json()
    patched = await api.client.patch(f"/api/contacts/{contact['id']}", json={"opted_out": True})
    assert error(patched) == (422, "unknown_field", "opted_out")
    sent = await api.client.post(
        "/api/messages",
        json={
            "to": "+971501234567",
            "type": "text",
            "text": {"body": "hi"},
            "priority": 9,
        },
    )
    assert error(sent) == (422, "unknown_field", "priority")
    listed = await api.client.get("/api/contacts", params={"tags": "vip"})  # the filter is `tag`
    assert error(listed) == (422, "unknown_field", "tags")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "phone", "missing_field"),
        ({"phone": 971501234567}, "phone", "invalid_request"),
        ({"phone": "+971501234567", "tags": "vip"}, "tags", "invalid_request"),
        ({"phone": "+971501234567", "tags": ["vip", 7]}, "tags[1]", "invalid_request"),
        ({"phone": "+971501234567", "attributes": []}, "attributes", "invalid_request"),
        (
            {"phone": "+971501234567", "locale": "english please"},
            "locale",
            "invalid_request",
        ),
        ({"phone": "12345"}, "phone", "invalid_phone"),
    ],
)
async def test_bad_values_name_their_field(api: Api, body: dict[str, object], field: str, code: str) -> None:
    assert error(await api.client.post("/api/contacts", json=body)) == (
        422,
        code,
        field,
    )


async def test_a_body_that_is_not_json(api: Api) -> None:
    response = await api.client.post(
        "/api/contacts",
        content=b"{phone:",
        headers={"Content-Type": "application/json"},
    )
    assert error(response) == (422, "invalid_json", None)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"limit": "x"}, "limit")],
)
async def test_limits_out_of_range(api: Api, params: dict[str, str], field: str) -> None:
    assert error(await api.client.get("/api/contacts", params=params)) == (
        422,
        "invalid_request",
        field,
    )


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        _cursor([1, 2]),
        _cursor({"l": "contacts", "id": "7"}),
        _cursor({"l": "conversations", "id": 7}),  # another listing's cursor
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_bad_cursors(api: Api, cursor: str) -> None:
    response = await api.client.get("/api/contacts", params={"cursor": cursor})
    assert error(response) == (400, "invalid_cursor", "cursor")


async def test_not_found_and_wrong_method(api: Api) -> None:
    for path in (
        "/api/contacts/999",
        "/api/conversations/999",
        "/api/messages/999",
        "/api/nothing",
    ):
        assert error(await api.client.get(path))[:2] == (404, "not_found"), path
    assert error(await api.client.put("/api/contacts"))[:2] == (
        405,
        "method_not_allowed",
    )
    assert error(await api.client.get("/api/contacts/abc")) == (
        422,
        "invalid_request",
        "contact_id",
    )


async def test_outside_api_fastapi_errors_are_unchanged(api: Api) -> None:
    response = await api.client.get("/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
