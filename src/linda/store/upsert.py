"""INSERT ... ON CONFLICT DO NOTHING for both backends: durable deduplication by a unique key."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from linda.store.models import Base

Model = TypeVar("Model", bound=Base)


async def insert_if_absent(
    session: AsyncSession, model: type[Model], values: dict[str, Any], *, unique: list[str] | None = None
) -> Model | None:
    """Insert a row unless it would break the unique key `unique` (or, when None, any unique key).

    Returns the new row, or None when such a row exists. On PostgreSQL a concurrent, uncommitted insert of
    the same key makes this wait for that transaction, so the caller can read the winner's row afterwards.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(model)
    return await session.scalar(statement)
