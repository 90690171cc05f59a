"""The management API in process (httpx over ASGI, the app's lifespan running), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select

from linda.api.tokens import create_token
from linda.app import create_app
from linda.contacts.phones import wa_id_of
from linda.store.db import Database
from linda.store.models import Account, ApiToken, Contact, Conversation, Message
from linda.store.types import utcnow
from tests.conftest import NUMBER, SECOND_NUMBER
from tests.stack import stack_settings

UNREACHABLE_GRAPH_API = "http://127.0.0.1:9"  # senders are off: nothing is sent from these tests


@dataclass
class Api:
    app: FastAPI
    db: Database
    client: httpx.AsyncClient  # sends a valid token
    token: str

    def anonymous(self, **headers: str) -> httpx.AsyncClient:
        """A client with these headers and no token of its own."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://linda.test",
            headers=headers,
        )


async def clear_tokens(db: Database) -> None:
    async with db.transaction() as session:  # the shared PostgreSQL database keeps rows between tests
        await session.execute(delete(ApiToken))


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    settings = stack_settings(database_url, UNREACHABLE_GRAPH_API, [NUMBER, SECOND_NUMBER], senders=0)
    app = create_app(settings)
    db: Database = app.state.db
    async with app.router.lifespan_context(app):
        await clear_tokens(db)
        token = await create_token(db, "tests")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://linda.test", headers=headers) as c:
            yield Api(app, db, c, token)


async def account_id(db: Database, phone_number_id: str = NUMBER.phone_number_id) -> int:
    async with db.read() as session:
        return (
            await session.scalars(select(Account.id).where(Account.phone_number_id == phone_number_id))
        ).one()


async def wrote_in(
    db: Database,
    phone: str,
    text: str = "hi",
    *,
    phone_number_id: str = NUMBER.phone_number_id,
    hours_ago: float = 0.0,
    **contact: Any,
) -> tuple[int, int]:
    """A contact who wrote `text` to a number `hours_ago`: its contact and conversation ids (the inbox's result)."""
    account = await account_id(db, phone_number_id)
    at = utcnow() - timedelta(hours=hours_ago)
    async with db.transaction() as session:
        person = await session.scalar(select(Contact).where(Contact.phone == phone))
        if person is None:
            person = Contact(phone=phone, wa_id=wa_id_of(phone), opted_out=False, **contact)
            session.add(person)
            await session.flush()
        conversation = Conversation(
            account_id=account,
            contact_id=person.id,
            window_expires_at=at + timedelta(hours=24),
            last_inbound_at=at,
        )
        session.add(conversation)
        await session.flush()
        session.add(
            Message(
                account_id=account,
                contact_id=person.id,
                conversation_id=conversation.id,
                direction="in",
                wamid=f"wamid.in.{person.id}.{conversation.id}",
                type="text",
                text=text,
                state="received",
                sent_at=at,
            )
        )
    return person.id, conversation.id


def error(response: httpx.Response) -> tuple[int, str, str | None]:
    """(status, code, field) of an error answer, after checking it has the one error shape."""
    body = response.json()
    assert set(body) == {"status", "code", "message", "field"}, body
    assert body["status"] == response.status_code and body["message"].endswith("."), body
    return body["status"], body["code"], body["field"]
