"""The database handle: one class for SQLite (embedded) and PostgreSQL (servers).

SQLite allows one writer at a time, so writes go through a single connection behind an asyncio lock and start
with BEGIN IMMEDIATE (no "database is locked" surprises mid-transaction); reads use a pool of their own.
PostgreSQL uses one pooled engine for both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from linda.query.fold import register_sqlite

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=15000",
    "PRAGMA foreign_keys=ON",
)


def async_url(url: str) -> URL:
    """`sqlite:///x.db` and `postgresql://...` as the async drivers Linda uses (aiosqlite, asyncpg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://...")


# The one writer keeps up to 128 MiB of pages (SQLite's default is 2 MiB, allocated as used) and checkpoints the
# WAL once it holds about 100 MB rather than 4 MB (the file is cut back to 128 MB afterwards). A large write,
# such as an import chunk, touches index pages all over the file: each page that leaves the cache before the
# commit is written once more, and each checkpoint copies every page changed since the last one. Temporary
# tables stay in memory: an import's upsert of a part builds one, which in a file was written out (about 1 GB
# for a 1,000,000-row import).
WRITER_PRAGMAS = (
    *SQLITE_PRAGMAS,
    "PRAGMA cache_size=-131072",
    "PRAGMA wal_autocheckpoint=25000",
    "PRAGMA journal_size_limit=134217728",
    "PRAGMA temp_store=MEMORY",
)


def _sqlite_engine(url: URL, *, begin: str, pragmas: tuple[str, ...] = SQLITE_PRAGMAS) -> AsyncEngine:
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()
        register_sqlite(dbapi_connection)  # the search index triggers call linda_fold

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.dialect = self.url.get_backend_name()
        self._write_lock: asyncio.Lock | None = None
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(self.url, begin="BEGIN IMMEDIATE", pragmas=WRITER_PRAGMAS)
            self.read_engine = _sqlite_engine(self.url, begin="BEGIN")
        else:
            self.write_engine = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
            self.read_engine = self.write_engine
        self._writer = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session for writes, committed when the block ends without an exception, rolled back otherwise."""
        async with self._serialized_writes(), self._writer() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def core_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection for writes in one transaction: no ORM session (for hot paths)."""
        async with self._serialized_writes(), self.write_engine.begin() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only."""
        async with self._reader() as session:
            yield session

    @contextlib.asynccontextmanager
    async def _serialized_writes(self) -> AsyncIterator[None]:
        if not self.is_sqlite:
            yield
            return
        if self._write_lock is None:  # created lazily: it binds to the running loop
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            yield

    async def upgrade(self) -> None:
        """Apply every pending migration (safe to run from several processes at once)."""
        from linda.store.migrate import upgrade

        await upgrade(self)

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
