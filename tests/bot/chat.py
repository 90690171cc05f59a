"""A simulated user chatting with the bot through the emulator, over real HTTP on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from linda.store.models import Contact, Conversation, OutboxItem
from tests.conftest import NUMBER
from tests.stack import Stack, eventually, running_stack

USER = "971501234567"


@contextlib.asynccontextmanager
async def bot_stack(
    database_url: str, tmp_path: Path, rules: str | None, **overrides: Any
) -> AsyncIterator[Stack]:
    """Linda with `rules` (YAML text; None: no rules file) and the emulator."""
    if rules is not None:
        path = tmp_path / "rules.yaml"
        path.write_text(rules, encoding="utf-8")
        overrides["bot_rules"] = str(path)
    async with running_stack(database_url, **overrides) as stack:
        yield stack


class Chat:
    def __init__(self, stack: Stack, user: str = USER, name: str = "Ali") -> None:
        self.stack = stack
        self.user = user
        self.name = name

    async def says(self, text: str) -> list[dict[str, Any]]:
        """Send `text`; the messages the bot answered with (Graph API request bodies), in order."""
        return await self.sends({"type": "text", "text": {"body": text}})

    async def taps(self, reply_id: str, title: str, kind: str = "button_reply") -> list[dict[str, Any]]:
        return await self.sends(
            {"type": "interactive", "interactive": {"type": kind, kind: {"id": reply_id, "title": title}}}
        )

    async def sends(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        before = len(self.stack.emulator.sent_messages(to=self.user))
        await self.stack.emulator.user_sends(
            NUMBER.phone_number_id, self.user, message, profile_name=self.name
        )
        await self.settled()
        return [r.body for r in self.stack.emulator.sent_messages(to=self.user)[before:]]

    async def settled(self) -> None:
        """The message is processed and every reply it caused has been sent."""
        await self.stack.inbox_settled()

        async def outbox_empty() -> bool:
            async with self.stack.db.read() as session:
                waiting = await session.scalar(
                    select(func.count()).select_from(OutboxItem).where(OutboxItem.state == "pending")
                )
            return waiting == 0

        await eventually(outbox_empty)

    async def contact(self) -> Contact:
        async with self.stack.db.read() as session:
            return (await session.scalars(select(Contact).where(Contact.wa_id == self.user))).one()

    async def conversation(self) -> Conversation:
        contact = await self.contact()
        async with self.stack.db.read() as session:
            return (
                await session.scalars(select(Conversation).where(Conversation.contact_id == contact.id))
            ).one()


def said(bodies: list[dict[str, Any]]) -> list[str]:
    """What each message says: a text's body, an interactive message's body, a media caption."""
    out = []
    for body in bodies:
        payload = body[body["type"]]
        if body["type"] == "interactive":
            out.append(payload["body"]["text"])
        else:
            out.append(payload.get("body") or payload.get("caption") or "")
    return out


def buttons(body: dict[str, Any]) -> list[tuple[str, str]]:
    action = body["interactive"]["action"]
    if "buttons" in action:
        return [(b["reply"]["id"], b["reply"]["title"]) for b in action["buttons"]]
    return [(r["id"], r["title"]) for s in action["sections"] for r in s["rows"]]
