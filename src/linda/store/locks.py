"""Transaction-scoped locks on a name, for state that two transactions must not interleave on.

PostgreSQL: an advisory lock held until commit. SQLite: nothing to do, write transactions already run one
at a time (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_names(session: AsyncSession, names: Iterable[str]) -> None:
    """Take the locks of `names`, in sorted order so that two transactions never wait on each other."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )
