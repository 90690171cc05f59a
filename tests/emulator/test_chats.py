"""Simulated users' chats: users, chat history, the live event feed (server-sent events) and attached media."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from linda.emulator import EmulatedNumber
from linda.emulator.chats import ChatLog, preview
from linda.emulator.state import RecordedWebhook
from linda.whatsapp import messages
from tests.emulator.rig import PNID, USER, Rig, number, running, text


class Feed:
    """An open `GET /_emulator/events` stream, read event by event (heartbeats counted apart)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.heartbeats = 0

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> dict[str, Any]:
        fields: dict[str, str] = {}
        async for line in self.lines:
            if line.startswith(":"):
                self.heartbeats += 1
            elif line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
            elif fields:
                event: dict[str, Any] = json.loads(fields["data"])
                assert fields["id"] == str(event["seq"]) and fields["event"] == event["kind"]
                return event
        raise AssertionError("the stream ended")

    async def until(self, check: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Events read until one satisfies `check` (included)."""
        seen: list[dict[str, Any]] = []
        while not seen or not check(seen[-1]):
            seen.append(await self.next(timeout))
        return seen


@contextlib.asynccontextmanager
async def feed(
    rig: Rig, http: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[Feed]:
    async with http.stream("GET", f"{rig.url}/_emulator/events", params=params, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Feed(response)


async def say(http: httpx.AsyncClient, rig: Rig, body: str = "hi", **extra: Any) -> str:
    answer = await http.post(
        f"{rig.url}/_emulator/inbound", json={"from": USER, "type": "text", "text": {"body": body}, **extra}
    )
    assert answer.status_code == 200
    return str(answer.json()["id"])


def summary(events: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(e["kind"], e.get("direction", ""), e.get("status", e.get("profile_name") or "")) for e in events]


async def test_a_conversation_as_events(rig: Rig, http: httpx.AsyncClient) -> None:
    async with feed(rig, http, user=USER) as live:
        said = await say(http, rig, "hi", profile_name="Ali")
        user, message = await live.next(), await live.next()
        assert (user["kind"], user["user"], user["profile_name"]) == ("user", USER, "Ali")
        assert message["kind"] == "message" and message["direction"] == "in" and message["id"] == said
        assert message["message"]["text"] == {"body": "hi"} and message["message"]["from"] == USER
        assert message["status"] == "sent" and message["phone_number_id"] == PNID
        delivered = await live.next()  # Linda (here the rig's receiver) accepted the webhook
        assert (delivered["kind"], delivered["id"], delivered["status"]) == ("status", said, "delivered")

        reply = messages.request_body(USER, messages.reply_buttons("Pick one", [("rent", "Rent")]))
        sent = (await rig.client.send(PNID, {**reply, "context": {"message_id": said}})).wamid
        out = await live.next()
        assert (out["kind"], out["direction"], out["id"], out["status"]) == (
            "message",
            "out",
            sent,
            "accepted",
        )
        assert out["message"]["interactive"]["action"]["buttons"][0]["reply"] == {
            "id": "rent",
            "title": "Rent",
        }
        assert out["message"]["context"] == {"message_id": said}
        statuses = await live.until(lambda e: e.get("status") == "read")
        assert [(e["id"], e["status"]) for e in statuses] == [
            (sent, "sent"),
            (sent, "delivered"),
            (sent, "read"),
        ]

        await rig.client.mark_as_read(PNID, said)
        read = await live.next()
        assert (read["kind"], read["direction"], read["id"], read["status"]) == ("status", "in", said, "read")

    seqs = [e["seq"] for e in [user, message, delivered, out, *statuses, read]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    history = (await http.get(f"{rig.url}/_emulator/users/+{USER}/chat")).json()
    assert history["user"]["profile_name"] == "Ali"
    assert [e["seq"] for e in history["events"]] == seqs
    assert (await http.get(f"{rig.url}/_emulator/users/999/chat")).status_code == 404


async def test_replay_after_a_seq_and_from_last_event_id(rig: Rig, http: httpx.AsyncClient) -> None:
    await say(http, rig, "one")
    await say(http, rig, "two")
    await rig.emulator.wait_idle()
    history = (await http.get(f"{rig.url}/_emulator/users/{USER}/chat")).json()["events"]
    assert sorted(summary(history)) == [
        ("message", "in", "sent"),
        ("message", "in", "sent"),
        ("status", "in", "delivered"),
        ("status", "in", "delivered"),
        ("user", "", "Test User"),
    ]
    async with feed(rig, http, user=USER, after=0) as everything:
        assert [await everything.next() for _ in history] == history
        await say(http, rig, "three")
        assert (await everything.next())["message"]["text"]["body"] == "three"
    async with feed(
        rig, http, headers={"Last-Event-ID": str(history[2]["seq"])}, user=USER, after=0
    ) as resumed:
        assert [(await resumed.next())["seq"] for _ in range(2)] == [e["seq"] for e in history[3:]]
        assert (await resumed.next())["message"]["text"]["body"] == "three"


async def test_the_business_marking_one_message_read_reads_the_earlier_ones(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    first, second, third = [await say(http, rig, body) for body in ("a", "b", "c")]
    await rig.emulator.wait_idle()
    async with feed(rig, http, user=USER) as live:
        await rig.client.mark_as_read(PNID, second)
        assert [(e["id"], e["status"]) for e in [await live.next(), await live.next()]] == [
            (first, "read"),
            (second, "read"),
        ]
        await rig.client.mark_as_read(PNID, first)  # already read: nothing new
        await rig.client.mark_as_read(PNID, third)
        assert [(e["id"], e["status"]) for e in [await live.next()]] == [(third, "read")]


async def test_heartbeats_and_the_feed_of_all_users(rig: Rig, http: httpx.AsyncClient) -> None:
    rig.emulator.heartbeat_seconds = 0.05
    async with feed(rig, http) as everyone:
        other = await http.post(f"{rig.url}/_emulator/users", json={"wa_id": "+971 50 123 4567"})
        assert other.json()["wa_id"] == "971501234567"
        await say(http, rig)
        events = await everyone.until(lambda e: e["kind"] == "message")
        assert [(e["kind"], e["user"]) for e in events] == [
            ("user", "971501234567"),
            ("user", USER),
            ("message", USER),
        ]
        await asyncio.sleep(0.2)
        await rig.client.send(PNID, text())
        await everyone.until(lambda e: e["kind"] == "message")
        assert everyone.heartbeats >= 2


async def test_statuses_only_move_forward(rig: Rig, http: httpx.AsyncClient) -> None:
    rig.emulator.open_window(PNID, USER)
    rig.emulator.reorder_statuses = True
    rig.emulator.duplicate_statuses = True
    sent = (await rig.client.send(PNID, text())).wamid
    await rig.emulator.wait_idle()
    outs = [e for e in rig.emulator.chats.chat(USER) if e.get("id") == sent]
    assert [(e["kind"], e["status"]) for e in outs] == [("message", "accepted"), ("status", "read")]


async def test_a_failed_status_and_a_raw_users_message(rig: Rig, http: httpx.AsyncClient) -> None:
    rig.emulator.open_window(PNID, USER)
    sent = (await rig.client.send(PNID, text())).wamid
    await rig.emulator.wait_idle()
    error = {"code": 131049, "title": "Not delivered", "error_data": {"details": "ecosystem"}}
    value = {
        "metadata": {"phone_number_id": PNID},
        "statuses": [
            {"id": sent, "status": "failed", "recipient_id": USER, "errors": [error]},
            {"id": "wamid.elsewhere", "status": "sent", "recipient_id": "971501112222"},
            {"id": "wamid.nobody", "status": "sent"},
            "not a status",
        ],
        "contacts": [{"wa_id": "971509990000", "profile": {"name": "Raw Rita"}}, "junk"],
        "messages": [{"from": "971509990000", "id": "wamid.raw1", "type": "text", "text": {"body": "raw"}}],
    }
    payload = {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value}, "junk"]}]}
    await http.post(f"{rig.url}/_emulator/webhooks", json=payload)
    await http.post(f"{rig.url}/_emulator/webhooks", json={"entry": "not a list"})
    await rig.emulator.wait_idle()
    chat = rig.emulator.chats.chat(USER)
    failed = [e for e in chat if e.get("status") == "failed"]
    # read was already shown: a later failure does not undo it
    assert failed == []
    rig.emulator.open_window(PNID, USER)
    rig.emulator.status_delays = (5.0, 5.0, 5.0)  # nothing arrives before the failure
    second = (await rig.client.send(PNID, text())).wamid
    value["statuses"] = [{"id": second, "status": "failed", "recipient_id": USER, "errors": [error]}]
    await http.post(f"{rig.url}/_emulator/webhooks", json=payload)
    await asyncio.sleep(0.2)
    [failure] = [e for e in rig.emulator.chats.chat(USER) if e.get("status") == "failed"]
    assert failure["id"] == second and failure["errors"] == [error]
    users = {u["wa_id"]: u for u in (await http.get(f"{rig.url}/_emulator/users")).json()}
    assert users["971509990000"]["profile_name"] == "Raw Rita"
    assert users["971509990000"]["preview"] == "raw"
    assert "971501112222" in users
    raw = rig.emulator.chats.chat("971509990000")
    assert [(e["kind"], e.get("status")) for e in raw] == [
        ("user", None),
        ("message", "sent"),
        ("status", "delivered"),
    ]


async def test_users_are_created_renamed_and_listed(rig: Rig, http: httpx.AsyncClient) -> None:
    url = f"{rig.url}/_emulator/users"
    bad = await http.post(url, json={"wa_id": "12345", "profile_name": "Nobody"})
    assert bad.status_code == 422 and "valid phone number" in bad.text
    made = (await http.post(url, json={"wa_id": "+971501234567", "profile_name": " Ali "})).json()
    assert made["wa_id"] == "971501234567" and made["profile_name"] == "Ali" and made["preview"] == ""
    again = (await http.post(url, json={"wa_id": "971501234567", "profile_name": "Ali"})).json()
    assert again == made
    await http.post(url, json={"wa_id": "971501234567", "profile_name": "Ali B."})
    rig.clock.advance(5)
    await http.post(
        f"{rig.url}/_emulator/inbound",
        json={"from": "971501234567", "type": "text", "text": {"body": "salam"}},
    )
    listed = (await http.get(url)).json()
    assert [(u["wa_id"], u["profile_name"], u["preview"]) for u in listed] == [
        ("971501234567", "Ali B.", "salam")
    ]
    await rig.emulator.wait_idle()
    contacts = rig.receiver.accepted[-1].body["entry"][0]["changes"][0]["value"]["contacts"]
    assert contacts[0]["profile"]["name"] == "Ali B."  # the known name, when the message names none
    kinds = [(e["kind"], e.get("profile_name")) for e in rig.emulator.chats.chat("971501234567")]
    assert kinds[:2] == [("user", "Ali"), ("user", "Ali B.")]
    numbers = (await http.get(f"{rig.url}/_emulator/numbers")).json()
    assert numbers == [{"phone_number_id": PNID, "display_phone_number": "+1 555 000 1111"}]


async def test_an_attached_image_reaches_the_business(rig: Rig, http: httpx.AsyncClient) -> None:
    picture = b"\x89PNG\r\n\x1a\nnot really a png"
    stored = await http.post(f"{rig.url}/_emulator/media", files={"file": ("flat.png", picture, "image/png")})
    assert stored.status_code == 200
    media_id = stored.json()["id"]
    assert stored.json()["mime_type"] == "image/png" and stored.json()["file_size"] == len(picture)
    answer = await http.post(
        f"{rig.url}/_emulator/inbound",
        json={"from": USER, "type": "image", "image": {"id": media_id, "caption": "my flat"}},
    )
    assert answer.status_code == 200
    await rig.emulator.wait_idle()
    image = rig.receiver.accepted[-1].body["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    assert image["id"] == media_id and image["mime_type"] == "image/png" and image["caption"] == "my flat"
    assert await rig.client.download_media((await rig.client.get_media(media_id)).url) == picture
    shown = await http.get(f"{rig.url}/_emulator/media/{media_id}")
    assert shown.content == picture and shown.headers["content-type"] == "image/png"
    assert (await http.get(f"{rig.url}/_emulator/media/404")).status_code == 404
    assert rig.emulator.chats.user_list()[0]["preview"] == "my flat"


async def test_attaching_checks_the_file_and_the_number(rig: Rig, http: httpx.AsyncClient) -> None:
    url = f"{rig.url}/_emulator/media"
    assert (await http.post(url, data={"phone_number_id": PNID})).status_code == 422
    empty = await http.post(url, files={"file": ("e.png", b"", "image/png")})
    assert empty.status_code == 422 and "empty" in empty.text
    unknown = await http.post(
        url, data={"phone_number_id": "X"}, files={"file": ("a.png", b"x", "image/png")}
    )
    assert unknown.status_code == 404
    rig.emulator.add_number(EmulatedNumber("PN2", "+1 555 000 2222"))
    several = await http.post(url, files={"file": ("a.png", b"x", "image/png")})
    assert several.status_code == 422 and "phone_number_id" in several.text
    chosen = await http.post(
        url, data={"phone_number_id": "PN2"}, files={"file": ("a.png", b"x", "image/png")}
    )
    assert rig.emulator.media[chosen.json()["id"]].phone_number_id == "PN2"


async def test_streams_end_when_the_server_stops(http: httpx.AsyncClient) -> None:
    async with running(numbers=[number()]) as rig:
        response_ended = asyncio.Event()

        async def read() -> None:
            async with feed(rig, http) as live:
                with contextlib.suppress(AssertionError):
                    await live.next(timeout=30)
            response_ended.set()

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.2)
    await asyncio.wait_for(response_ended.wait(), 5)
    await reader


@pytest.mark.parametrize(
    ("message", "line"),
    [
        ({"type": "text", "text": {"body": "x" * 100}}, "x" * 79 + "…"),
        (
            {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"title": "Rent"}},
            },
            "Rent",
        ),
        ({"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick"}}}, "Pick"),
        ({"type": "button", "button": {"payload": "p", "text": "Yes"}}, "Yes"),
        ({"type": "image", "image": {"id": "1"}}, "Photo"),
        ({"type": "document", "document": {"link": "l", "filename": "a.pdf"}}, "a.pdf"),
        ({"type": "location", "location": {"name": "Marina"}}, "Location: Marina"),
        ({"type": "template", "template": {"name": "hello_world"}}, "Template hello_world"),
        ({"type": "reaction", "reaction": {"emoji": "👍"}}, "Reacted 👍"),
        ({"type": "contacts", "contacts": []}, "Contact"),
        ({"type": "order"}, "order"),
        ({}, "message"),
    ],
)
def test_previews(message: dict[str, Any], line: str) -> None:
    assert preview(message) == line


def test_history_is_bounded_and_odd_statuses_are_shown_as_read() -> None:
    log = ChatLog(lambda: 0.0, history_limit=3)
    log.business_message(PNID, USER, "wamid.1", text())
    log.status(PNID, {"id": "wamid.1", "status": "played"})
    log.status(PNID, {"id": "wamid.1", "status": "played"})
    log.status(PNID, {"id": 7, "status": "sent"})
    log.marked_read("wamid.1")  # the business's own message: nothing to mark
    log.marked_read("wamid.unknown")
    log.webhook(
        RecordedWebhook(0.0, {"entry": [{"changes": [{"value": {"metadata": "odd"}}]}]}, "raw", 1, 200)
    )
    assert [(e["kind"], e.get("status")) for e in log.chat(USER)] == [
        ("user", None),
        ("message", "accepted"),
        ("status", "read"),
    ]
    log.business_message(PNID, USER, "wamid.2", text())
    assert [e["seq"] for e in log.chat(USER)] == [2, 3, 4]
