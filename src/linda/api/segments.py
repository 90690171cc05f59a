"""Segments under /api/segments: saved filters with a live count and a sample; `@name` in any filter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from linda.api.auth import database
from linda.api.errors import ApiError, not_found
from linda.api.views import ContactOut, contact_view
from linda.query.filters import FilterError
from linda.query.segments import SegmentError, count_and_sample, delete_segment, list_segments, save_segment
from linda.query.segments import get_segment as find_segment
from linda.store.db import Database

router = APIRouter(prefix="/segments", tags=["segments"])
DB = Annotated[Database, Depends(database)]


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: str = Field(min_length=1, description="The filter, e.g. `tag = owner AND NOT opted_out`.")
    description: str = ""


class SegmentOut(BaseModel):
    name: str
    filter: str
    description: str
    count: int = Field(description="How many contacts match it now.")
    sample: list[ContactOut] = Field(description="Its first contacts (by id).")


async def _view(db: Database, name: str, filter_text: str, description: str, sample: int) -> SegmentOut:
    count, contacts = await count_and_sample(db, name, sample)
    return SegmentOut(
        name=name,
        filter=filter_text,
        description=description,
        count=count,
        sample=[contact_view(c) for c in contacts],
    )


@router.get("", response_model=list[SegmentOut])
async def all_segments(db: DB, sample: Annotated[int, Query(ge=0, le=50)] = 0) -> list[SegmentOut]:
    """Every segment with its live count (and a sample of `sample` contacts)."""
    return [await _view(db, s.name, s.filter, s.description, sample) for s in await list_segments(db)]


@router.put("/{name}", response_model=SegmentOut)
async def put_segment(name: str, body: SegmentIn, db: DB) -> SegmentOut:
    """Create the segment, or replace its filter and description."""
    try:
        segment = await save_segment(db, name, body.filter, body.description)
    except FilterError as exc:
        raise ApiError(422, "invalid_filter", str(exc), "filter") from exc
    except SegmentError as exc:
        raise ApiError(422, "invalid_name", str(exc), "name") from exc
    return await _view(db, segment.name, segment.filter, segment.description, 5)


@router.get("/{name}", response_model=SegmentOut)
async def get_segment(name: str, db: DB, sample: Annotated[int, Query(ge=0, le=50)] = 5) -> SegmentOut:
    segment = await find_segment(db, name)
    if segment is None:
        raise not_found("segment", name)
    return await _view(db, segment.name, segment.filter, segment.description, sample)


@router.delete("/{name}", status_code=204)
async def remove_segment(name: str, db: DB) -> Response:
    if not await delete_segment(db, name):
        raise not_found("segment", name)
    return Response(status_code=204)
