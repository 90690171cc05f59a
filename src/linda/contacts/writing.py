"""Writing an import's chunk into the stored contacts: a few statements per part, whatever the part's size.

A part's contacts arrive as one JSON array (read with json_each on SQLite, jsonb_array_elements on PostgreSQL),
encoded in phone order by the worker that normalized them: consecutive new rows land in the same pages of the
phone indexes.

1. Stored contacts known by their WhatsApp id alone (no phone) take the file's number.
2. One upsert inserts the new contacts and merges the file into the stored ones by the duplicate policy
   (importer.py), in SQL: no stored row travels to Python. The update's WHERE leaves a stored contact that the
   file would not change unwritten. A new contact has no WhatsApp id: WhatsApp gives one (which need not be
   the number's digits) when the contact writes; until then messages go to the number.

The merge reads attributes as the import writes them: text values and lists, never null or nested objects
(SQLite's json_patch would delete a null and merge an object).

On SQLite the chunk writes its contacts' search index rows itself, with the index triggers paused (migrations
0008 and 0011): a trigger would call back into Python for every contact, and FTS5 would flush its pending terms
once per statement the trigger runs in. See docs/dev-notes.md.
- A new contact takes the id `before + i + 1`, where `before` is the largest id before the part and `i` its
  place in the part (conflicting rows leave their id unused, as a PostgreSQL sequence does): its search row,
  the document the worker folded (the part's documents are a JSON array of their own, in the same order),
  goes in by rowid, and the part needs no row back per contact written.
- A merged contact is recorded by a trigger in `contacts_fts_stale`, with its name and attributes before; at
  its end, the chunk rewrites the search rows (SQLITE_CONTACT_DOCUMENT) of those whose name or attributes
  changed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from linda.contacts.normalize import Part
from linda.query.fold import SQLITE_CONTACT_DOCUMENT
from linda.store.models import Contact
from linda.store.types import utcnow

DO_NOT_CONTACT = "do_not_contact"
contacts = cast(Table, Contact.__table__)

# The part's contacts: [phone, name, locale, tags, attributes], UTF-8.
_ROWS = {"sqlite": "json_each(CAST(?1 AS TEXT))", "postgresql": "jsonb_array_elements($1::jsonb) AS e(value)"}

_FILL_PHONES = (
    "UPDATE contacts SET phone = '+' || wa_id, updated_at = {now} WHERE phone IS NULL "
    "AND wa_id IN (SELECT substr(value ->> 0, 2) FROM {rows}) "
    "AND NOT EXISTS (SELECT 1 FROM contacts AS held WHERE held.phone = '+' || contacts.wa_id) RETURNING id"
)

_NUMBERLESS = "SELECT EXISTS (SELECT 1 FROM contacts WHERE phone IS NULL AND wa_id IS NOT NULL)"

# A file contact's tags that the stored contact lacks (in the file's order), and the two lists joined.
_NEW_TAGS = {
    "sqlite": "SELECT n.value FROM json_each(excluded.tags) AS n "
    "WHERE n.value NOT IN (SELECT value FROM json_each(contacts.tags))",
    "postgresql": "SELECT n.value, n.place FROM jsonb_array_elements(excluded.tags) WITH ORDINALITY AS n(value, place) "
    "WHERE NOT contacts.tags @> jsonb_build_array(n.value)",
}
_ALL_TAGS = {
    "sqlite": "(SELECT json_group_array(value) FROM (SELECT value FROM json_each(contacts.tags) UNION ALL {new}))",
    "postgresql": "contacts.tags || (SELECT jsonb_agg(t.value ORDER BY t.place) FROM ({new}) AS t)",
}
# Attributes merged, the file's values winning; and whether the file holds a value the stored ones lack. On
# SQLite that compares values, not JSON text: a stored "Z\u00fcrich" is the file's "Zürich".
_ATTRIBUTES = {
    "sqlite": "json_patch(contacts.attributes, excluded.attributes)",
    "postgresql": "contacts.attributes || excluded.attributes",
}
_NEW_ATTRIBUTES = {
    "sqlite": "EXISTS (SELECT 1 FROM json_each(excluded.attributes) AS n WHERE NOT EXISTS (SELECT 1 FROM "
    "json_each(contacts.attributes) AS o WHERE o.key = n.key AND o.type = n.type AND o.value IS n.value))",
    "postgresql": "contacts.attributes || excluded.attributes IS DISTINCT FROM contacts.attributes",
}
# A new contact's id: SQLite's is chosen (see the module's docstring), PostgreSQL's sequence gives its own.
_ID = {"sqlite": ("id, ", "?6 + key + 1, "), "postgresql": ("", "")}
_RETURNING = {"sqlite": "", "postgresql": "RETURNING id, xmax = 0 AS inserted"}

_UPSERT = (
    "INSERT INTO contacts ({id_column}phone, name, locale, tags, attributes, opted_out, opted_out_at, "
    "opt_source, created_at, updated_at) SELECT {id_value}value ->> 0, value ->> 1, value ->> 2, "
    "value -> 3, value -> 4, {opted_out}, {opted_out_at}, {opt_source}, {now}, {now} FROM {rows} "
    "WHERE true "  # SQLite would read ON CONFLICT as a join's ON
    "ON CONFLICT (phone) DO UPDATE SET "
    "name = coalesce(nullif(contacts.name, ''), excluded.name), "
    "locale = coalesce(nullif(contacts.locale, ''), excluded.locale), "
    "tags = CASE WHEN EXISTS ({new_tags}) THEN {all_tags} ELSE contacts.tags END, "
    "attributes = {attributes}, "
    "opted_out = contacts.opted_out OR excluded.opted_out, "
    "opted_out_at = CASE WHEN {opting_out} THEN excluded.opted_out_at ELSE contacts.opted_out_at END, "
    "opt_source = CASE WHEN {opting_out} THEN excluded.opt_source ELSE contacts.opt_source END, "
    "updated_at = excluded.updated_at "
    "WHERE (nullif(contacts.name, '') IS NULL AND excluded.name IS NOT NULL) "
    "OR (nullif(contacts.locale, '') IS NULL AND excluded.locale IS NOT NULL) "
    "OR EXISTS ({new_tags}) OR {new_attributes} OR {opting_out} {returning}"
)
_OPTING_OUT = "(excluded.opted_out AND NOT contacts.opted_out)"

# SQLite's search index. Rows are always written in rowid order: FTS5 writes its pending terms out whenever a
# rowid is lower than the one before, which out of order would be at nearly every row. The part's new contacts
# (in the part's order, so in id order), found by their ids; and at the chunk's end, the merged ones.
_INDEX_NEW = (
    "INSERT INTO contacts_fts (rowid, body) SELECT contacts.id, value FROM json_each(CAST(?1 AS TEXT)) "
    "JOIN contacts ON contacts.id = ?2 + key + 1"
)
_STALE_AMONG = "SELECT count(*) FROM contacts_fts_stale WHERE id IN (SELECT value FROM json_each(?1))"
_REINDEX_STALE = (  # the name and attributes unchanged (only tags or consent): the same text
    "DELETE FROM contacts_fts_stale WHERE id IN (SELECT contacts.id FROM contacts_fts_stale AS s JOIN contacts "
    "ON contacts.id = s.id WHERE contacts.name IS s.name AND contacts.attributes IS s.attributes)",
    "DELETE FROM contacts_fts WHERE rowid IN (SELECT id FROM contacts_fts_stale)",
    f"INSERT INTO contacts_fts (rowid, body) SELECT id, {SQLITE_CONTACT_DOCUMENT.format(r='contacts')} "
    "FROM contacts WHERE id IN (SELECT id FROM contacts_fts_stale) ORDER BY id",
    "DELETE FROM contacts_fts_stale",
    "DELETE FROM contacts_fts_paused",
)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0


@dataclass(frozen=True)
class Statements:
    """An import's SQL for one dialect."""

    fill_phones: str
    upsert: str

    @classmethod
    @functools.cache
    def of(cls, dialect: str) -> Statements:
        rows = _ROWS[dialect]
        mark = functools.partial(_mark, dialect == "postgresql")
        new_tags = _NEW_TAGS[dialect]
        id_column, id_value = _ID[dialect]
        upsert = _UPSERT.format(
            rows=rows, id_column=id_column, id_value=id_value, opted_out=mark(2, "boolean"),
            opted_out_at=mark(3, "timestamp"), opt_source=mark(4, "text"), now=mark(5, "timestamp"),
            new_tags=new_tags, all_tags=_ALL_TAGS[dialect].format(new=new_tags), attributes=_ATTRIBUTES[dialect],
            new_attributes=_NEW_ATTRIBUTES[dialect], opting_out=_OPTING_OUT, returning=_RETURNING[dialect],
        )  # fmt: skip
        return cls(fill_phones=_FILL_PHONES.format(rows=rows, now=mark(2, "timestamp")), upsert=upsert)


def _mark(postgres: bool, number: int, postgres_type: str) -> str:
    """Parameter `number` (numbered on both databases: SQLite's ?N may come in any order, and repeat)."""
    return f"${number}::{postgres_type}" if postgres else f"?{number}"


class ChunkWriter:
    """Writes the parts of one chunk in the chunk's transaction (`conn`); `finish` before it commits."""

    def __init__(self, conn: AsyncConnection, do_not_contact: bool) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.sql = Statements.of(conn.dialect.name)
        self.do_not_contact = do_not_contact
        self.paused = False
        self.numberless: bool | None = None  # whether any contact is known by its WhatsApp id alone

    async def write(self, part: Part) -> Outcome:
        """Merge `part` into the stored contacts."""
        if part.contacts == b"[]":
            return Outcome()
        rows = part.contacts if self.sqlite else part.contacts.decode()  # asyncpg takes JSON as text
        now = self._value("updated_at", utcnow())
        opted_out_at, source = (now, DO_NOT_CONTACT) if self.do_not_contact else (None, None)
        upserting = [rows, self._value("opted_out", self.do_not_contact), opted_out_at, source, now]
        filled = (
            set((await self.conn.exec_driver_sql(self.sql.fill_phones, (rows, now))).scalars())
            if await self._numberless()
            else set()
        )
        if not self.sqlite:
            returned = (await self.conn.exec_driver_sql(self.sql.upsert, tuple(upserting))).all()
            merged = {row.id for row in returned if not row.inserted}
            return Outcome(len(returned) - len(merged), len(filled | merged))
        if not self.paused:
            await self.conn.exec_driver_sql("INSERT INTO contacts_fts_paused (id) VALUES (1)")
            self.paused = True
        before = (await self.conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM contacts")).scalar_one()
        upserted = await self.conn.exec_driver_sql(self.sql.upsert, (*upserting, before))
        written = upserted.rowcount  # inserted and updated (not what triggers wrote)
        created = (await self.conn.exec_driver_sql(_INDEX_NEW, (part.documents, before))).rowcount
        updated = written - created + len(filled)
        if filled:  # a filled contact that the upsert also changed counts once
            among = await self.conn.exec_driver_sql(_STALE_AMONG, (json.dumps(sorted(filled)),))
            updated -= among.scalar_one()
        return Outcome(created, updated)

    async def finish(self) -> None:
        """Rewrite the search rows of the contacts the chunk merged into (SQLite), and resume the triggers."""
        if self.paused:
            for statement in _REINDEX_STALE:
                await self.conn.exec_driver_sql(statement)
            self.paused = False

    async def _numberless(self) -> bool:
        """Whether a stored contact may take a number from the part: on PostgreSQL always (other writers run
        beside the import); on SQLite, where the chunk holds the only write lock and the import always writes
        numbers, one look per chunk will do."""
        if not self.sqlite:
            return True
        if self.numberless is None:
            self.numberless = bool((await self.conn.exec_driver_sql(_NUMBERLESS)).scalar_one())
        return self.numberless

    def _value(self, name: str, value: Any) -> Any:
        """`value` as the driver takes it for column `name` (booleans as 0/1 on SQLite, naive UTC times)."""
        processor: Callable[[Any], Any] | None = contacts.c[name].type._cached_bind_processor(
            self.conn.dialect
        )
        return processor(value) if processor is not None else value
