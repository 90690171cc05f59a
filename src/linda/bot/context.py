"""What a handler receives: the message (or status) with its contact, number and conversation, and ways to
answer. Everything runs in the transaction that stores the message, so a reply commits with it or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from linda.inbox.apply import Received, StatusReceived
from linda.sending.outbox import reply
from linda.store.models import Account, Contact, Conversation, Message, OutboxItem
from linda.whatsapp import messages
from linda.whatsapp.webhook import InboundMessage, Reply, StatusUpdate

if TYPE_CHECKING:
    from linda.bot.router import Bot


@dataclass
class MessageContext:
    received: Received
    bot: Bot
    replies: list[OutboxItem] = field(default_factory=list)

    @property
    def session(self) -> AsyncSession:
        return self.received.session

    @property
    def inbound(self) -> InboundMessage:
        return self.received.inbound

    @property
    def message(self) -> Message:
        return self.received.message

    @property
    def contact(self) -> Contact:
        return self.received.contact

    @property
    def account(self) -> Account:
        return self.received.account

    @property
    def conversation(self) -> Conversation:
        return self.received.conversation

    @property
    def first_message(self) -> bool:
        """This is the first message the contact ever sent to this number."""
        return self.received.first

    @property
    def text(self) -> str | None:
        return self.inbound.text

    @property
    def type(self) -> str:
        return self.inbound.type

    @property
    def reply(self) -> Reply | None:
        """The button or list row the user tapped, if this message is such a tap."""
        return self.inbound.reply

    @property
    def message_time(self) -> datetime:
        return self.inbound.timestamp

    @property
    def is_admin(self) -> bool:
        return self.contact.phone is not None and self.contact.phone in self.bot.admins

    async def send(self, message: Mapping[str, Any]) -> OutboxItem:
        """Answer with any message object ({"type": ..., <type>: {...}}), as a reply to this one."""
        item = await reply(self.received, message)
        self.replies.append(item)
        return item

    async def send_text(self, body: str) -> OutboxItem:
        return await self.send(messages.text(body))


@dataclass
class StatusContext:
    received: StatusReceived
    bot: Bot

    @property
    def session(self) -> AsyncSession:
        return self.received.session

    @property
    def status(self) -> StatusUpdate:
        return self.received.status

    @property
    def message(self) -> Message | None:
        """The stored message the status is about (None for a message Linda does not know)."""
        return self.received.message
