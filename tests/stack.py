"""Linda and the emulator, each on its own loopback port, talking real HTTP to each other."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from linda.app import create_app
from linda.emulator import EmulatedNumber, Emulator, Template, inbound
from linda.settings import AccountSettings, Settings
from linda.store.db import Database
from linda.store.models import Account, InboxItem
from tests.conftest import NUMBER
from tests.servers import serve

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
TOKEN = "test-token"
TEMPLATES = (Template("order_update", "en_US", {"body": 2}), Template("hello", "en_US", {}))


@dataclass
class Stack:
    emulator: Emulator
    emulator_url: str
    url: str
    app: FastAPI
    db: Database
    settings: Settings

    async def account(self, phone_number_id: str = NUMBER.phone_number_id) -> Account:
        async with self.db.read() as session:
            return (
                await session.scalars(select(Account).where(Account.phone_number_id == phone_number_id))
            ).one()

    async def inbox_settled(self, timeout: float = 10.0) -> None:
        """Wait until the emulator has nothing left to deliver and the inbox has nothing pending."""
        await self.emulator.wait_idle(timeout)

        async def pending() -> bool:
            async with self.db.read() as session:
                count = await session.scalar(
                    select(func.count()).select_from(InboxItem).where(InboxItem.state == "pending")
                )
            return count == 0

        await eventually(pending, timeout)


def emulated(account: AccountSettings) -> EmulatedNumber:
    return EmulatedNumber(
        phone_number_id=account.phone_number_id,
        display_phone_number=account.display_phone_number,
        waba_id=account.waba_id,
        access_token=TOKEN,
        throughput_per_second=account.throughput_per_second,
    )


def stack_settings(
    database_url: str, graph_url: str, accounts: Sequence[AccountSettings], **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "graph_api_url": graph_url,
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "accounts": list(accounts),
        "inbox_poll_seconds": 0.05,
        "outbox_poll_seconds": 0.02,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.5,
        "lease_seconds": 5.0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def sandbox_test_settings(database: Path, port: int, **overrides: Any) -> Settings:
    """`linda serve --sandbox` on `port` with its database in the file `database`, polling fast."""
    values: dict[str, Any] = {
        "sandbox": True,
        "port": port,
        "database_url": f"sqlite:///{database}",
        "emulator_status_delays": (0.01, 0.02, 0.03),
        "inbox_poll_seconds": 0.05,
        "outbox_poll_seconds": 0.02,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running_stack(
    database_url: str,
    *,
    accounts: Sequence[AccountSettings] = (NUMBER,),
    status_delays: tuple[float, float, float] = (0.01, 0.02, 0.03),
    **overrides: Any,
) -> AsyncIterator[Stack]:
    emulator = Emulator(
        app_secret=APP_SECRET,
        webhook_url=None,
        numbers=[emulated(a) for a in accounts],
        templates=TEMPLATES,
        status_delays=status_delays,
        webhook_retry_base=0.05,
    )
    async with serve(emulator.app) as emulator_url:
        settings = stack_settings(database_url, emulator_url, accounts, **overrides)
        app = create_app(settings)
        async with serve(app) as url:
            emulator.webhook_url = url + "/webhooks/whatsapp"
            yield Stack(emulator, emulator_url, url, app, app.state.db, settings)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll `check` until it holds; fail with a clear message when it never does."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition {check.__name__} still false after {timeout} s")
        await asyncio.sleep(0.02)


def text_webhook(
    account: AccountSettings, user: str, text: str, wamid: str, *, profile_name: str = "Ali", **extra: Any
) -> dict[str, Any]:
    """Meta's webhook for `user` writing `text` to `account`, with a fixed time (for tests that build bodies)."""
    return inbound.message_payload(
        emulated(account),
        user,
        {"type": "text", "text": {"body": text}},
        wamid=wamid,
        timestamp=1764000000,
        profile_name=profile_name,
        **extra,
    )
