"""`GET /api/contacts?filter=`: the filter language through the API."""

from __future__ import annotations

from linda.store.models import Contact, Segment
from tests.api.conftest import Api, error


async def test_the_api_filters_and_names_the_mistake(api: Api) -> None:
    async with api.db.transaction() as session:
        owner = Contact(phone="+971501234567", tags=["owner"])
        session.add_all(
            [
                owner,
                Contact(phone="+971551234567", tags=["buyer"]),
                Segment(name="owners", filter="tag = owner"),
            ]
        )
    for text in (
        "tag = owner AND NOT opted_out",
        "@owners",
        "tag IN [owner, nobody] AND phone STARTS WITH '+9715'",
    ):
        response = await api.client.get("/api/contacts", params={"filter": text})
        assert response.status_code == 200, response.text
        assert [c["id"] for c in response.json()["data"]] == [owner.id], text
    response = await api.client.get("/api/contacts", params={"filter": "tag = owner", "tag": "buyer"})
    assert response.json()["data"] == []
    response = await api.client.get("/api/contacts", params={"filter": "tag = owner AND", "limit": 1})
    assert error(response) == (422, "invalid_filter", "filter")
    assert "position 15" in response.json()["message"]
    assert "expected a field name" in response.json()["message"]
    response = await api.client.get("/api/contacts", params={"filter": "opted_out > 3"})
    assert error(response) == (422, "invalid_filter", "filter")
