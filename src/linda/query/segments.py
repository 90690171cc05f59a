"""Segments: saved filters with a name, usable wherever a filter is.

In any filter, `@name` stands for the segment's filter in parentheses: `@owners AND NOT opted_out`. Segments
may use other segments; a loop is refused. The expansion happens on the filter's text, and the result is parsed
like any filter, so a segment adds nothing the filter language could not say itself.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Expanded:
    """A filter's text with its `@segments` written out, and where each one was in the text as typed."""

    text: str
    # For each segment written out: its (start, end) in `text` and the (start, end) of its `@name` as typed.
    references: tuple[tuple[int, int, int, int], ...] = ()

    def typed_position(self, position: int) -> int:
        """The offset in the typed text of offset `position` in `text`: inside a segment's filter, its `@name`."""
        shift = 0
        for start, end, typed_start, typed_end in self.references:
            if position < start:
                break
            if position < end:
                return typed_start
            shift = end - typed_end
        return position - shift


async def expand(text: str, lookup: Lookup, _seen: tuple[str, ...] = ()) -> Expanded:
    """`text` with every `@name` outside quotes replaced by `(the segment's filter)`, recursively. An error in
    a segment's own filter (a segment it uses was deleted) is reported at the `@name` typed in `text`."""
    out: list[str] = []
    written = 0  # characters in `out`
    references: list[tuple[int, int, int, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":  # a quoted string: copied as it is, escapes included
            end = i + 1
            while end < len(text) and text[end] != ch:
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            written += len(out[-1])
            i = end + 1
            continue
        match = _REFERENCE.match(text, i) if ch == "@" else None
        if match is None:
            out.append(ch)
            written += 1
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
        try:
            inner_text = (await expand(inner, lookup, (*_seen, name))).text
        except FilterError as error:
            if _seen:  # reported once, by the outermost expansion, at the @name typed there
                raise
            raise FilterError(f"in segment @{name}: {error.message}", i, error.expected) from None
        out.append(f"({inner_text})")
        references.append((written, written + len(out[-1]), i, match.end()))
        written += len(out[-1])
        i = match.end()
    return Expanded("".join(out), tuple(references))


async def resolve(session: AsyncSession, text: str) -> Expr:
    """Parse a filter, with its `@segments` expanded. Raises FilterError, at a position in `text`."""

    async def lookup(name: str) -> str | None:
        return await session.scalar(select(Segment.filter).where(Segment.name == name))

    return parse_expanded(await expand(text, lookup))


def parse_expanded(expanded: Expanded) -> Expr:
    """Parse an expanded filter; a FilterError names the position in the text as typed."""
    try:
        return parse(expanded.text)
    except FilterError as error:
        if not expanded.references or not isinstance(error.position, int):
            raise
        raise FilterError(error.message, expanded.typed_position(error.position), error.expected) from None


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

        parse_expanded(await expand(filter_text, lookup))
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
