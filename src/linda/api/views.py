"""What the API answers: contacts, conversations, messages and accounts as JSON, never a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from linda.contacts.phones import InvalidPhone, to_e164
from linda.sending.outbox import window_open
from linda.store.models import Account, Contact, Conversation, Message


class AccountOut(BaseModel):
    phone_number_id: str
    display_phone_number: str
    name: str
    waba_id: str
    throughput_per_second: int
    quality: str


class ContactOut(BaseModel):
    id: int
    phone: str | None = Field(
        description="E.164; null for a contact known only by a business-scoped user id."
    )
    name: str | None
    locale: str | None
    tags: list[str]
    attributes: dict[str, Any]
    opted_out: bool
    opted_out_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ConversationOut(BaseModel):
    id: int
    account: str = Field(description="phone_number_id of the business number.")
    contact_id: int
    window_expires_at: datetime | None
    in_service_window: bool = Field(description="Whether free-form messages may be sent now.")
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    assigned_to: str | None
    assigned_at: datetime | None


class MessageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: int
    direction: str = Field(description='"in" from the contact, "out" to them.')
    account: str = Field(description="phone_number_id of the business number.")
    contact_id: int | None
    from_: str | None = Field(alias="from")
    to: str | None
    type: str
    text: str | None
    state: str = Field(
        description="queued, accepted, sent, delivered, read, played or failed (out); received (in)."
    )
    wamid: str | None
    error_code: int | None
    error_title: str | None
    created_at: datetime
    updated_at: datetime


class QueuedOut(BaseModel):
    id: int = Field(description="The message id, for GET /api/messages/{id}.")
    state: str


def account_view(account: Account) -> AccountOut:
    return AccountOut(
        phone_number_id=account.phone_number_id,
        display_phone_number=account.display_phone_number,
        name=account.name,
        waba_id=account.waba_id,
        throughput_per_second=account.throughput_per_second,
        quality=account.quality,
    )


def contact_view(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.id,
        phone=contact.phone,
        name=contact.name,
        locale=contact.locale,
        tags=list(contact.tags or []),
        attributes=dict(contact.attributes or {}),
        opted_out=contact.opted_out,
        opted_out_at=contact.opted_out_at,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


def conversation_view(conversation: Conversation, account: str) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        account=account,
        contact_id=conversation.contact_id,
        window_expires_at=conversation.window_expires_at,
        in_service_window=window_open(conversation),
        last_inbound_at=conversation.last_inbound_at,
        last_outbound_at=conversation.last_outbound_at,
        assigned_to=conversation.assigned_to,
        assigned_at=conversation.assigned_at,
    )


def message_view(message: Message, account: Account, contact: Contact | None) -> MessageOut:
    business = _business_phone(account)
    person = _contact_address(contact)
    inbound = message.direction == "in"
    return MessageOut(
        id=message.id,
        direction=message.direction,
        account=account.phone_number_id,
        contact_id=message.contact_id,
        from_=person if inbound else business,
        to=business if inbound else person,
        type=message.type,
        text=message.text,
        state=message.state,
        wamid=message.wamid,
        error_code=message.error_code,
        error_title=message.error_title,
        created_at=message.created_at,
        updated_at=message.updated_at,
    )


def _business_phone(account: Account) -> str:
    try:
        return to_e164(account.display_phone_number)
    except InvalidPhone:
        return account.display_phone_number or account.phone_number_id


def _contact_address(contact: Contact | None) -> str | None:
    if contact is None:
        return None
    if contact.phone:
        return contact.phone
    return f"+{contact.wa_id}" if contact.wa_id else contact.user_id
