"""Alembic, driven from Python: `linda db upgrade` and every start call `upgrade`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from linda.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x11DA  # advisory lock: concurrent starts migrate one at a time


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")


def _pending(connection: Connection) -> list[str]:
    current = MigrationContext.configure(connection).get_current_heads()
    script = ScriptDirectory.from_config(alembic_config())
    pending = script.iterate_revisions("heads", current[0] if current else "base")
    return [rev.revision for rev in reversed(list(pending)) if rev is not None]


async def upgrade(db: Database) -> None:
    async with db.transaction() as session:
        connection = await session.connection()
        await connection.run_sync(_upgrade)


async def current_revision(db: Database) -> str | None:
    async with db.read() as session:
        connection = await session.connection()
        heads = await connection.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
    return heads[0] if heads else None


async def pending_revisions(db: Database) -> list[str]:
    async with db.read() as session:
        connection = await session.connection()
        return await connection.run_sync(_pending)
