"""Queueing a message: validated, checked against the 24 h window, written as a message row and an outbox row
in the caller's transaction (so a bot reply commits with the inbound message that caused it)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linda.contacts.phones import InvalidPhone, to_e164, wa_id_of
from linda.inbox.apply import Received, conversation_of
from linda.store.models import Account, Contact, Conversation, Message, OutboxItem
from linda.store.types import utcnow
from linda.store.upsert import insert_if_absent
from linda.whatsapp import messages
from linda.whatsapp.errors import MessageValidationError

PRIORITY_REPLY = 10
PRIORITY_DEFAULT = 0


class SendRefused(Exception):
    """A send Linda will not queue; `code` is stable for programs, the message says what to do."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def fallback_message(spec: str) -> dict[str, Any]:
    """The template message of a `name:language` setting (LINDA_FALLBACK_TEMPLATE)."""
    name, _, language = spec.partition(":")
    return messages.template(name.strip(), (language or "en_US").strip())


def window_open(conversation: Conversation | None, now: datetime | None = None) -> bool:
    expires = conversation.window_expires_at if conversation else None
    return expires is not None and expires > (now or utcnow())


async def enqueue(
    session: AsyncSession,
    *,
    account: Account,
    to: str,
    message: Mapping[str, Any],
    priority: int = PRIORITY_DEFAULT,
    due_at: datetime | None = None,
    idempotency_key: str | None = None,
    reply_to: str | None = None,
    fallback_template: str | None = None,
) -> OutboxItem:
    """Queue `message` ({"type": ..., <type>: {...}}) from `account` to the phone or wa_id `to`.

    The same idempotency key queues once: a second call returns the first row. Raises SendRefused. A contact
    who opted out gets replies to their own messages (`reply_to`) and nothing else.
    """
    if idempotency_key is not None:
        existing = await session.scalar(
            select(OutboxItem).where(OutboxItem.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return existing
    key = idempotency_key or f"out-{uuid.uuid4().hex}"
    contact = await _recipient(session, to)
    if contact.opted_out and reply_to is None:
        raise SendRefused(
            "opted_out", f"{to} opted out of messages; they must opt in again (e.g. by sending START)", "to"
        )
    conversation = await conversation_of(session, account.id, contact.id)
    if messages.needs_service_window(message) and not window_open(conversation):
        if not fallback_template:
            raise SendRefused(
                "outside_service_window",
                f"{to} has not written to {account.display_phone_number} in the last 24 h, so only a "
                "template can be sent (or set LINDA_FALLBACK_TEMPLATE)",
            )
        message = fallback_message(fallback_template)
    try:
        body = messages.request_body(
            _address(contact),
            message,
            reply_to=reply_to,
            biz_opaque_callback_data=message.get("biz_opaque_callback_data") or key,
        )
    except MessageValidationError as exc:
        raise SendRefused("invalid_message", str(exc), exc.field) from exc
    row = Message(
        account_id=account.id,
        contact_id=contact.id,
        conversation_id=conversation.id,
        direction="out",
        type=str(message["type"]),
        text=_text_of(message),
        payload=dict(message),
        state="queued",
        reply_to_wamid=reply_to,
    )
    session.add(row)
    await session.flush()
    item = OutboxItem(
        account_id=account.id,
        message_id=row.id,
        recipient=body["to"],
        body=body,
        priority=priority,
        due_at=due_at or utcnow(),
        idempotency_key=key,
    )
    session.add(item)
    await session.flush()
    return item


async def reply(received: Received, message: Mapping[str, Any], **options: Any) -> OutboxItem:
    """Answer an inbound message: from the number that received it, as a reply to it, before campaigns."""
    options.setdefault("priority", PRIORITY_REPLY)
    options.setdefault("reply_to", received.inbound.id)
    return await enqueue(
        received.session, account=received.account, to=_address(received.contact), message=message, **options
    )


def _address(contact: Contact) -> str:
    """What the Graph API's `to` takes for a contact: its wa_id; the number of a contact WhatsApp has not named
    yet (an imported one, until it writes); or its business-scoped user id."""
    address = contact.wa_id or (wa_id_of(contact.phone) if contact.phone else None) or contact.user_id
    if address is None:
        raise SendRefused("invalid_phone", f"contact {contact.id} has neither a phone nor a user id", "to")
    return address


async def _recipient(session: AsyncSession, to: str) -> Contact:
    """The contact `to` names (a phone number, or a user id Linda has seen), created for a new phone."""
    try:
        phone = to_e164(to)
    except InvalidPhone as exc:
        known = await session.scalar(select(Contact).where(Contact.user_id == to))
        if known is None:
            raise SendRefused("invalid_phone", str(exc), "to") from exc
        return known
    contact = await _contact_with_phone(session, phone)
    if contact is None:
        now = utcnow()
        values = {
            "phone": phone,
            "wa_id": wa_id_of(phone),
            "tags": [],
            "attributes": {},
            "opted_out": False,
            "created_at": now,
            "updated_at": now,
        }
        # yields to a concurrent creation of the same contact, whose row is then found
        contact = await insert_if_absent(session, Contact, values) or await _contact_with_phone(
            session, phone
        )
    if contact is None:
        raise SendRefused("invalid_phone", f"{phone} belongs to two contacts; merge them first", "to")
    return contact


async def _contact_with_phone(session: AsyncSession, phone: str) -> Contact | None:
    contact = await session.scalar(select(Contact).where(Contact.phone == phone))
    if contact is None:
        contact = await session.scalar(select(Contact).where(Contact.wa_id == wa_id_of(phone)))
    return contact


def _text_of(message: Mapping[str, Any]) -> str | None:
    payload = message.get(str(message.get("type")))
    if not isinstance(payload, Mapping):
        return None
    for key in ("body", "caption", "name"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping) and isinstance(value.get("text"), str):
            return str(value["text"])
    return None
