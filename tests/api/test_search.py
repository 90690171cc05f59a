"""GET /api/search: hits with snippets, the filter, pages, errors in the API's shape."""

from __future__ import annotations

from linda.store.models import Account, Contact, Message
from tests.api.conftest import Api


async def _corpus(api: Api) -> None:
    async with api.db.transaction() as session:
        account = Account(phone_number_id="search1", display_phone_number="+97140000009")
        vip = Contact(phone="+971501110001", name="Mariam", tags=["vip"], attributes={"cluster": "Vardon"})
        other = Contact(phone="+971501110002", name="Omar", tags=[], attributes={})
        session.add_all([account, vip, other])
        await session.flush()
        for contact, texts in ((vip, ["أُرِيدُ شِقَّةً في دبي", "شقة ثانية"]), (other, ["شقة للايجار", "hello"])):
            for body in texts:
                session.add(
                    Message(account_id=account.id, contact_id=contact.id, direction="in", type="text",
                            text=body, state="received")
                )  # fmt: skip


async def test_search_finds_ranks_and_pages(api: Api) -> None:
    await _corpus(api)
    first = await api.client.get("/api/search", params={"q": "شقة", "limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [hit["kind"] for hit in page["data"]] == ["message", "message"]
    assert all("[" in hit["snippet"] for hit in page["data"])
    rest = await api.client.get("/api/search", params={"q": "شقة", "cursor": page["next_cursor"]})
    assert len(rest.json()["data"]) == 1 and rest.json()["next_cursor"] is None
    seen = {hit["id"] for hit in page["data"] + rest.json()["data"]}
    assert len(seen) == 3


async def test_search_with_a_filter(api: Api) -> None:
    await _corpus(api)
    response = await api.client.get("/api/search", params={"q": "شقة", "filter": "tag = vip"})
    assert {hit["contact_name"] for hit in response.json()["data"]} == {"Mariam"}
    contacts = await api.client.get("/api/search", params={"q": "vardon", "scope": "contacts"})
    assert [hit["snippet"] for hit in contacts.json()["data"]] == ["Mariam · +971501110001 · [Vardon]"]


async def test_search_errors(api: Api) -> None:
    bad = await api.client.get("/api/search", params={"q": "x", "filter": "tag = = vip"})
    assert (
        bad.status_code == 422 and bad.json()["code"] == "invalid_filter" and bad.json()["field"] == "filter"
    )
    cursor = await api.client.get("/api/search", params={"q": "x", "cursor": "nonsense"})
    assert cursor.status_code == 400 and cursor.json()["code"] == "invalid_cursor"
    async with api.anonymous() as anonymous:
        assert (await anonymous.get("/api/search", params={"q": "x"})).status_code == 401
