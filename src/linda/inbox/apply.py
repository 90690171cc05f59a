"""Turn one parsed webhook change into stored state: contacts, service windows, messages, statuses.

Everything here runs inside the inbox row's transaction and is idempotent: a message id is stored once, a
(message id, status) pair is applied once, so processing the same webhook twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linda.contacts.phones import InvalidPhone, to_e164
from linda.store import message_state
from linda.store.locks import lock_names
from linda.store.models import Account, Contact, Conversation, Message, StatusEvent
from linda.store.types import utcnow
from linda.store.upsert import insert_if_absent
from linda.whatsapp.limits import SERVICE_WINDOW_SECONDS
from linda.whatsapp.webhook import Change, InboundMessage, StatusUpdate


@dataclass
class Received:
    """What one inbound message became; handed to message hooks (the bot router) in the same transaction."""

    session: AsyncSession
    account: Account
    contact: Contact
    conversation: Conversation
    message: Message
    inbound: InboundMessage
    first: bool = False  # the contact's first message to this number


@dataclass
class StatusReceived:
    """A new status of a message Linda sent; handed to status hooks in the same transaction."""

    session: AsyncSession
    account: Account
    status: StatusUpdate
    message: Message | None


MessageHook = Callable[[Received], Awaitable[None]]
StatusHook = Callable[[StatusReceived], Awaitable[None]]


@dataclass
class Applied:
    messages: int = 0
    duplicate_messages: int = 0
    statuses: int = 0
    duplicate_statuses: int = 0
    unparsed: list[str] = field(default_factory=list)
    by_status: dict[str, int] = field(default_factory=dict)  # new statuses, per kind


async def apply_change(
    session: AsyncSession,
    account: Account,
    change: Change,
    hooks: Sequence[MessageHook] = (),
    status_hooks: Sequence[StatusHook] = (),
) -> Applied:
    applied = Applied(unparsed=[item.reason for item in change.unparsed])
    for inbound in change.messages:
        profile = change.profile_for(inbound.from_wa_id, inbound.from_user_id)
        received = await _store_message(session, account, inbound, profile.name if profile else None)
        if received is None:
            applied.duplicate_messages += 1
            continue
        applied.messages += 1
        for hook in hooks:
            await hook(received)
    # Status application and the sender's recording of a wamid exclude each other per wamid (see sender).
    await lock_names(session, [wamid_lock(status.id) for status in change.statuses])
    for status in change.statuses:
        stored, message = await _store_status(session, status)
        if not stored:
            applied.duplicate_statuses += 1
            continue
        applied.statuses += 1
        applied.by_status[status.status] = applied.by_status.get(status.status, 0) + 1
        for status_hook in status_hooks:
            await status_hook(StatusReceived(session, account, status, message))
    return applied


async def _store_message(
    session: AsyncSession, account: Account, inbound: InboundMessage, profile_name: str | None
) -> Received | None:
    contact = await upsert_contact(session, inbound.from_wa_id, inbound.from_user_id, profile_name)
    conversation, first = await open_window(session, account, contact, inbound.timestamp)
    message = await insert_if_absent(
        session,
        Message,
        {
            "account_id": account.id,
            "contact_id": contact.id,
            "conversation_id": conversation.id,
            "direction": "in",
            "wamid": inbound.id,
            "type": inbound.type,
            "text": inbound.text,
            "payload": inbound.raw,
            "state": "received",
            "error_code": inbound.errors[0].code if inbound.errors else None,
            "error_title": inbound.errors[0].title if inbound.errors else None,
            "reply_to_wamid": inbound.context.id if inbound.context else None,
            "sent_at": inbound.timestamp,
        },
        unique=["wamid"],
    )
    if message is None:  # a duplicate: stored before, by this process or another
        return None
    return Received(session, account, contact, conversation, message, inbound, first)


async def upsert_contact(
    session: AsyncSession, wa_id: str | None, user_id: str | None, profile_name: str | None
) -> Contact:
    """The contact a sender is, found by user_id or wa_id, created on first contact, refreshed from its profile.

    Safe against another process creating the same contact at the same moment: the insert yields to it.
    """
    contact = await _find_contact(session, wa_id, user_id)
    if contact is None:
        now = utcnow()
        values: dict[str, Any] = {
            "wa_id": wa_id,
            "user_id": user_id,
            "phone": _phone_of(wa_id),
            "name": profile_name,
            "tags": [],
            "attributes": {},
            "opted_out": False,
            "created_at": now,
            "updated_at": now,
        }
        contact = await insert_if_absent(session, Contact, values) or await _find_contact(
            session, wa_id, user_id
        )
        if contact is None:  # the phone was taken by a contact with another wa_id: keep this one without it
            contact = await insert_if_absent(session, Contact, {**values, "phone": None})
            contact = contact or await _find_contact(session, wa_id, user_id)
        assert contact is not None
        return contact
    # Learn identifiers this contact lacks, unless another contact already holds them (merging is explicit).
    if user_id and contact.user_id is None and not await _held(session, "user_id", user_id):
        contact.user_id = user_id
    if wa_id and contact.wa_id is None and not await _held(session, "wa_id", wa_id):
        contact.wa_id = wa_id
    if (
        wa_id
        and contact.phone is None
        and (phone := _phone_of(wa_id))
        and not await _held(session, "phone", phone)
    ):
        contact.phone = phone
    if profile_name and contact.name != profile_name:
        contact.name = profile_name
    await session.flush()
    return contact


async def _find_contact(session: AsyncSession, wa_id: str | None, user_id: str | None) -> Contact | None:
    """The contact with this user id or WhatsApp id; or, not found by either, the contact known by the number
    alone (an imported one, whose WhatsApp id upsert_contact then learns)."""
    contact = None
    if user_id:
        contact = await session.scalar(select(Contact).where(Contact.user_id == user_id))
    if contact is None and wa_id:
        contact = await session.scalar(select(Contact).where(Contact.wa_id == wa_id))
    if contact is None and (phone := _phone_of(wa_id)):
        contact = await session.scalar(select(Contact).where(Contact.phone == phone, Contact.wa_id.is_(None)))
    return contact


async def _held(session: AsyncSession, column: str, value: str) -> bool:
    return await session.scalar(select(Contact.id).where(getattr(Contact, column) == value)) is not None


def _phone_of(wa_id: str | None) -> str | None:
    if not wa_id:
        return None
    try:
        return to_e164(wa_id)
    except InvalidPhone:
        return None  # some wa_ids are not dialable numbers; the contact is still known by its wa_id


async def conversation_of(
    session: AsyncSession, account_id: int, contact_id: int, *, for_update: bool = False
) -> Conversation:
    """The conversation of a contact with a number, created if needed (safe against concurrent creation).
    `for_update` locks its row (PostgreSQL) for a read-modify-write."""
    where = (Conversation.account_id == account_id) & (Conversation.contact_id == contact_id)
    query = select(Conversation).where(where)
    if for_update:
        query = query.with_for_update()
    conversation = await session.scalar(query)
    if conversation is None:
        values = {"account_id": account_id, "contact_id": contact_id, "created_at": utcnow()}
        created = await insert_if_absent(session, Conversation, values, unique=["account_id", "contact_id"])
        conversation = created or (await session.scalars(query)).one()
    return conversation


async def open_window(
    session: AsyncSession, account: Account, contact: Contact, inbound_at: datetime
) -> tuple[Conversation, bool]:
    """Open or extend the 24 h customer service window from the user's message time. Times only move
    forward, and the row is locked while they do, so concurrent messages never shorten the window. Also whether
    this is the contact's first message to the number (no inbound one was stored before)."""
    conversation = await conversation_of(session, account.id, contact.id, for_update=True)
    first = conversation.last_inbound_at is None
    expires = inbound_at + timedelta(seconds=SERVICE_WINDOW_SECONDS)
    if conversation.window_expires_at is None or expires > conversation.window_expires_at:
        conversation.window_expires_at = expires
    if conversation.last_inbound_at is None or inbound_at > conversation.last_inbound_at:
        conversation.last_inbound_at = inbound_at
    return conversation, first


async def _store_status(session: AsyncSession, status: StatusUpdate) -> tuple[bool, Message | None]:
    """Keep the raw status once per (wamid, status) and move the message forward; False for a duplicate,
    with the message the status is about when Linda knows it."""
    event = await insert_if_absent(
        session,
        StatusEvent,
        {
            "wamid": status.id,
            "status": status.status,
            "timestamp": status.timestamp,
            "recipient_id": status.recipient_id or status.recipient_user_id,
            "callback_data": status.biz_opaque_callback_data,
            "error_code": status.errors[0].code if status.errors else None,
            "raw": status.raw,
        },
        unique=["wamid", "status"],
    )
    if event is None:
        return False, None
    message = await session.scalar(select(Message).where(Message.wamid == status.id))
    if message is not None:
        error = status.errors[0] if status.errors else None
        apply_status(message, status.status, error.code if error else None, error.title if error else None)
    return True, message


def wamid_lock(wamid: str) -> str:
    return f"wamid:{wamid}"


def apply_status(
    message: Message, status: str, error_code: int | None = None, error_title: str | None = None
) -> None:
    """Advance `message` by one status (the outbox also calls this for statuses that beat its send result)."""
    new_state = message_state.advance(message.state, status)
    if new_state == message.state:
        return
    message.state = new_state
    if new_state == "failed":
        message.error_code, message.error_title = error_code, error_title
