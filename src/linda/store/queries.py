"""Reads that the CLI and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from linda.store.db import Database
from linda.store.models import Account, Contact, Message


@dataclass(frozen=True)
class MessageView:
    id: int
    account: str
    direction: str
    wamid: str | None
    contact: str | None
    type: str
    text: str | None
    state: str
    error_code: int | None
    error_title: str | None
    created_at: datetime


def _messages() -> Select[Message, str, str]:
    contact = func.coalesce(Contact.phone, Contact.wa_id, Contact.user_id)
    return (
        select(Message, Account.phone_number_id, contact)
        .join(Account, Message.account_id == Account.id)
        .outerjoin(Contact, Message.contact_id == Contact.id)
    )


async def recent_messages(db: Database, limit: int = 20) -> list[MessageView]:
    """The newest messages first, with the contact's phone (or wa_id, or user id)."""
    async with db.read() as session:
        rows = (await session.execute(_messages().order_by(Message.id.desc()).limit(limit))).all()
    return [_view(*row) for row in rows]


async def message_view(db: Database, message_id: int) -> MessageView:
    async with db.read() as session:
        row = (await session.execute(_messages().where(Message.id == message_id))).one()
    return _view(*row)


def _view(message: Message, account: str, contact: str | None) -> MessageView:
    return MessageView(
        id=message.id,
        account=account,
        direction=message.direction,
        wamid=message.wamid,
        contact=contact,
        type=message.type,
        text=message.text,
        state=message.state,
        error_code=message.error_code,
        error_title=message.error_title,
        created_at=message.created_at,
    )
