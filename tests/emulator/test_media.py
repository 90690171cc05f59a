"""The emulated media endpoints' refusals (the roundtrip is in tests/whatsapp/test_client.py)."""

from __future__ import annotations

import httpx
import pytest

from linda.whatsapp import errors
from tests.emulator.rig import PNID, TOKEN, Rig, number, running


async def test_upload_checks_type_and_size(rig: Rig) -> None:
    with pytest.raises(errors.GraphAPIError) as caught:
        await rig.client.upload_media(PNID, b"data", "nonsense", "a.bin")
    assert caught.value.code == 131053
    with pytest.raises(errors.GraphAPIError):
        await rig.client.upload_media(PNID, b"x" * (5 * 1024 * 1024 + 1), "image/jpeg", "big.jpg")


async def test_upload_needs_messaging_product_and_a_file(rig: Rig, http: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{rig.url}/v23.0/{PNID}/media"
    no_product = await http.post(url, headers=headers, files={"file": ("a.txt", b"a", "text/plain")})
    assert no_product.json()["error"]["code"] == 100
    no_file = await http.post(
        url, headers=headers, data={"messaging_product": "whatsapp", "type": "text/plain"}
    )
    assert no_file.json()["error"]["code"] == 100


async def test_unknown_media_is_100_subcode_33(rig: Rig) -> None:
    with pytest.raises(errors.InvalidParameter) as caught:
        await rig.client.get_media("123")
    assert caught.value.subcode == 33


async def test_media_belongs_to_its_numbers_token() -> None:
    async with running(numbers=[number(), number(phone_number_id="PN2", access_token="token-2")]) as rig:
        media_id = await rig.client.upload_media(PNID, b"abc", "text/plain", "a.txt")
        with pytest.raises(errors.AccessTokenError):
            await rig.client.get_media(media_id, access_token="token-2")
        info = await rig.client.get_media(media_id)
        with pytest.raises(errors.AccessTokenError):
            await rig.client.download_media(info.url, access_token="token-2")
        with pytest.raises(errors.InvalidParameter):
            await rig.client.download_media(info.url.replace(media_id, "999"))
