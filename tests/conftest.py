"""Fixtures: a migrated database on SQLite and on PostgreSQL, Redis, and Linda's settings for tests.

Tests that take `db` or `database_url` run once per backend. PostgreSQL and Redis tests skip with a reason
when no server answers, except under CI=true, where a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from linda.cli.common import console
from linda.settings import AccountSettings, get_settings
from linda.store.db import Database

POSTGRES_ADMIN_URL = os.environ.get(
    "LINDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LINDA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ON_CI = os.environ.get("CI", "").lower() == "true"

NUMBER = AccountSettings(
    phone_number_id="111000111", display_phone_number="+971 4 000 0001", waba_id="WABA1", name="Main"
)
SECOND_NUMBER = AccountSettings(
    phone_number_id="222000222", display_phone_number="+971 4 000 0002", waba_id="WABA1", name="Rentals"
)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    if _answers(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if ON_CI:
        pytest.fail(message + " (CI=true: .ci/run must start it)")
    pytest.skip(message)


def _sync_pg_url(database: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database for this test session (URL in Linda's form)."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = f"linda_test_{os.getpid()}"
    asyncio.run(_create_database(name))
    url = _sync_pg_url(name)
    db = Database(url)
    asyncio.run(_upgrade(db))
    yield url
    asyncio.run(_drop_database(name))


async def _upgrade(db: Database) -> None:
    await db.upgrade()
    await db.dispose()


async def _admin_execute(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _create_database(name: str) -> None:
    await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin_execute(f'CREATE DATABASE "{name}"')


async def _drop_database(name: str) -> None:
    await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TABLES = (
    "outbox, status_events, messages, conversations, inbox, contacts, accounts, api_tokens, metric_points, "
    "alert_deliveries, alert_events, alerts, imports, contact_changes, contact_jobs, segments"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'linda.db'}"
        asyncio.run(_upgrade(Database(url)))
        yield url
        return
    url = request.getfixturevalue("postgres_database")
    asyncio.run(_admin_truncate(url))
    yield url


async def _admin_truncate(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def redis_url() -> str:
    require_server("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """For CLI tests: settings from a clean environment with a database file in `tmp_path` (its URL)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LINDA_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setattr(console, "width", 200)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
