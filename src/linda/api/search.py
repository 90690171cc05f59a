"""GET /api/search: full-text search over message texts and contacts, best hits first, in pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from linda.api.auth import database
from linda.api.errors import ApiError
from linda.api.paging import Page, PageQuery, decode_cursor, encode_cursor
from linda.query.compile import where_clause
from linda.query.filters import FilterError
from linda.query.search import search
from linda.query.segments import resolve_filter
from linda.store.db import Database

router = APIRouter(prefix="/search", tags=["search"])
DB = Annotated[Database, Depends(database)]
LISTING = "search"


class SearchQuery(PageQuery):
    q: str = Field(min_length=1, max_length=500, description='Words to find, all of them; "a phrase".')
    filter: str | None = Field(
        None, description="Only contacts this filter selects and their messages (the filter language)."
    )
    scope: Literal["messages", "contacts", "all"] = Field("all", description="What to search.")


class HitOut(BaseModel):
    kind: Literal["message", "contact"]
    id: int = Field(description="The message's id, or the contact's.")
    contact_id: int | None
    rank: float = Field(description="Higher is better; comparable among hits of one kind.")
    snippet: str = Field(description="Part of the text around the first match, matches between [ and ].")
    text: str
    contact_name: str | None
    contact_phone: str | None
    direction: str | None = Field(None, description="Messages: in or out.")
    created_at: datetime | None = None


@router.get("", response_model=Page[HitOut])
async def search_all(query: Annotated[SearchQuery, Query()], db: DB) -> Page[HitOut]:
    """Contacts (by name, phone, attribute values) then messages (by text) holding every word of `q`, ranked.

    Pages are positions in the ranking: a page after rows were added may repeat or skip a hit."""
    offset = decode_cursor(LISTING, query.cursor) if query.cursor is not None else 0
    condition = None
    if query.filter:
        try:
            condition = where_clause(await resolve_filter(db, query.filter), db.dialect)
        except FilterError as exc:
            raise ApiError(422, "invalid_filter", str(exc), "filter") from exc
    async with db.read() as session:
        hits = await search(
            session, query.q, scope=query.scope, where=condition, limit=query.limit + 1, offset=offset
        )
    shown = hits[: query.limit]
    more = len(hits) > query.limit
    return Page[HitOut](
        data=[HitOut.model_validate(hit, from_attributes=True) for hit in shown],
        next_cursor=encode_cursor(LISTING, offset + len(shown)) if more else None,
    )
