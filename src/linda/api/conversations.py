"""Conversations (a contact with a business number): list, read, their messages, hand-off to a person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linda import handoff
from linda.api.auth import database
from linda.api.errors import not_found
from linda.api.paging import Page, PageQuery, keyset, paged
from linda.api.views import ConversationOut, MessageOut, conversation_view, message_view
from linda.store.db import Database
from linda.store.models import Account, Contact, Conversation, Message

router = APIRouter(prefix="/conversations", tags=["conversations"])
DB = Annotated[Database, Depends(database)]


class ConversationQuery(PageQuery):
    assigned_to: str | None = Field(None, description="Only conversations assigned to this person.")
    account: str | None = Field(None, description="Only conversations with this phone_number_id.")
    contact_id: int | None = Field(None, description="Only this contact's conversations.")


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="Who takes the conversation over, e.g. a name or an e-mail address."
    )


async def _conversation(session: AsyncSession, conversation_id: int) -> tuple[Conversation, str]:
    row = (
        await session.execute(
            select(Conversation, Account.phone_number_id)
            .join(Account, Conversation.account_id == Account.id)
            .where(Conversation.id == conversation_id)
        )
    ).one_or_none()
    if row is None:
        raise not_found("conversation", conversation_id)
    return row[0], row[1]


@router.get("", response_model=Page[ConversationOut])
async def list_conversations(query: Annotated[ConversationQuery, Query()], db: DB) -> Page[ConversationOut]:
    """The newest conversations first (by id); filtered by assignee, account or contact."""
    statement = select(Conversation, Account.phone_number_id).join(
        Account, Conversation.account_id == Account.id
    )
    if query.assigned_to is not None:
        statement = statement.where(Conversation.assigned_to == query.assigned_to)
    if query.account is not None:
        statement = statement.where(Account.phone_number_id == query.account)
    if query.contact_id is not None:
        statement = statement.where(Conversation.contact_id == query.contact_id)
    async with db.read() as session:
        page = keyset(statement, Conversation.id, "conversations", query, newest_first=True)
        rows = (await session.execute(page)).all()
    return paged(rows, "conversations", query, lambda r: r[0].id, lambda r: conversation_view(r[0], r[1]))


@router.get("/{conversation_id}", response_model=ConversationOut)
async def read_conversation(conversation_id: int, db: DB) -> ConversationOut:
    async with db.read() as session:
        return conversation_view(*await _conversation(session, conversation_id))


@router.get("/{conversation_id}/messages", response_model=Page[MessageOut])
async def conversation_messages(
    conversation_id: int, query: Annotated[PageQuery, Query()], db: DB
) -> Page[MessageOut]:
    """The conversation's messages in and out, newest first."""
    listing = f"conversations/{conversation_id}/messages"
    async with db.read() as session:
        await _conversation(session, conversation_id)
        statement = (
            select(Message, Account, Contact)
            .join(Account, Message.account_id == Account.id)
            .outerjoin(Contact, Message.contact_id == Contact.id)
            .where(Message.conversation_id == conversation_id)
        )
        page = keyset(statement, Message.id, listing, query, newest_first=True)
        found = (await session.execute(page)).all()
    return paged(found, listing, query, lambda r: r[0].id, lambda r: message_view(r[0], r[1], r[2]))


@router.post("/{conversation_id}/assign", response_model=ConversationOut)
async def assign(conversation_id: int, body: Assignment, db: DB) -> ConversationOut:
    """Hand the conversation to a person: the bot leaves it alone until it is released."""
    async with db.transaction() as session:
        conversation, account = await _conversation(session, conversation_id)
        handoff.assign(conversation, body.to)
    return conversation_view(conversation, account)


@router.post("/{conversation_id}/release", response_model=ConversationOut)
async def release(conversation_id: int, db: DB) -> ConversationOut:
    """Give the conversation back to the bot (nothing changes if nobody had it)."""
    async with db.transaction() as session:
        conversation, account = await _conversation(session, conversation_id)
        handoff.release(conversation)
    return conversation_view(conversation, account)
