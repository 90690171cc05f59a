"""The emulated Graph API's sends: Meta's success shape, and each refusal with Meta's code and error shape."""

from __future__ import annotations

import httpx
import pytest

from linda.emulator import Template
from linda.whatsapp import errors, limits
from tests.emulator.rig import OTHER_USER, PNID, THIRD_USER, TOKEN, USER, Rig, number, running, template, text


async def test_accepted_text_answers_in_metas_shape(rig: Rig) -> None:
    rig.emulator.open_window(PNID, USER)
    result = await rig.client.send(PNID, text(to="+" + USER))
    assert result.wamid.startswith("wamid.")
    assert (result.wa_id, result.input) == (USER, "+" + USER)
    assert result.raw == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+" + USER, "wa_id": USER}],
        "messages": [{"id": result.wamid}],
    }
    [sent] = rig.emulator.sent_messages(to=USER)
    assert (sent.wamid, sent.status, sent.error_code, sent.phone_number_id) == (result.wamid, 200, None, PNID)
    assert sent.path == "/v23.0/PN1/messages"


async def test_template_is_accepted_without_a_window(rig: Rig) -> None:
    result = await rig.client.send(PNID, template())
    assert result.raw["messages"] == [{"id": result.wamid, "message_status": "accepted"}]


async def test_wamids_are_unique(rig: Rig) -> None:
    rig.emulator.open_window(PNID, USER)
    ids = {(await rig.client.send(PNID, text())).wamid for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_bad_or_missing_token_is_190(rig: Rig, http: httpx.AsyncClient, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = await http.post(f"{rig.url}/v23.0/{PNID}/messages", json=text(), headers=headers)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "code", "error_data", "fbtrace_id"}
    assert (error["code"], error["type"]) == (190, "OAuthException")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    with pytest.raises(errors.AccessTokenError) as caught:
        await rig.client.send(PNID, text(), access_token=token or "other")
    assert caught.value.http_status == 401
    assert not caught.value.is_retryable


async def test_per_call_token_overrides_the_default() -> None:
    async with running(numbers=[number(), number(phone_number_id="PN2", access_token="token-2")]) as rig:
        rig.emulator.open_window("PN2", USER)
        with pytest.raises(errors.AccessTokenError):
            await rig.client.send("PN2", text())
        assert (await rig.client.send("PN2", text(), access_token="token-2")).wa_id == USER


async def test_unknown_phone_number_id_is_100_subcode_33(rig: Rig) -> None:
    with pytest.raises(errors.InvalidParameter) as caught:
        await rig.client.send("NOPE", text())
    assert (caught.value.code, caught.value.subcode, caught.value.http_status) == (100, 33, 400)


async def test_invalid_body_is_100_with_the_validation_details(rig: Rig) -> None:
    rig.emulator.open_window(PNID, USER)
    with pytest.raises(errors.InvalidParameter) as caught:
        await rig.client.send(PNID, text(body="x" * (limits.TEXT_BODY_MAX + 1)))
    assert caught.value.details is not None
    assert "text.body" in caught.value.details
    assert caught.value.title == "(#100) Invalid parameter"
    assert not caught.value.is_retryable
    assert rig.emulator.requests[-1].error_code == 100
    assert rig.emulator.sent_messages() == []


async def test_body_that_is_not_json_is_100(rig: Rig, http: httpx.AsyncClient) -> None:
    answer = await http.post(
        f"{rig.url}/v23.0/{PNID}/messages", content=b"{nope", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100


@pytest.mark.parametrize("to", ["12345", "1555000123", "not-a-number"])
async def test_invalid_recipient_is_131026(rig: Rig, to: str) -> None:
    with pytest.raises(errors.Undeliverable) as caught:
        await rig.client.send(PNID, template(to=to))
    assert caught.value.code == 131026
    assert not caught.value.is_retryable


async def test_user_not_on_whatsapp_is_131026(rig: Rig) -> None:
    rig.emulator.mark_not_on_whatsapp("+" + OTHER_USER)
    with pytest.raises(errors.Undeliverable):
        await rig.client.send(PNID, template(to=OTHER_USER))
    assert (await rig.client.send(PNID, template(to=USER))).wa_id == USER


async def test_unknown_template_or_language_is_132001(rig: Rig) -> None:
    for body in (template(name="nope"), template(lang="pt_BR")):
        with pytest.raises(errors.TemplateNotFound) as caught:
            await rig.client.send(PNID, body)
        assert caught.value.http_status == 404


@pytest.mark.parametrize("params", [1, 3])
async def test_wrong_parameter_count_is_132000(rig: Rig, params: int) -> None:
    with pytest.raises(errors.TemplateParamMismatch) as caught:
        await rig.client.send(PNID, template(params=params))
    assert caught.value.details is not None
    assert "body: expected 2" in caught.value.details
    assert not caught.value.is_retryable


async def test_free_form_needs_the_24h_window(rig: Rig) -> None:
    with pytest.raises(errors.OutsideServiceWindow):
        await rig.client.send(PNID, text())
    rig.emulator.open_window(PNID, USER, at=rig.clock() - limits.SERVICE_WINDOW_SECONDS - 1)
    with pytest.raises(errors.OutsideServiceWindow) as caught:
        await rig.client.send(PNID, text())
    assert not caught.value.is_retryable
    await rig.client.send(PNID, template())
    rig.emulator.open_window(PNID, USER)
    await rig.client.send(PNID, text())
    rig.clock.advance(limits.SERVICE_WINDOW_SECONDS)
    with pytest.raises(errors.OutsideServiceWindow):
        await rig.client.send(PNID, text())


async def test_window_is_per_business_number() -> None:
    async with running(numbers=[number(), number(phone_number_id="PN2")]) as rig:
        rig.emulator.open_window(PNID, USER)
        with pytest.raises(errors.OutsideServiceWindow):
            await rig.client.send("PN2", text())


async def test_throughput_per_number_is_130429_and_refills() -> None:
    async with running(numbers=[number(throughput_per_second=2)]) as rig:
        await rig.client.send(PNID, template(to=USER))
        await rig.client.send(PNID, template(to=OTHER_USER))
        for _ in range(3):  # refused sends take no token
            with pytest.raises(errors.ThroughputExceeded) as caught:
                await rig.client.send(PNID, template(to=THIRD_USER))
        assert caught.value.code == 130429
        assert caught.value.is_retryable
        rig.clock.advance(0.5)
        await rig.client.send(PNID, template(to=THIRD_USER))
        with pytest.raises(errors.ThroughputExceeded):
            await rig.client.send(PNID, template(to=THIRD_USER))


async def test_pair_rate_is_131056_after_the_burst(rig: Rig) -> None:
    for _ in range(limits.PAIR_RATE_BURST):
        await rig.client.send(PNID, template())
        rig.clock.advance(1 / 80)  # stay under the number's throughput
    with pytest.raises(errors.PairRateExceeded) as caught:
        await rig.client.send(PNID, template())
    assert caught.value.code == 131056
    assert caught.value.is_retryable
    await rig.client.send(PNID, template(to=OTHER_USER))  # other pairs are unaffected
    rig.clock.advance(limits.PAIR_RATE_INTERVAL_SECONDS)
    await rig.client.send(PNID, template())


async def test_injected_failures(rig: Rig) -> None:
    rig.emulator.open_window(PNID, USER)
    rig.emulator.fail_next(131000, times=2)
    for _ in range(2):
        with pytest.raises(errors.ServiceUnavailable) as caught:
            await rig.client.send(PNID, text())
        assert caught.value.http_status == 500
        assert caught.value.is_retryable
    await rig.client.send(PNID, text())


async def test_injected_failure_for_one_recipient(rig: Rig) -> None:
    rig.emulator.fail_next(131026, to="+" + OTHER_USER)
    await rig.client.send(PNID, template(to=USER))
    with pytest.raises(errors.Undeliverable) as caught:
        await rig.client.send(PNID, template(to=OTHER_USER))
    assert caught.value.http_status == 400
    await rig.client.send(PNID, template(to=OTHER_USER))


async def test_mark_as_read_needs_a_received_message(rig: Rig) -> None:
    wamid = await rig.emulator.user_sends(PNID, USER, {"type": "text", "text": {"body": "hi"}})
    await rig.client.mark_as_read(PNID, wamid)
    assert rig.emulator.requests[-1].body == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": wamid,
    }
    assert rig.emulator.requests[-1].status == 200
    with pytest.raises(errors.InvalidParameter):
        await rig.client.mark_as_read(PNID, "wamid.unknown")


async def test_any_version_is_served_but_not_any_path(rig: Rig, http: httpx.AsyncClient) -> None:
    rig.emulator.open_window(PNID, USER)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = await http.post(f"{rig.url}/v19.0/{PNID}/messages", json=text(), headers=headers)
    assert answer.status_code == 200
    answer = await http.post(f"{rig.url}/latest/{PNID}/messages", json=text(), headers=headers)
    assert answer.json()["error"]["code"] == 100


async def test_templates_added_later_are_known() -> None:
    async with running(templates=[]) as rig:
        with pytest.raises(errors.TemplateNotFound):
            await rig.client.send(PNID, template(params=0))
        rig.emulator.add_template(Template("order_update", "en_US", {}))
        await rig.client.send(PNID, template(params=0))
