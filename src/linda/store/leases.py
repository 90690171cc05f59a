"""Claiming work rows with leases.

A row is claimable while it is pending and not leased (or its lease ran out: its worker died). Claiming sets
the lease in one statement; on PostgreSQL the candidate rows are locked with SKIP LOCKED, so concurrent workers
on any number of machines never take the same row. On SQLite the writer lock (BEGIN IMMEDIATE) gives the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linda.store.models import InboxItem, OutboxItem
from linda.store.types import utcnow

Row = TypeVar("Row", InboxItem, OutboxItem)


def claimable(model: type[InboxItem] | type[OutboxItem], now: datetime) -> ColumnElement[bool]:
    return (model.state == "pending") & or_(model.lease_until.is_(None), model.lease_until <= now)


async def claim(
    session: AsyncSession,
    model: type[Row],
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    where: ColumnElement[bool] | None = None,
    order_by: tuple[Any, ...] = (),
) -> list[Row]:
    """Lease up to `limit` claimable rows to `owner` and return them (call inside a transaction)."""
    now = utcnow()
    condition = claimable(model, now)
    if where is not None:
        condition = condition & where
    candidates = (
        select(model.id)
        .where(condition)
        .order_by(*order_by, model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(model)
        .where(model.id.in_(candidates))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(model)
        .execution_options(synchronize_session=False)
    )
    # UPDATE ... RETURNING gives rows in no set order: callers that care sort them again.
    return list((await session.scalars(statement)).all())
