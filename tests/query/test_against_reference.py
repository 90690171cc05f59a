"""Random filters on random contacts: the SQL selects exactly what the Python reference selects, on both
databases; the string form writes and reads back the same tree."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from linda.query.compile import where_clause
from linda.query.filters import Expr, format_filter
from linda.query.grammar import parse
from linda.store.db import Database
from linda.store.models import Account, Contact, Conversation, Message
from tests.query.reference import matches
from tests.query.strategies import NOW, contacts, filters

SLOW = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


async def store(db: Database, people: list[dict[str, Any]]) -> None:
    """Replace every contact with `people` (ids 1..n), with their conversations and messages."""
    async with db.core_transaction() as conn:
        for table in (Message, Conversation, Contact, Account):
            await conn.execute(delete(table))
        await conn.execute(
            insert(Account),
            [{"id": i, "phone_number_id": f"pn{i}", "display_phone_number": f"+{i}"} for i in (1, 2)],
        )
        phones: set[str] = set()
        for number, person in enumerate(people, start=1):
            person["id"] = number
            if person["phone"] in phones:  # phones are unique
                person["phone"] = None
            phones.add(person["phone"])
            person["messages_count"] = person["messages"]
        columns = ("id", "phone", "name", "locale", "opted_out", "created_at", "tags", "attributes")
        rows = [{c: p[c] for c in columns} | {"updated_at": p["created_at"]} for p in people]
        if rows:
            await conn.execute(insert(Contact), rows)
        conversations = [
            {
                "account_id": account,
                "contact_id": p["id"],
                "last_inbound_at": inbound,
                "last_outbound_at": outbound,
                "window_expires_at": window,
            }
            for p in people
            for account, (inbound, outbound, window) in enumerate(p["conversations"], start=1)
        ]
        if conversations:
            await conn.execute(insert(Conversation), conversations)
        messages = [
            {"account_id": 1, "contact_id": p["id"], "direction": "in", "type": "text", "state": "received"}
            for p in people
            for _ in range(p["messages"])
        ]
        if messages:
            await conn.execute(insert(Message), messages)


async def selected(db: Database, expr: Expr) -> list[int]:
    async with db.read() as session:
        statement = select(Contact.id).where(where_clause(expr, db.dialect, now=NOW)).order_by(Contact.id)
        return list((await session.scalars(statement)).all())


async def compare(url: str, people: list[dict[str, Any]], exprs: list[Expr]) -> None:
    db = Database(url)
    try:
        await store(db, people)
        for expr in exprs:
            expected = [p["id"] for p in people if matches(expr, p)]
            assert await selected(db, expr) == expected, format_filter(expr)
    finally:
        await db.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW)
@given(people=st.lists(contacts(), max_size=10), exprs=st.lists(filters, min_size=1, max_size=10))
def test_sql_selects_what_the_reference_selects(
    database_url: str, people: list[dict[str, Any]], exprs: list[Expr]
) -> None:
    asyncio.run(compare(database_url, people, exprs))


@settings(max_examples=300, deadline=None)
@given(filters)
def test_the_string_form_reads_back_as_the_same_tree(expr: Expr) -> None:
    assert parse(format_filter(expr)) == expr
