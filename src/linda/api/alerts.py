"""GET /api/alerts (the alerts and their current state) and /api/alerts/history (every change of state)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from linda.api.auth import database
from linda.api.paging import Page, PageQuery, keyset, paged
from linda.monitoring.alerts import AlertEventInfo, AlertInfo, alerts_query, event_info, history_query
from linda.store.db import Database
from linda.store.models import Alert, AlertEvent

router = APIRouter(prefix="/alerts", tags=["alerts"])
DB = Annotated[Database, Depends(database)]


class AlertQuery(PageQuery):
    state: Literal["pending", "firing", "resolved"] | None = Field(
        None, description="Only alerts in this state."
    )


class HistoryQuery(PageQuery):
    since: datetime | None = Field(None, description="Only changes at or after this time (ISO 8601).")


@router.get("", response_model=Page[AlertInfo])
async def list_alerts(query: Annotated[AlertQuery, Query()], db: DB) -> Page[AlertInfo]:
    """One alert per rule and label set, newest first: pending, firing, or resolved (its last episode)."""
    listing = f"alerts/{query.state or 'all'}"
    async with db.read() as session:
        page = keyset(alerts_query(query.state), Alert.id, listing, query, newest_first=True)
        rows = (await session.scalars(page)).all()
    return paged(rows, listing, query, lambda a: a.id, AlertInfo.model_validate)


@router.get("/history", response_model=Page[AlertEventInfo])
async def alert_history(query: Annotated[HistoryQuery, Query()], db: DB) -> Page[AlertEventInfo]:
    """Every time an alert started firing or resolved, newest first."""
    listing = "alerts/history"
    async with db.read() as session:
        page = keyset(history_query(query.since), AlertEvent.id, listing, query, newest_first=True)
        rows = (await session.execute(page)).all()
    return paged(rows, listing, query, lambda r: r[0].id, lambda r: event_info(r[0], r[1]))
