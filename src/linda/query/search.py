"""Full-text search over message texts and contacts (name, phone, attribute values), ranked, with snippets.

A query's words are folded (see fold.py) and every one must occur in a hit. SQLite answers from FTS5 trigram
tables and ranks by bm25(); PostgreSQL answers from pg_trgm GIN indexes on the folded text and ranks by a BM25
term-frequency weight with length normalization (occurrences counted in SQL). Both indexes follow every write
by themselves (triggers on SQLite, expression indexes on PostgreSQL): nothing to call after an insert.

Phone numbers are not in the contacts' text index. A query that is a number, or part of one, also finds the
contacts whose phone holds its digits, by a scan of the phone column's index; those come first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Float, cast, column, func, literal, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession

from linda.query.fold import SQLITE_REBUILD, fts5_query, highlight, like_pattern, needles
from linda.store.models import Contact, Message

Scope = Literal["messages", "contacts", "all"]
MAX_LIMIT = 200
RANK_WINDOW = 2000  # SQLite ranks the newest this many matches: bounded time for common words
_K1, _B, _AVG_LENGTH = 1.2, 0.75, 64.0

_messages_fts = table("messages_fts", column("rowid"), column("body"))
_contacts_fts = table("contacts_fts", column("rowid"), column("body"))
_NUMBER = re.compile(r"[\d\s+\-.()]+")  # \d: every script's decimal digits


@dataclass(frozen=True)
class Hit:
    """One result: a message (`id` is the message's) or a contact (`id` is the contact's)."""

    kind: Literal["message", "contact"]
    id: int
    contact_id: int | None
    rank: float  # higher is better, comparable within one kind
    snippet: str  # the matches between [ and ]
    text: str
    contact_name: str | None
    contact_phone: str | None
    direction: str | None = None
    created_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "contact_id": self.contact_id,
            "rank": round(self.rank, 6),
            "snippet": self.snippet,
            "text": self.text,
            "contact_name": self.contact_name,
            "contact_phone": self.contact_phone,
            "direction": self.direction,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def contact_text(name: str | None, phone: str | None, attributes: dict[str, Any] | None) -> str:
    """What a contact hit shows (and what its snippet is cut from)."""
    values = [str(value) for value in (attributes or {}).values() if value not in (None, "")]
    return " · ".join(part for part in (name, phone, *values) if part)


async def search(
    session: AsyncSession,
    query: str,
    *,
    scope: Scope = "all",
    where: ColumnElement[bool] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Hit]:
    """The best `limit` hits after `offset`: contacts first (when in scope), then messages, each by rank.

    `where` (a condition over Contact, e.g. from the filter language) keeps contacts it selects and the
    messages of those contacts.
    """
    found = needles(query)
    if not found:
        return []
    dialect = session.get_bind().dialect.name
    hits: list[Hit] = []
    wanted = offset + limit
    if scope in ("contacts", "all"):
        digits = phone_digits(query)
        if digits is not None:
            hits += await _contacts_by_phone(session, digits, where, wanted)
        known = {hit.id for hit in hits}
        more = await _contacts(session, dialect, found, where, wanted)
        hits += [hit for hit in more if hit.id not in known][: wanted - len(hits)]
    if scope in ("messages", "all") and len(hits) < wanted:
        hits += await _messages(session, dialect, found, where, wanted - len(hits))
    return hits[offset:wanted]


def phone_digits(query: str) -> str | None:
    """The digits a phone number holds when `query` is a number or part of one (only digits, spaces and
    + - . ( ), at least three digits): in ASCII, without leading zeros, so that the national `050 123 4567` and
    the international `00971 50 123 4567` both find +971501234567. None for any other query."""
    text = query.strip()
    if _NUMBER.fullmatch(text) is None:
        return None
    digits = "".join(str(int(char)) for char in text if char.isdecimal()).lstrip("0")
    return digits if len(digits) >= 3 else None


async def _contacts_by_phone(
    session: AsyncSession, digits: str, where: ColumnElement[bool] | None, limit: int
) -> list[Hit]:
    """Contacts whose phone holds `digits`, the newest first; rank: the share of the number they make up."""
    matching = select(Contact.id).where(Contact.phone.like(f"%{digits}%"))  # digits only: nothing to escape
    if where is not None:
        matching = matching.where(where)
    newest = matching.order_by(Contact.id.desc()).limit(limit).scalar_subquery()
    query = (
        select(Contact.id, Contact.name, Contact.phone, Contact.attributes)
        .where(Contact.id.in_(newest))
        .order_by(Contact.id.desc())
    )
    hits = []
    for row in (await session.execute(query)).all():
        shown = contact_text(row.name, row.phone, row.attributes)
        snippet, _ = highlight(shown, [digits])
        rank = len(digits) / max(len(row.phone) - 1, 1)
        hits.append(Hit("contact", row.id, row.id, rank, snippet, shown, row.name, row.phone))
    return sorted(hits, key=lambda hit: -hit.rank)


def _tf_rank(document: ColumnElement[str], found: list[str]) -> ColumnElement[float]:
    """BM25's term-frequency part summed over the needles (every hit holds every needle, so IDF is equal)."""
    length = cast(func.length(document), Float)
    norm = literal(_K1) * (literal(1.0 - _B) + literal(_B) * length / literal(_AVG_LENGTH))
    total: ColumnElement[float] = literal(0.0)
    for needle in found:
        removed = cast(func.length(func.replace(document, needle, "")), Float)
        tf = (length - removed) / literal(float(len(needle)))
        total = total + tf * literal(_K1 + 1) / (tf + norm)
    return total


def _fts_window(fts: Any, found: list[str], where: ColumnElement[bool] | None = None) -> Any:
    """The newest RANK_WINDOW matches of an FTS5 table, with their bm25 rank (higher is better)."""
    name = fts.name
    query = (
        select(fts.c.rowid.label("id"), (-func.bm25(text(name))).label("rank"))
        .where(text(f"{name} MATCH :fts").bindparams(fts=fts5_query(found)))
        .order_by(fts.c.rowid.desc())
        .limit(RANK_WINDOW)
    )
    if where is not None:
        query = query.where(where)
    return query.subquery("top")


def _of_contacts(where: ColumnElement[bool] | None) -> ColumnElement[bool] | None:
    """Messages of the contacts `where` selects (its subqueries over messages stay its own)."""
    return None if where is None else Message.contact_id.in_(select(Contact.id).where(where))


async def _messages(
    session: AsyncSession, dialect: str, found: list[str], where: ColumnElement[bool] | None, limit: int
) -> list[Hit]:
    columns = (Message.id, Message.contact_id, Message.text, Message.direction, Message.created_at)
    people = (Contact.name, Contact.phone)
    mine = _of_contacts(where)
    if dialect == "sqlite":
        if mine is not None:
            mine = _messages_fts.c.rowid.in_(select(Message.id).where(mine))
        top = _fts_window(_messages_fts, found, mine)
        rank: ColumnElement[float] = top.c.rank
        query = select(*columns, *people, rank).select_from(top).join(Message, Message.id == top.c.id)
    else:
        document = func.linda_fold(Message.text)
        rank = _tf_rank(document, found)
        query = select(*columns, *people, rank.label("rank")).where(
            *(document.like(like_pattern(needle), escape="\\") for needle in found)
        )
        if mine is not None:
            query = query.where(mine)
    query = query.outerjoin(Contact, Contact.id == Message.contact_id)
    query = query.order_by(rank.desc(), Message.id.desc()).limit(limit)
    hits = []
    for row in (await session.execute(query)).all():
        snippet, _ = highlight(row.text, found)
        hits.append(
            Hit(
                "message", row.id, row.contact_id, float(row.rank), snippet, row.text, row.name, row.phone,
                row.direction, row.created_at,
            )
        )  # fmt: skip
    return hits


async def _contacts(
    session: AsyncSession, dialect: str, found: list[str], where: ColumnElement[bool] | None, limit: int
) -> list[Hit]:
    columns = (Contact.id, Contact.name, Contact.phone, Contact.attributes)
    if dialect == "sqlite":
        mine = None if where is None else _contacts_fts.c.rowid.in_(select(Contact.id).where(where))
        top = _fts_window(_contacts_fts, found, mine)
        rank: ColumnElement[float] = top.c.rank
        query = select(*columns, rank).select_from(top).join(Contact, Contact.id == top.c.id)
    else:
        document = func.linda_contact_doc(Contact.name, Contact.attributes)
        rank = _tf_rank(document, found)
        query = select(*columns, rank.label("rank")).where(
            *(document.like(like_pattern(needle), escape="\\") for needle in found)
        )
        if where is not None:
            query = query.where(where)
    query = query.order_by(rank.desc(), Contact.id.desc()).limit(limit)
    hits = []
    for row in (await session.execute(query)).all():
        shown = contact_text(row.name, row.phone, row.attributes)
        snippet, _ = highlight(shown, found)
        hits.append(Hit("contact", row.id, row.id, float(row.rank), snippet, shown, row.name, row.phone))
    return hits


async def reindex(session: AsyncSession) -> int:
    """Rebuild the search indexes from messages and contacts; the number of rows indexed.

    Needed only after writes that bypassed Linda's connections (on SQLite those lack `linda_fold`, so their
    writes to indexed columns fail rather than go unindexed) or after the folding rules change."""
    if session.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_REBUILD:
            await session.execute(text(statement))
    else:
        await session.execute(text("REINDEX INDEX ix_messages_search"))
        await session.execute(text("REINDEX INDEX ix_contacts_search"))
    messages = await session.scalar(select(func.count()).where(Message.text.is_not(None)))
    contacts = await session.scalar(select(func.count()).select_from(Contact))
    return int(messages or 0) + int(contacts or 0)
