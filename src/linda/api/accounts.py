"""GET /api/accounts: the business numbers Linda serves (never their access tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from linda.api.auth import database
from linda.api.paging import Page, PageQuery, keyset, paged
from linda.api.views import AccountOut, account_view
from linda.store.db import Database
from linda.store.models import Account

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.get("", response_model=Page[AccountOut])
async def list_accounts(
    paging: Annotated[PageQuery, Query()], db: Annotated[Database, Depends(database)]
) -> Page[AccountOut]:
    """The business numbers, in the order they were added."""
    async with db.read() as session:
        rows = (await session.scalars(keyset(select(Account), Account.id, "accounts", paging))).all()
    return paged(rows, "accounts", paging, lambda a: a.id, account_view)
