"""Erasing a contact: the contact, its conversations, messages, their outbox rows and status events."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linda.contacts.phones import wa_id_of
from linda.store.models import Contact, Conversation, Message, OutboxItem, StatusEvent
from linda.store.types import utcnow


class SendInFlight(Exception):
    """A message to the contact is being sent at this moment; erase it after the send ends."""


async def erase_contact(session: AsyncSession, contact: Contact) -> None:
    """Delete `contact` and everything stored about its messages, in the caller's transaction.

    Raw webhook bodies in the inbox are kept as received. Raises SendInFlight while a sender holds a lease
    on one of its outbox rows (queued rows not yet taken are simply deleted, so they are never sent).
    """
    conversations = select(Conversation.id).where(Conversation.contact_id == contact.id)
    mine = or_(Message.contact_id == contact.id, Message.conversation_id.in_(conversations))
    message_ids = select(Message.id).where(mine)
    in_flight = exists().where(
        OutboxItem.message_id.in_(message_ids),
        OutboxItem.state == "pending",
        OutboxItem.lease_until > utcnow(),
    )
    if await session.scalar(select(in_flight)):
        raise SendInFlight(contact.id)
    wamids = select(Message.wamid).where(mine, Message.wamid.is_not(None))
    addresses = [a for a in {contact.wa_id, contact.phone and wa_id_of(contact.phone), contact.user_id} if a]
    status_of_contact: ColumnElement[bool] = StatusEvent.wamid.in_(wamids)
    if addresses:
        status_of_contact = or_(status_of_contact, StatusEvent.recipient_id.in_(addresses))
    for statement in (
        delete(StatusEvent).where(status_of_contact),
        delete(OutboxItem).where(OutboxItem.message_id.in_(message_ids)),
        delete(Message).where(mine),
        delete(Conversation).where(Conversation.contact_id == contact.id),
        delete(Contact).where(Contact.id == contact.id),
    ):
        await session.execute(statement.execution_options(synchronize_session=False))
