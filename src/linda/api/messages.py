"""POST /api/messages queues a message (Meta's message object, plus `account` and `idempotency_key`);
GET /api/messages/{id} follows it to delivered and read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from linda.api.auth import database
from linda.api.errors import ApiError, not_found
from linda.api.views import MessageOut, QueuedOut, message_view
from linda.contacts.phones import InvalidPhone, to_e164, wa_id_of
from linda.sending.outbox import enqueue
from linda.store.db import Database
from linda.store.models import Account, Contact, Conversation, Message, OutboxItem
from linda.whatsapp.messages import SEND_TYPES

router = APIRouter(prefix="/messages", tags=["messages"])
DB = Annotated[Database, Depends(database)]
IDEMPOTENCY_PREFIX = "api:"  # apart from the keys campaigns and the bot use

SendType = Literal[
    "text",
    "template",
    "interactive",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "reaction",
    "contacts",
]
Payload = dict[str, Any] | None


class SendRequest(BaseModel):
    """Meta's message object: `type` names the one field that holds the message."""

    model_config = ConfigDict(extra="forbid")
    messaging_product: Literal["whatsapp"] = "whatsapp"
    recipient_type: Literal["individual"] = "individual"
    to: str = Field(description="The recipient's phone in international form, e.g. +971501234567.")
    type: SendType
    account: str | None = Field(
        None,
        description="phone_number_id to send from; default: the number the contact last wrote to, "
        "else the first number.",
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="The same key queues the message once; a repeat answers 200 with the same id.",
    )
    text: Payload = None
    template: Payload = None
    interactive: Payload = None
    image: Payload = None
    video: Payload = None
    audio: Payload = None
    document: Payload = None
    sticker: Payload = None
    location: Payload = None
    reaction: Payload = None
    contacts: list[dict[str, Any]] | None = Field(None, description="Contact cards, as Meta takes them.")

    def message(self) -> dict[str, Any]:
        """`{"type": ..., <type>: ...}` for enqueue; 422 unless exactly the field named by `type` is set."""
        given = [kind for kind in SEND_TYPES if getattr(self, kind) is not None]
        if self.type not in given:
            message = f"`{self.type}` is required when type is {self.type}; add the message there."
            raise ApiError(422, "missing_field", message, self.type)
        extra = [kind for kind in given if kind != self.type]
        if extra:
            message = f"`{extra[0]}` does not belong in a {self.type} message; remove it or change `type`."
            raise ApiError(422, "unknown_field", message, extra[0])
        return {"type": self.type, self.type: getattr(self, self.type)}


async def _sender(session: AsyncSession, to: str, account: str | None) -> Account:
    """The number to send from: the one asked for, else the contact's most recently active, else the first."""
    if account is not None:
        row = await session.scalar(select(Account).where(Account.phone_number_id == account))
        if row is None:
            message = f"There is no account {account}; GET /api/accounts lists the phone_number_ids."
            raise ApiError(422, "unknown_account", message, "account")
        return row
    contact = await _known_contact(session, to)
    if contact is not None:
        recent = await session.scalar(
            select(Account)
            .join(Conversation, Conversation.account_id == Account.id)
            .where(Conversation.contact_id == contact.id)
            .order_by(
                Conversation.last_inbound_at.desc().nulls_last(),
                Conversation.last_outbound_at.desc().nulls_last(),
                Conversation.id.desc(),
            )
            .limit(1)
        )
        if recent is not None:
            return recent
    first = await session.scalar(select(Account).order_by(Account.id).limit(1))
    if first is None:
        message = "Linda has no business number yet; add one with `linda accounts add`."
        raise ApiError(422, "unknown_account", message, "account")
    return first


async def _known_contact(session: AsyncSession, to: str) -> Contact | None:
    try:
        phone = to_e164(to)
    except InvalidPhone:
        return await session.scalar(select(Contact).where(Contact.user_id == to))
    return await session.scalar(
        select(Contact).where(or_(Contact.phone == phone, Contact.wa_id == wa_id_of(phone))).limit(1)
    )


async def _queued(db: Database, key: str) -> QueuedOut | None:
    """The message an earlier request with this idempotency key queued, in its current state."""
    async with db.read() as session:
        row = (
            await session.execute(
                select(Message.id, Message.state)
                .join(OutboxItem, OutboxItem.message_id == Message.id)
                .where(OutboxItem.idempotency_key == key)
            )
        ).one_or_none()
    return None if row is None else QueuedOut(id=row[0], state=row[1])


@router.post(
    "",
    response_model=QueuedOut,
    status_code=202,
    responses={200: {"model": QueuedOut, "description": "Queued earlier under the same idempotency key."}},
)
async def send_message(body: SendRequest, request: Request, response: Response, db: DB) -> QueuedOut:
    """Queue a message; senders deliver it. Refused at once (422) to an opted-out contact, outside the 24 h
    window for anything but a template, to an invalid number, or for an invalid message."""
    message = body.message()
    key = IDEMPOTENCY_PREFIX + body.idempotency_key if body.idempotency_key is not None else None
    if key is not None and (earlier := await _queued(db, key)) is not None:
        response.status_code = 200
        return earlier
    try:
        async with db.transaction() as session:
            sender = await _sender(session, body.to, body.account)
            item = await enqueue(
                session,
                account=sender,
                to=body.to,
                message=message,
                idempotency_key=key,
                fallback_template=request.app.state.settings.fallback_template,
            )
    except IntegrityError:
        # the same key queued at the same moment by another request: answer with that one
        if key is None or (earlier := await _queued(db, key)) is None:
            raise
        response.status_code = 200
        return earlier
    request.app.state.runtime.notify_outbox()
    return QueuedOut(id=item.message_id, state="queued")


@router.get("/{message_id}", response_model=MessageOut)
async def read_message(message_id: int, db: DB) -> MessageOut:
    async with db.read() as session:
        row = (
            await session.execute(
                select(Message, Account, Contact)
                .join(Account, Message.account_id == Account.id)
                .outerjoin(Contact, Message.contact_id == Contact.id)
                .where(Message.id == message_id)
            )
        ).one_or_none()
    if row is None:
        raise not_found("message", message_id)
    return message_view(*row)
