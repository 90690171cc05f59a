"""The storage layer on both backends: migrations, time and JSON columns, dedupe inserts, leases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from linda.store.db import Database, async_url
from linda.store.leases import claim
from linda.store.migrate import current_revision, pending_revisions
from linda.store.models import Contact, InboxItem, StatusEvent
from linda.store.types import utcnow
from linda.store.upsert import insert_if_absent


async def test_migrations_are_applied_and_idempotent(db: Database) -> None:
    assert await pending_revisions(db) == []
    head = await current_revision(db)
    await db.upgrade()
    assert await current_revision(db) == head


async def test_times_come_back_aware_utc_and_json_round_trips(db: Database) -> None:
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC) + timedelta(microseconds=5)
    async with db.transaction() as session:
        session.add(
            Contact(
                phone="+971501234567",
                tags=["owner", "مالك"],
                attributes={"unit": 1234, "cluster": "Vardon"},
                opted_out_at=when,
            )
        )
    async with db.read() as session:
        contact = await session.scalar(select(Contact))
    assert contact is not None
    assert contact.opted_out_at == when and contact.opted_out_at.tzinfo is not None
    assert contact.tags == ["owner", "مالك"]
    assert contact.attributes == {"unit": 1234, "cluster": "Vardon"}


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with db.transaction() as session:
            session.add(Contact(phone="+971501234567", opted_out_at=datetime(2026, 1, 1)))


async def test_failed_transaction_writes_nothing(db: Database) -> None:
    async def crash_after_a_write() -> None:
        async with db.transaction() as session:
            session.add(Contact(phone="+971501234567"))
            await session.flush()
            raise RuntimeError("crash mid-transaction")

    with pytest.raises(RuntimeError):
        await crash_after_a_write()
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 0


async def test_insert_if_absent_deduplicates(db: Database) -> None:
    values = {"wamid": "wamid.1", "status": "read", "timestamp": utcnow(), "raw": {}}
    async with db.transaction() as session:
        first = await insert_if_absent(session, StatusEvent, values, unique=["wamid", "status"])
        again = await insert_if_absent(session, StatusEvent, values, unique=["wamid", "status"])
        other = await insert_if_absent(
            session, StatusEvent, {**values, "status": "delivered"}, unique=["wamid", "status"]
        )
    assert first is not None and again is None and other is not None


async def test_concurrent_claims_never_share_a_row(db: Database, database_url: str) -> None:
    async with db.transaction() as session:
        session.add_all([InboxItem(body=b"{}") for _ in range(60)])
    other = Database(database_url)  # a second "process": its own engine and pool
    try:

        async def take(database: Database, owner: str) -> list[int]:
            taken: list[int] = []
            while True:
                async with database.transaction() as session:
                    rows = await claim(session, InboxItem, owner=owner, limit=7, lease_seconds=60)
                if not rows:
                    return taken
                taken += [row.id for row in rows]

        results = await asyncio.gather(take(db, "a"), take(other, "b"), take(db, "c"))
    finally:
        await other.dispose()
    everything = [row_id for result in results for row_id in result]
    assert sorted(everything) == list(range(1, 61))


async def test_expired_lease_is_claimable_again(db: Database) -> None:
    async with db.transaction() as session:
        session.add(InboxItem(body=b"{}"))
    async with db.transaction() as session:
        assert len(await claim(session, InboxItem, owner="dead", limit=10, lease_seconds=0.05)) == 1
    async with db.transaction() as session:
        assert await claim(session, InboxItem, owner="next", limit=10, lease_seconds=30) == []
    await asyncio.sleep(0.1)
    async with db.transaction() as session:
        rows = await claim(session, InboxItem, owner="next", limit=10, lease_seconds=30)
    assert [row.lease_owner for row in rows] == ["next"]


def test_urls_map_to_async_drivers() -> None:
    assert async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/d").drivername == "postgresql+asyncpg"
    with pytest.raises(ValueError, match="unsupported database URL"):
        async_url("mysql://u@h/d")
