"""Bearer tokens: every failure answers alike; a valid token works; nothing secret ever leaves."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from linda.api.tokens import (
    create_token,
    list_tokens,
    revoke_token,
    token_hash,
    verify_token,
)
from linda.store.models import ApiToken
from tests.api.conftest import Api, wrote_in

ENDPOINTS = [
    ("GET", "/api/accounts"),
    ("GET", "/api/contacts"),
    ("POST", "/api/contacts"),
    ("GET", "/api/contacts/1"),
    ("PATCH", "/api/contacts/1"),
    ("DELETE", "/api/contacts/1"),
    ("POST", "/api/contacts/1/opt-out"),
    ("POST", "/api/contacts/1/opt-in"),
    ("GET", "/api/conversations"),
    ("GET", "/api/conversations/1"),
    ("GET", "/api/conversations/1/messages"),
    ("POST", "/api/conversations/1/assign"),
    ("POST", "/api/conversations/1/release"),
    ("POST", "/api/messages"),
    ("GET", "/api/messages/1"),
]


async def test_every_failure_is_the_same_401(api: Api) -> None:
    revoked = await create_token(api.db, "old laptop")
    await revoke_token(api.db, "old laptop")
    unknown = "linda_" + "A" * 43
    attempts = {
        "no header": {},
        "unknown token": {"Authorization": f"Bearer {unknown}"},
        "revoked token": {"Authorization": f"Bearer {revoked}"},
        "not a Linda token": {"Authorization": "Bearer hello"},
        "other scheme": {"Authorization": f"Basic {api.token}"},
        "no scheme": {"Authorization": api.token},
        "empty bearer": {"Authorization": "Bearer "},
        "hash instead of token": {"Authorization": f"Bearer {token_hash(api.token)}"},
    }
    answers = {}
    for name, headers in attempts.items():
        async with api.anonymous(**headers) as client:
            response = await client.get("/api/contacts")
        answers[name] = (
            response.status_code,
            response.headers.get("www-authenticate"),
            response.json(),
        )
    first = answers["no header"]
    assert first[0] == 401 and first[1] == "Bearer"
    assert first[2]["code"] == "unauthorized" and first[2]["field"] is None
    assert "linda token create" in first[2]["message"]
    assert all(answer == first for answer in answers.values()), answers


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_needs_a_token(api: Api, method: str, path: str) -> None:
    async with api.anonymous() as client:
        response = await client.request(method, path, json={"anything": 1})
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


async def test_a_valid_token_works_until_it_is_revoked(api: Api) -> None:
    token = await create_token(api.db, "crm")
    async with api.anonymous(Authorization=f"Bearer {token}") as client:
        assert (await client.get("/api/accounts")).status_code == 200
        assert await revoke_token(api.db, "crm") is True
        assert await revoke_token(api.db, "crm") is False  # already revoked
        assert (await client.get("/api/accounts")).status_code == 401
    assert (await api.client.get("/api/accounts")).status_code == 200  # other tokens are unaffected


async def test_only_the_hash_is_stored_and_use_is_noted(api: Api) -> None:
    async with api.db.read() as session:
        row = (await session.scalars(select(ApiToken).where(ApiToken.name == "tests"))).one()
    assert row.token_hash == hashlib.sha256(api.token.encode()).hexdigest()
    assert api.token not in (row.name, row.token_hash)
    assert api.token.startswith("linda_") and len(api.token) == len("linda_") + 43
    await api.client.get("/api/accounts")
    [first] = [t.last_used_at for t in await list_tokens(api.db) if t.name == "tests"]
    await api.client.get("/api/accounts")
    [again] = [t.last_used_at for t in await list_tokens(api.db) if t.name == "tests"]
    assert first is not None and again == first  # noted at most once a minute, not on every request


async def test_tokens_are_random_and_names_unique(api: Api) -> None:
    from linda.api.tokens import TokenError

    one, two = await create_token(api.db, "a"), await create_token(api.db, "b")
    assert one != two
    with pytest.raises(TokenError, match="exists"):
        await create_token(api.db, "a")
    with pytest.raises(TokenError, match="no token named"):
        await revoke_token(api.db, "nobody")
    assert (await verify_token(api.db, one)) is not None
    assert await verify_token(api.db, one[:-1] + ("x" if one[-1] != "x" else "y")) is None


async def test_no_response_carries_a_secret(api: Api) -> None:
    from sqlalchemy import update

    from linda.store.models import Account

    secret = "EAAG-very-secret-graph-token"
    async with api.db.transaction() as session:
        await session.execute(update(Account).values(access_token=secret))
    contact_id, conversation_id = await wrote_in(api.db, "+971501234567")
    hashes = [t.token_hash for t in await list_tokens(api.db)]
    paths = [
        "/api/accounts",
        "/api/contacts",
        f"/api/contacts/{contact_id}",
        "/api/conversations",
        f"/api/conversations/{conversation_id}",
        f"/api/conversations/{conversation_id}/messages",
        "/openapi.json",
    ]
    for path in paths:
        response = await api.client.get(path)
        assert response.status_code == 200, path
        for forbidden in (secret, "access_token", api.token, "token_hash", *hashes):
            assert forbidden not in response.text, (path, forbidden)


async def test_openapi_documents_bearer_auth_and_the_error_shape(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["token"]["description"],
    }
    send = schema["paths"]["/api/messages"]["post"]
    assert send["security"] == [{"token": []}]
    assert send["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "/docs" in [r.path for r in api.app.routes if hasattr(r, "path")]
