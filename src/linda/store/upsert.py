"""INSERT ... ON CONFLICT DO NOTHING for both backends: durable deduplication by a unique key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from linda.store.models import Base


async def insert_if_absent(
    session: AsyncSession, model: type[Base], values: dict[str, Any], *, unique: list[str] | None = None
) -> int | None:
    """Insert a row unless it would break the unique key `unique` (or, when None, any unique key).

    Returns the new id, or None when such a row exists. On PostgreSQL a concurrent, uncommitted insert of the
    same key makes this wait for that transaction, so the caller can read the winner's row afterwards.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    assert isinstance(table, Table)
    statement = (
        insert(table).values(**values).on_conflict_do_nothing(index_elements=unique).returning(table.c.id)
    )
    new_id: int | None = (await session.execute(statement)).scalar_one_or_none()
    return new_id
