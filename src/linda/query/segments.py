"""Segments: saved filters with a name, usable wherever a filter is.

In any filter, `@name` stands for the segment's filter in parentheses: `@owners AND NOT opted_out`. Segments
may use other segments; a loop is refused. The expansion happens on the filter's text, and the result is parsed
like any filter, so a segment adds nothing the filter language could not say itself.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linda.query.compile import where_clause
from linda.query.filters import Expr, FilterError
from linda.query.grammar import parse
from linda.store.db import Database
from linda.store.models import Contact, Segment
from linda.store.types import utcnow

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_REFERENCE = re.compile(r"@([A-Za-z0-9_][A-Za-z0-9_.-]*)")
MAX_DEPTH = 10
Lookup = Callable[[str], Awaitable[str | None]]


class SegmentError(ValueError):
    """A segment that cannot be saved or used as asked; the message says why."""


async def expand(text: str, lookup: Lookup, _seen: tuple[str, ...] = ()) -> str:
    """`text` with every `@name` outside quotes replaced by `(the segment's filter)`, recursively."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":  # a quoted string: copied as it is, escapes included
            end = i + 1
            while end < len(text) and text[end] != ch:
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
            continue
        match = _REFERENCE.match(text, i) if ch == "@" else None
        if match is None:
            out.append(ch)
            i += 1
            continue
        name = match.group(1)
        if name in _seen:
            raise FilterError(f"segment @{name} uses itself ({' -> '.join((*_seen, name))})", i, "a filter")
        if len(_seen) >= MAX_DEPTH:
            raise FilterError(f"segments nest deeper than {MAX_DEPTH}", i, "a filter")
        inner = await lookup(name)
        if inner is None:
            raise FilterError(f"there is no segment @{name}", i, "a segment name")
        out.append("(" + await expand(inner, lookup, (*_seen, name)) + ")")
        i = match.end()
    return "".join(out)


async def resolve(session: AsyncSession, text: str) -> Expr:
    """Parse a filter, with its `@segments` expanded. Raises FilterError."""

    async def lookup(name: str) -> str | None:
        return await session.scalar(select(Segment.filter).where(Segment.name == name))

    return parse(await expand(text, lookup))


async def resolve_filter(db: Database, text: str) -> Expr:
    async with db.read() as session:
        return await resolve(session, text)


async def save_segment(db: Database, name: str, filter_text: str, description: str = "") -> Segment:
    """Create or replace the segment `name`; its filter must parse (segments it uses must exist)."""
    if not NAME.match(name):
        raise SegmentError(f"{name!r} is not a segment name: letters, digits, _ . - (up to 100)")
    async with db.transaction() as session:
        existing = await session.scalar(select(Segment).where(Segment.name == name))

        async def lookup(other: str) -> str | None:
            if other == name:
                return filter_text  # so that a loop through this very segment is found
            return await session.scalar(select(Segment.filter).where(Segment.name == other))

        parse(await expand(filter_text, lookup, ()))
        if existing is None:
            existing = Segment(name=name, filter=filter_text, description=description)
            session.add(existing)
        else:
            existing.filter, existing.description, existing.updated_at = filter_text, description, utcnow()
        await session.flush()
        return existing


async def delete_segment(db: Database, name: str) -> bool:
    async with db.transaction() as session:
        segment = await session.scalar(select(Segment).where(Segment.name == name))
        if segment is None:
            return False
        await session.delete(segment)
    return True


async def list_segments(db: Database) -> list[Segment]:
    async with db.read() as session:
        return list((await session.scalars(select(Segment).order_by(Segment.name))).all())


async def get_segment(db: Database, name: str) -> Segment | None:
    async with db.read() as session:
        return await session.scalar(select(Segment).where(Segment.name == name))


async def count_and_sample(db: Database, name: str, sample: int = 5) -> tuple[int, list[Contact]]:
    """The segment's live count, and its first `sample` contacts."""
    async with db.read() as session:
        expr = await resolve(session, "@" + name)
        where = where_clause(expr, db.dialect)
        total = await session.scalar(select(func.count()).select_from(Contact).where(where))
        contacts = (
            await session.scalars(select(Contact).where(where).order_by(Contact.id).limit(sample))
        ).all()
    return int(total or 0), list(contacts)
