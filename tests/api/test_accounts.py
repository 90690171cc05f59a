"""GET /api/accounts, and the error shape of a failure inside Linda."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Api, error
from tests.conftest import NUMBER, SECOND_NUMBER


async def test_accounts_in_pages(api: Api) -> None:
    first = (await api.client.get("/api/accounts", params={"limit": 1})).json()
    second = (
        await api.client.get("/api/accounts", params={"limit": 1, "cursor": first["next_cursor"]})
    ).json()
    assert second["next_cursor"] is None
    [main], [rentals] = first["data"], second["data"]
    assert main == {
        "phone_number_id": NUMBER.phone_number_id,
        "display_phone_number": NUMBER.display_phone_number,
        "name": "Main",
        "waba_id": "WABA1",
        "throughput_per_second": 80,
        "quality": "UNKNOWN",
    }
    assert rentals["phone_number_id"] == SECOND_NUMBER.phone_number_id


async def test_a_crash_answers_in_the_error_shape(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from linda.api import accounts

    def broken(_account: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(accounts, "account_view", broken)
    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {api.token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://linda.test", headers=headers
    ) as client:
        response = await client.get("/api/accounts")
    assert error(response)[:2] == (500, "internal_error")
    assert "disk on fire" not in response.text
