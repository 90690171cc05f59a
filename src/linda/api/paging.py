"""Cursor paging by id: `?limit=` and an opaque `?cursor=`; pages look like `{"data": [...], "next_cursor"}`.

A cursor names the listing it came from and the last id seen, so rows added while a client walks the pages
never shift it (no duplicates, no gaps), and a cursor from another listing is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, TypeVarTuple

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from linda.api.errors import ApiError

T = TypeVar("T")
R = TypeVar("R")
Ts = TypeVarTuple("Ts")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(BaseModel):
    """The paging part of a listing's query string; listings add their filters."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(description="Pass as `?cursor=` for the next page; null on the last one.")


def encode_cursor(listing: str, last_id: int) -> str:
    raw = json.dumps({"l": listing, "id": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(listing: str, cursor: str) -> int:
    """The last id a cursor of `listing` saw; 400 invalid_cursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value: Any = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    if not isinstance(value, dict) or value.get("l") != listing:
        raise _invalid()
    last = value.get("id")
    if not isinstance(last, int) or isinstance(last, bool):
        raise _invalid()
    return last


def _invalid() -> ApiError:
    message = "`cursor` is not a cursor of this listing; pass `next_cursor` from the previous page unchanged."
    return ApiError(400, "invalid_cursor", message, "cursor")


def keyset(
    query: Select[*Ts],
    id_column: InstrumentedAttribute[int],
    listing: str,
    paging: PageQuery,
    *,
    newest_first: bool = False,
) -> Select[*Ts]:
    """`query` restricted to the page after the cursor, ordered by id, with one extra row to see if more follow."""
    if paging.cursor is not None:
        last = decode_cursor(listing, paging.cursor)
        query = query.where(id_column < last if newest_first else id_column > last)
    order = id_column.desc() if newest_first else id_column.asc()
    return query.order_by(order).limit(paging.limit + 1)


def paged(
    rows: Sequence[R], listing: str, paging: PageQuery, id_of: Callable[[R], int], view: Callable[[R], T]
) -> Page[T]:
    """One page of `rows` (fetched by `keyset`, so possibly one too many) and the cursor of the next."""
    more = len(rows) > paging.limit
    shown = rows[: paging.limit]
    cursor = encode_cursor(listing, id_of(shown[-1])) if more else None
    return Page[T](data=[view(row) for row in shown], next_cursor=cursor)
