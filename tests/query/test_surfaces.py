"""Hostile text matched literally, computed fields, the issue's example, and `linda contacts list`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from linda.cli import app
from linda.query.compile import ascii_lower, where_clause
from linda.query.filters import Compare, Contains, In, StartsWith
from linda.query.grammar import parse, parse_json
from linda.store.db import Database
from linda.store.models import Account, Contact, Conversation, Message
from linda.store.types import utcnow

HOSTILE = [
    "100%",
    "a_b",
    "x\\y",
    "\\%",
    "it's",
    'say "hi"',
    "'; DROP TABLE contacts; --",
    '" OR 1=1 --',
    "%",
    "_",
    "/",
    "//%",
    "زياد",
    "日本",
    "e\u0301",
    "tab\there",
    "😀",
]


async def add(db: Database, *people: dict[str, Any]) -> list[int]:
    async with db.transaction() as session:
        contacts = [Contact(**p) for p in people]
        session.add_all(contacts)
        await session.flush()
        return [c.id for c in contacts]


async def ids(db: Database, text: str) -> list[int]:
    async with db.read() as session:
        statement = select(Contact.id).where(where_clause(parse(text), db.dialect)).order_by(Contact.id)
        return list((await session.scalars(statement)).all())


async def test_hostile_text_matches_literally(db: Database) -> None:
    stored = await add(
        db,
        *({"name": h, "tags": [h], "attributes": {"note": h}} for h in HOSTILE),
        {"name": "plain", "tags": ["plain"], "attributes": {"note": "plain"}},
    )
    for number, hostile in enumerate(HOSTILE):
        for expr in (
            Compare("name", "=", hostile),
            Compare("tags", "=", hostile),
            Compare("attributes.note", "=", hostile),
            In("tags", (hostile,)),
        ):
            async with db.read() as session:
                statement = select(Contact.id).where(where_clause(expr, db.dialect))
                assert list((await session.scalars(statement)).all()) == [stored[number]], (hostile, expr)
        for field in ("name", "tags", "attributes.note"):
            for search in (Contains(field, hostile), StartsWith(field, hostile)):
                async with db.read() as session:
                    statement = (
                        select(Contact.id).where(where_clause(search, db.dialect)).order_by(Contact.id)
                    )
                    found = list((await session.scalars(statement)).all())
                low = ascii_lower(hostile)
                expected = [
                    stored[i]
                    for i, h in enumerate(HOSTILE)
                    if (
                        low in ascii_lower(h)
                        if isinstance(search, Contains)
                        else ascii_lower(h).startswith(low)
                    )
                ]
                assert found == expected, (hostile, search)
    # the string form carries them too
    assert await ids(db, 'name = "\'; DROP TABLE contacts; --"') == [stored[6]]
    assert await ids(db, r'name CONTAINS "\\%"') == [stored[3]]
    assert len(await ids(db, "name EXISTS")) == len(HOSTILE) + 1


async def talk(db: Database, contact_id: int, inbound: datetime, messages: int) -> None:
    """A conversation of the contact, last written in at `inbound`, its window open for an hour more."""
    async with db.transaction() as session:
        account = Account(phone_number_id="pn1", display_phone_number="+1")
        session.add(account)
        await session.flush()
        conversation = Conversation(
            account_id=account.id,
            contact_id=contact_id,
            last_inbound_at=inbound,
            window_expires_at=utcnow() + timedelta(hours=1),
        )
        session.add(conversation)
        await session.flush()
        session.add_all(
            Message(
                account_id=account.id, contact_id=contact_id, direction="in", type="text", state="received"
            )
            for _ in range(messages)
        )


async def test_computed_fields(db: Database) -> None:
    quiet, talker, other = await add(db, {"phone": "+971500000001"}, {"phone": "+971501234567"}, {})
    await talk(db, talker, datetime(2026, 10, 5, 23, 59, 59, tzinfo=UTC), messages=2)
    assert await ids(db, "messages_count = 2") == [talker]
    assert await ids(db, "messages_count = 0") == [quiet, other]
    assert await ids(db, "has_conversation") == [talker]
    assert await ids(db, "in_service_window") == [talker]
    assert await ids(db, "NOT in_service_window") == [quiet, other]
    assert await ids(db, "last_inbound_at EXISTS AND last_outbound_at IS NULL") == [talker]
    assert await ids(db, "last_inbound_at = 2026-10-05") == [talker]
    assert await ids(db, "last_inbound_at <= 2026-10-05 AND last_inbound_at >= 2026-10-05") == [talker]
    assert await ids(db, "last_inbound_at > 2026-10-05 OR last_inbound_at < 2026-10-05") == []
    assert await ids(db, "last_inbound_at 2026-10-01 TO 2026-10-05") == [talker]
    assert await ids(db, "last_inbound_at >= 2026-10-05T23:59:59Z") == [talker]
    assert await ids(db, "last_inbound_at > 2026-10-05T23:59:59Z") == []
    assert await ids(db, "NOT last_inbound_at > 2026-10-01") == [quiet, other]


async def test_the_example_of_the_issue(db: Database) -> None:
    wanted, *_ = await add(
        db,
        {"name": "Alia", "tags": ["owner"], "attributes": {"cluster": "Vardon", "price": 650000}},
        {"name": "Alia", "tags": ["owner"], "attributes": {"cluster": "Vardon", "price": 950000}},
        {
            "name": "Alia",
            "tags": ["owner"],
            "attributes": {"cluster": "Vardon", "price": 650000},
            "opted_out": True,
        },
        {"name": "Bob", "tags": ["owner"], "attributes": {"cluster": "Amazonia", "price": 650000}},
    )
    text = (
        'tag = owner AND cluster IN ["Vardon", "Amazonia"] AND price 500000 TO 900000 '
        'AND NOT opted_out AND name CONTAINS "ali"'
    )
    assert await ids(db, text) == [wanted]
    obj = {
        "tags": "owner",
        "cluster": {"$in": ["Vardon", "Amazonia"]},
        "price": {"$between": [500000, 900000]},
        "opted_out": False,
        "name": {"$contains": "ali"},
    }
    async with db.read() as session:
        statement = select(Contact.id).where(where_clause(parse_json(obj), db.dialect))
        assert list((await session.scalars(statement)).all()) == [wanted]


@pytest.fixture
def stored(env: str) -> list[int]:
    async def fill() -> list[int]:
        db = Database(env)
        try:
            await db.upgrade()
            return await add(
                db,
                {
                    "phone": "+971501234567",
                    "name": "Ali [red]x[/]",
                    "tags": ["owner"],
                    "attributes": {"n": 1},
                },
                {"phone": "+971551234567", "name": "Bea", "locale": "en", "opted_out": True},
            )
        finally:
            await db.dispose()

    return asyncio.run(fill())


def test_the_cli_lists_what_a_filter_selects(stored: list[int]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["contacts", "list", "--where", "tag = owner", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines == [
        {
            "id": stored[0],
            "phone": "+971501234567",
            "name": "Ali [red]x[/]",
            "locale": None,
            "tags": ["owner"],
            "attributes": {"n": 1},
            "opted_out": False,
        }
    ]
    result = runner.invoke(app, ["contacts", "list", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "Ali [red]x[/]" in result.output and "Bea" not in result.output and "1 contacts" in result.output
    result = runner.invoke(app, ["contacts", "list", "--where", "opted_out"])
    assert "Bea" in result.output and "Ali" not in result.output
    result = runner.invoke(app, ["contacts", "list", "--where", "name = "])
    assert result.exit_code == 2
    assert "position 7" in result.output and "expected a value" in result.output
