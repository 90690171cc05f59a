"""Business numbers: declared in settings or added with `linda accounts add`; inbound events route by
phone_number_id, and replies leave from the number that received the message."""

from __future__ import annotations

from sqlalchemy import select

from linda.settings import AccountSettings
from linda.store.db import Database
from linda.store.models import Account

SANDBOX_ACCOUNT = AccountSettings(
    phone_number_id="100000000000001",
    display_phone_number="+1 555 010 0001",
    waba_id="200000000000001",
    name="Sandbox",
)


async def save_account(db: Database, account: AccountSettings) -> Account:
    """Create the account, or update the one with the same phone_number_id."""
    async with db.transaction() as session:
        row = await session.scalar(select(Account).where(Account.phone_number_id == account.phone_number_id))
        if row is None:
            row = Account(phone_number_id=account.phone_number_id)
            session.add(row)
        row.display_phone_number = account.display_phone_number or row.display_phone_number or ""
        row.waba_id = account.waba_id or row.waba_id or ""
        row.name = account.name or row.name or ""
        row.access_token = account.access_token or row.access_token  # a token set once is kept
        row.throughput_per_second = account.throughput_per_second
    return row


async def list_accounts(db: Database) -> list[Account]:
    async with db.read() as session:
        return list((await session.scalars(select(Account).order_by(Account.id))).all())
