"""Writing one chunk of imported contacts: one lookup of the stored ones it meets, one insert, one update.

Each statement covers the whole chunk, its rows passed as one JSON array (read with json_each on SQLite,
jsonb_array_elements on PostgreSQL), so a chunk costs a few round trips whatever its size. The worker that
normalized the chunk already encoded that array, in phone order: consecutive new rows land in the same pages of
the phone indexes. Stored contacts that a chunk does not change are not written at all.

On SQLite the chunk writes its contacts' search index rows itself (documents folded by the worker, or here for
updated contacts), with the index triggers paused for its transaction (migration 0008): a trigger would call
back into Python for every contact, and FTS5 would flush its pending terms once per statement the trigger runs
in. See docs/dev-notes.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from linda.contacts.normalize import Chunk
from linda.query.fold import contact_document
from linda.store.models import Contact
from linda.store.types import utcnow

DO_NOT_CONTACT = "do_not_contact"
contacts = cast(Table, Contact.__table__)

# The chunk's rows, one JSON array each. New: phone, name, locale, tags, attributes (and on SQLite the search
# document). Changed: the same five, then opted_out, id (and the search document).
_ROWS = {"sqlite": "json_each(?1)", "postgresql": "jsonb_array_elements($1::jsonb) AS e(value)"}
_INSERT = (
    "INSERT INTO contacts (phone, wa_id, name, locale, tags, attributes, opted_out, opted_out_at, opt_source, "
    "created_at, updated_at) SELECT value ->> 0, substr(value ->> 0, 2), value ->> 1, value ->> 2, value -> 3, "
    "value -> 4, {opted_out}, {opted_out_at}, {opt_source}, {now}, {now} FROM {rows} "
    "WHERE true ON CONFLICT DO NOTHING"  # WHERE: SQLite would read ON CONFLICT as a join's ON
)
_UPDATE = (
    "UPDATE contacts SET phone = value ->> 0, name = value ->> 1, locale = value ->> 2, tags = value -> 3, "
    "attributes = value -> 4, opted_out = {opting_out}, "
    "opted_out_at = CASE WHEN {opting_out} AND NOT contacts.opted_out THEN {now} ELSE contacts.opted_out_at END, "
    "opt_source = CASE WHEN {opting_out} AND NOT contacts.opted_out THEN {opt_source} "
    "ELSE contacts.opt_source END, updated_at = {now} FROM {rows} WHERE contacts.id = {id}"
)
# The stored contacts that the chunk's contacts are (by phone, or by WhatsApp id), each with the file's row. On
# SQLite as one JSON array, which the driver's thread hands over at once rather than a row at a time.
_PAIRS = "SELECT {columns} FROM {rows} JOIN contacts AS c ON c.phone = value ->> 0 OR c.wa_id = substr(value ->> 0, 2)"
_PAIR = "c.id, c.phone, c.wa_id, c.name, c.locale, {tags}, {attributes}, c.opted_out, {row}"
# SQLite's search index: rows of the contacts just inserted (found by phone among the ids above the largest
# before the insert), and the rows of updated contacts replaced. Always in rowid order: FTS5 writes its pending
# terms out whenever a rowid is lower than the one before, which out of order would be at nearly every row.
_INDEX_NEW = (
    "INSERT INTO contacts_fts (rowid, body) SELECT contacts.id, value ->> 5 FROM json_each(?1) "
    "JOIN contacts ON contacts.phone = value ->> 0 WHERE contacts.id > ?2 ORDER BY contacts.id"
)
_UNINDEX_CHANGED = "DELETE FROM contacts_fts WHERE rowid IN (SELECT value ->> 6 FROM json_each(?1))"
_INDEX_CHANGED = "INSERT INTO contacts_fts (rowid, body) SELECT value ->> 6, value ->> 7 FROM json_each(?1)"


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0


class Statements:
    """The chunk's SQL for the connection's dialect, and the columns' bind processors."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.postgres = conn.dialect.name == "postgresql"
        self.processors: dict[str, Callable[[Any], Any] | None] = {
            name: contacts.c[name].type._cached_bind_processor(conn.dialect)  # the type's own conversion
            for name in ("opted_out", "updated_at")
        }
        rows = _ROWS[conn.dialect.name]
        mark = self._mark
        self.insert = _INSERT.format(
            rows=rows, opted_out=mark(2, "boolean"), opted_out_at=mark(3, "timestamp"), opt_source=mark(4, "text"),
            now=mark(5, "timestamp"),
        )  # fmt: skip
        opting_out = "CAST(value ->> 5 AS boolean)" if self.postgres else "(value ->> 5)"
        self.update = _UPDATE.format(
            rows=rows, opting_out=opting_out, now=mark(2, "timestamp"), opt_source=mark(3, "text"),
            id="CAST(value ->> 6 AS bigint)" if self.postgres else "value ->> 6",
        )  # fmt: skip
        if self.postgres:
            columns = _PAIR.format(tags="c.tags", attributes="c.attributes", row="value")
        else:
            pair = _PAIR.format(tags="json(c.tags)", attributes="json(c.attributes)", row="json(value)")
            columns = f"json_group_array(json_array({pair}))"
        self.pairs = _PAIRS.format(columns=columns, rows=rows)

    def _mark(self, number: int, postgres_type: str) -> str:
        """Parameter `number` (numbered on both databases: SQLite's ?N may come in any order, and repeat)."""
        return f"${number}::{postgres_type}" if self.postgres else f"?{number}"

    def value(self, name: str, value: Any) -> Any:
        """`value` as the driver takes it for column `name` (booleans as 0/1 on SQLite, naive UTC times)."""
        processor = self.processors[name]
        return processor(value) if processor is not None else value


def _json(value: Any, empty: Any) -> Any:
    if value is None:
        return empty
    return json.loads(value) if isinstance(value, str) else value


def _change(stored: Sequence[Any], contact: list[Any], do_not_contact: bool) -> list[Any] | None:
    """The update row that merges a file's `contact` (phone, name, locale, tags, attributes) into the `stored`
    one (id, phone, wa_id, name, locale, tags, attributes, opted_out), or None if it would change nothing.
    A stored phone is kept: the file fills it only where the contact was known by its WhatsApp id alone."""
    id_, phone, _, name, locale, tags, attributes, opted_out = stored
    tags, attributes = _json(tags, []), _json(attributes, {})
    merged = [
        phone or contact[0],
        name or contact[1],
        locale or contact[2],
        tags + [tag for tag in contact[3] if tag not in tags],
        {**attributes, **contact[4]},
    ]
    opting_out = do_not_contact and not opted_out
    if not opting_out and merged == [phone, name, locale, tags, attributes]:
        return None
    return [*merged, bool(opted_out) or do_not_contact, id_]


def _matches(pairs: Sequence[Sequence[Any]]) -> dict[str, tuple[Sequence[Any], list[Any]]]:
    """Per file phone, the stored contact it merges into: the one holding that phone, else the one with its
    WhatsApp id."""
    found: dict[str, tuple[Sequence[Any], list[Any]]] = {}
    for pair in pairs:
        stored, contact = pair[:8], _json(pair[8], [])
        phone = contact[0]
        if phone not in found or stored[1] == phone:
            found[phone] = (stored, contact)
    return found


async def write_chunk(conn: AsyncConnection, chunk: Chunk, do_not_contact: bool) -> Outcome:
    """Merge `chunk` into the stored contacts, in the transaction of `conn`."""
    if chunk.contacts == "[]":
        return Outcome()
    sql = Statements(conn)
    rows = chunk.contacts
    found = await conn.exec_driver_sql(sql.pairs, (rows,))
    pairs = found.all() if sql.postgres else json.loads(found.scalar_one())
    changes = [
        change
        for stored, contact in _matches(pairs).values()
        if (change := _change(stored, contact, do_not_contact)) is not None
    ]
    changes.sort(key=lambda change: change[6])  # by id (see _INDEX_NEW)
    now = sql.value("updated_at", utcnow())
    opted_out_at, source = (now, DO_NOT_CONTACT) if do_not_contact else (None, None)
    inserting = (rows, sql.value("opted_out", do_not_contact), opted_out_at, source, now)
    if sql.postgres:
        # every contact of the chunk: ON CONFLICT leaves the stored ones alone
        created = (await conn.exec_driver_sql(sql.insert, inserting)).rowcount
        if changes:
            await conn.exec_driver_sql(sql.update, (_encode(changes), now, DO_NOT_CONTACT))
        return Outcome(created, len(changes))
    return Outcome(await _write_sqlite(conn, sql, inserting, changes, now), len(changes))


async def _write_sqlite(
    conn: AsyncConnection, sql: Statements, inserting: tuple[Any, ...], changes: list[list[Any]], now: Any
) -> int:
    """The chunk's insert and update, with their search index rows (the triggers paused); the number created."""
    await conn.exec_driver_sql("INSERT INTO contacts_fts_paused (id) VALUES (1)")
    before = (await conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM contacts")).scalar_one()
    created: int = (await conn.exec_driver_sql(sql.insert, inserting)).rowcount
    await conn.exec_driver_sql(_INDEX_NEW, (inserting[0], before))
    if changes:
        for change in changes:
            change.append(contact_document(change[1], change[4]))
        rows = _encode(changes)
        await conn.exec_driver_sql(_UNINDEX_CHANGED, (rows,))
        await conn.exec_driver_sql(sql.update, (rows, now, DO_NOT_CONTACT))
        await conn.exec_driver_sql(_INDEX_CHANGED, (rows,))
    await conn.exec_driver_sql("DELETE FROM contacts_fts_paused")
    return created


def _encode(rows: list[list[Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False)
