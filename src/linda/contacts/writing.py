"""Writing one chunk of imported contacts: one select of the stored ones, one batched insert, one batched update.

The statements go to the database driver's `executemany` (sqlite3 through aiosqlite, asyncpg) inside the
caller's transaction: an ORM or even a Core round of parameter processing per row costs more than the rest of
the import. Booleans and times pass through their columns' own SQLAlchemy bind processors (once per chunk), JSON
columns through json.dumps as SQLAlchemy's JSON type does, so rows are stored exactly as the models store them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from linda.store.models import Contact
from linda.store.types import utcnow

if TYPE_CHECKING:
    from linda.contacts.importer import Chunk

DO_NOT_CONTACT = "do_not_contact"
contacts = cast(Table, Contact.__table__)
INSERTED = ("phone", "wa_id", "name", "locale", "tags", "attributes", "opted_out", "opted_out_at", "opt_source",
            "created_at", "updated_at")  # fmt: skip
UPDATED = (
    "phone",
    "name",
    "locale",
    "tags",
    "attributes",
    "opted_out",
    "opted_out_at",
    "opt_source",
    "updated_at",
)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0


class Statements:
    """The chunk's SQL in the driver's parameter style, and the columns' bind processors."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.dialect = conn.dialect
        self.postgres = conn.dialect.name == "postgresql"
        self.processors: dict[str, Callable[[Any], Any] | None] = {
            name: contacts.c[name].type._cached_bind_processor(conn.dialect)  # the type's own conversion
            for name in ("opted_out", "updated_at")
        }
        mark = self._mark
        self.insert = (
            f"INSERT INTO contacts ({', '.join(INSERTED)}) VALUES "
            f"({', '.join(mark(i) for i in range(1, len(INSERTED) + 1))}) ON CONFLICT DO NOTHING"
        )
        sets = []
        for i, name in enumerate(UPDATED, start=1):
            keep = name in ("opted_out_at", "opt_source")
            sets.append(f"{name} = COALESCE({mark(i)}, {name})" if keep else f"{name} = {mark(i)}")
        self.update = f"UPDATE contacts SET {', '.join(sets)} WHERE id = {mark(len(UPDATED) + 1)}"

    def _mark(self, index: int) -> str:
        return f"${index}" if self.postgres else "?"

    def select(self, count: int) -> str:
        columns = "id, phone, wa_id, name, locale, tags, attributes, opted_out"
        if self.postgres:
            return f"SELECT {columns} FROM contacts WHERE phone = ANY($1::text[]) OR wa_id = ANY($2::text[])"
        marks = ", ".join("?" * count)
        return f"SELECT {columns} FROM contacts WHERE phone IN ({marks}) OR wa_id IN ({marks})"

    def value(self, name: str, value: Any) -> Any:
        """`value` as the driver takes it for column `name` (booleans as 0/1 on SQLite, naive UTC times)."""
        processor = self.processors[name]
        return processor(value) if processor is not None else value


def _json(value: Any, empty: Any) -> Any:
    if value is None:
        return empty
    return json.loads(value) if isinstance(value, str) else value


async def write_chunk(conn: AsyncConnection, chunk: Chunk, do_not_contact: bool) -> Outcome:
    """Merge `chunk` into the stored contacts, in the transaction of `conn`."""
    outcome = Outcome()
    if not chunk.records:
        return outcome
    sql = Statements(conn)
    driver: Any = (await conn.get_raw_connection()).driver_connection
    phones = list(chunk.records)
    wa_ids = [phone[1:] for phone in phones]
    params: list[Any] = [phones, wa_ids] if sql.postgres else [*phones, *wa_ids]
    # through SQLAlchemy: on asyncpg this also opens the transaction that the driver's executemany joins
    stored: Sequence[Any] = (await conn.exec_driver_sql(sql.select(len(phones)), tuple(params))).all()
    now = sql.value("updated_at", utcnow())
    yes, no = sql.value("opted_out", True), sql.value("opted_out", False)
    opted_out_at, source = (now, DO_NOT_CONTACT) if do_not_contact else (None, None)
    dumps = json.dumps
    changes: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    for id_, phone, wa_id, name, locale, tags, attributes, opted_out in stored:
        phone = phone or f"+{wa_id}"
        record = chunk.records.get(phone)
        if record is None or phone in seen:
            continue
        seen.add(phone)
        merged_tags = list(_json(tags, []))
        merged_tags += sorted(record.tags.difference(merged_tags))
        opting_out = do_not_contact and not opted_out
        changes.append(
            (
                phone,
                name or record.name,
                locale or record.locale,
                dumps(merged_tags),
                dumps({**_json(attributes, {}), **record.attributes}),
                yes if opted_out or do_not_contact else no,
                now if opting_out else None,
                DO_NOT_CONTACT if opting_out else None,
                now,
                id_,
            )
        )
    new = [
        (
            phone,
            phone[1:],
            record.name,
            record.locale,
            dumps(sorted(record.tags)),
            dumps(record.attributes),
            yes if do_not_contact else no,
            opted_out_at,
            source,
            now,
            now,
        )
        for phone, record in chunk.records.items()
        if phone not in seen
    ]
    if new:
        await driver.executemany(sql.insert, new)
        outcome.created = len(new)
    if changes:
        await driver.executemany(sql.update, changes)
        outcome.updated = len(changes)
    return outcome
