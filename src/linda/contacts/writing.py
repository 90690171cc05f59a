"""Writing one part of an import into the stored contacts: a few statements, whatever the part's size.

The part's contacts arrive as one JSON array (read with json_each on SQLite, jsonb_array_elements on
PostgreSQL), encoded in phone order by the worker that normalized them: consecutive new rows land in the same
pages of the phone indexes.

1. Stored contacts known by their WhatsApp id alone (no phone) take the file's number.
2. One upsert inserts the new contacts and merges the file into the stored ones by the duplicate policy
   (importer.py), in SQL: no stored row travels to Python. The update's WHERE leaves a stored contact that the
   file would not change unwritten.

The merge reads attributes as the import writes them: text values and lists, never null or nested objects
(SQLite's json_patch would delete a null and merge an object).

On SQLite the part writes its contacts' search index rows itself (documents folded by the worker for new
contacts; SQLITE_CONTACT_DOCUMENT for merged ones), with the index triggers paused while it writes (migration
0008): a trigger would call back into Python for every contact, and FTS5 would flush its pending terms once per
statement the trigger runs in. See docs/dev-notes.md.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from linda.contacts.normalize import Part
from linda.query.fold import SQLITE_CONTACT_DOCUMENT
from linda.store.models import Contact
from linda.store.types import utcnow

DO_NOT_CONTACT = "do_not_contact"
contacts = cast(Table, Contact.__table__)

# The part's contacts: [phone, name, locale, tags, attributes] (and on SQLite the search document).
_ROWS = {"sqlite": "json_each(?1)", "postgresql": "jsonb_array_elements($1::jsonb) AS e(value)"}

_FILL_PHONES = (
    "UPDATE contacts SET phone = '+' || wa_id, updated_at = {now} WHERE phone IS NULL "
    "AND wa_id IN (SELECT substr(value ->> 0, 2) FROM {rows}) "
    "AND NOT EXISTS (SELECT 1 FROM contacts AS held WHERE held.phone = '+' || contacts.wa_id) RETURNING id"
)

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
# The WhatsApp id a new contact takes: its number's; or, in the statement a part falls back to when that id is
# another contact's (one with another number), none, as a webhook's contact would (merging is explicit).
_WA_ID = "substr(value ->> 0, 2)"
_FREE_WA_ID = (
    f"CASE WHEN EXISTS (SELECT 1 FROM contacts AS held WHERE held.wa_id = {_WA_ID}) "
    f"THEN NULL ELSE {_WA_ID} END"
)
_RETURNING = {"sqlite": "RETURNING id", "postgresql": "RETURNING id, xmax = 0 AS inserted"}

_UPSERT = (
    "INSERT INTO contacts (phone, wa_id, name, locale, tags, attributes, opted_out, opted_out_at, opt_source, "
    "created_at, updated_at) SELECT value ->> 0, {wa_id}, value ->> 1, value ->> 2, value -> 3, "
    "value -> 4, {opted_out}, {opted_out_at}, {opt_source}, {now}, {now} FROM {rows} "
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

# SQLite's search index: rows of the contacts just inserted (found by phone among the ids above the largest
# before the insert), and the rows of merged contacts replaced. Always in rowid order: FTS5 writes its pending
# terms out whenever a rowid is lower than the one before, which out of order would be at nearly every row.
_INDEX_NEW = (
    "INSERT INTO contacts_fts (rowid, body) SELECT contacts.id, value ->> 5 FROM json_each(?1) "
    "JOIN contacts ON contacts.phone = value ->> 0 WHERE contacts.id > ?2 ORDER BY contacts.id"
)
_UNINDEX_MERGED = "DELETE FROM contacts_fts WHERE rowid IN (SELECT value FROM json_each(?1))"
_INDEX_MERGED = (
    f"INSERT INTO contacts_fts (rowid, body) SELECT id, {SQLITE_CONTACT_DOCUMENT.format(r='contacts')} "
    "FROM contacts WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0


class Statements:
    """The part's SQL for the connection's dialect, and the columns' bind processors."""

    def __init__(self, conn: AsyncConnection) -> None:
        dialect = conn.dialect.name
        self.postgres = dialect == "postgresql"
        self.processors: dict[str, Callable[[Any], Any] | None] = {
            name: contacts.c[name].type._cached_bind_processor(conn.dialect)  # the type's own conversion
            for name in ("opted_out", "updated_at")
        }
        rows, mark = _ROWS[dialect], self._mark
        self.fill_phones = _FILL_PHONES.format(rows=rows, now=mark(2, "timestamp"))
        new_tags = _NEW_TAGS[dialect]
        upsert = functools.partial(
            _UPSERT.format, rows=rows, opted_out=mark(2, "boolean"), opted_out_at=mark(3, "timestamp"),
            opt_source=mark(4, "text"), now=mark(5, "timestamp"), new_tags=new_tags,
            all_tags=_ALL_TAGS[dialect].format(new=new_tags), attributes=_ATTRIBUTES[dialect],
            new_attributes=_NEW_ATTRIBUTES[dialect], opting_out=_OPTING_OUT, returning=_RETURNING[dialect],
        )  # fmt: skip
        self.upsert, self.upsert_free_wa_ids = upsert(wa_id=_WA_ID), upsert(wa_id=_FREE_WA_ID)

    def _mark(self, number: int, postgres_type: str) -> str:
        """Parameter `number` (numbered on both databases: SQLite's ?N may come in any order, and repeat)."""
        return f"${number}::{postgres_type}" if self.postgres else f"?{number}"

    def value(self, name: str, value: Any) -> Any:
        """`value` as the driver takes it for column `name` (booleans as 0/1 on SQLite, naive UTC times)."""
        processor = self.processors[name]
        return processor(value) if processor is not None else value


async def write_part(conn: AsyncConnection, part: Part, do_not_contact: bool) -> Outcome:
    """Merge `part` into the stored contacts, in the transaction of `conn`."""
    if part.contacts == "[]":
        return Outcome()
    sql = Statements(conn)
    rows = part.contacts
    now = sql.value("updated_at", utcnow())
    opted_out_at, source = (now, DO_NOT_CONTACT) if do_not_contact else (None, None)
    upserting = (rows, sql.value("opted_out", do_not_contact), opted_out_at, source, now)
    filled = set((await conn.exec_driver_sql(sql.fill_phones, (rows, now))).scalars())
    if sql.postgres:
        written = await _upsert(conn, sql, upserting)
        merged = {row.id for row in written if not row.inserted}
        created = len(written) - len(merged)
    else:
        created, merged = await _upsert_sqlite(conn, sql, upserting)
    return Outcome(created, len(filled | merged))


async def _upsert(conn: AsyncConnection, sql: Statements, upserting: tuple[Any, ...]) -> Sequence[Row[Any]]:
    """The part's upsert: the rows it wrote. A number whose WhatsApp id another contact holds (under another
    number) would break that id's uniqueness: the part is then written again, such numbers without one."""
    try:
        async with conn.begin_nested():
            return (await conn.exec_driver_sql(sql.upsert, upserting)).all()
    except IntegrityError:
        return (await conn.exec_driver_sql(sql.upsert_free_wa_ids, upserting)).all()


async def _upsert_sqlite(
    conn: AsyncConnection, sql: Statements, upserting: tuple[Any, ...]
) -> tuple[int, set[int]]:
    """The upsert with its search index rows (the triggers paused): how many contacts it created, the ids of
    those it merged into (new contacts take the ids after the largest before)."""
    rows = upserting[0]
    await conn.exec_driver_sql("INSERT INTO contacts_fts_paused (id) VALUES (1)")
    before = (await conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM contacts")).scalar_one()
    written = await _upsert(conn, sql, upserting)
    merged = {row.id for row in written if row.id <= before}
    if merged:  # before the new rows: lower rowids first (see _INDEX_NEW)
        ids = json.dumps(sorted(merged))
        await conn.exec_driver_sql(_UNINDEX_MERGED, (ids,))
        await conn.exec_driver_sql(_INDEX_MERGED, (ids,))
    await conn.exec_driver_sql(_INDEX_NEW, (rows, before))
    await conn.exec_driver_sql("DELETE FROM contacts_fts_paused")
    return len(written) - len(merged), merged
