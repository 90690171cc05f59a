"""Bulk contact import: a file streamed in chunks, each chunk normalized, merged and committed with the job's
progress, so an interrupted import resumes after its last committed chunk and imports no row twice.

Duplicate policy (also in docs/contacts.md and `linda contacts import --help`):
- within the file, rows with the same number are one contact: the first non-empty name and locale are kept,
  tags are unioned, attributes are merged with later values winning;
- against stored contacts the same rules hold: a stored name or locale is never overwritten (the file only fills
  empty ones), tags are unioned, attributes are merged with the file's values winning;
- an import never opts a contact back in; a do-not-contact import opts every number in it out (source
  `do_not_contact`), and sends to opted-out contacts are refused everywhere.
Each row yields one contact: its first valid mobile number; its other valid mobiles go to the `other_phones`
attribute. A row without a valid mobile is rejected: the rejects file lists each value with its reason.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select, update

from linda.contacts.mapping import Mapping, resolve
from linda.contacts.phones import InvalidPhone, to_mobile_e164
from linda.contacts.sources import Source, SourceError, fingerprint, open_source
from linda.contacts.writing import write_chunk
from linda.store.db import Database
from linda.store.models import ImportJob
from linda.store.types import utcnow

CHUNK_ROWS = 5000
FORMULA_START = ("=", "@")
imports = cast(Table, ImportJob.__table__)

Progress = Callable[[int, int], None]  # rows done, rows estimated


@dataclass
class ImportOptions:
    region: str | None = None
    tags: list[str] = field(default_factory=list)
    mapping: dict[str, list[str]] = field(default_factory=dict)
    sheet: str | None = None
    do_not_contact: bool = False
    chunk_rows: int = CHUNK_ROWS

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "tags": self.tags,
            "mapping": self.mapping,
            "sheet": self.sheet,
            "do_not_contact": self.do_not_contact,
        }


@dataclass
class Record:
    row: int
    name: str | None
    locale: str | None
    tags: set[str]
    attributes: dict[str, Any]

    def merge(self, later: Record) -> None:
        self.name = self.name or later.name
        self.locale = self.locale or later.locale
        self.tags |= later.tags
        self.attributes.update(later.attributes)


Reject = tuple[int, str, str, str]  # row, column, value, reason


class Chunk:
    """One chunk's contacts by E.164 number, and its rejects."""

    def __init__(self, options: ImportOptions, mapping: Mapping, header: list[str]) -> None:
        self.options = options
        self.mapping = mapping
        self.header = header
        self.width = len(header)
        self.records: dict[str, Record] = {}
        self.rejects: list[Reject] = []
        self.duplicates = 0
        self.tags = set(options.tags)

    def add(self, number: int, row: list[str]) -> None:
        """Row `number` (1 is the header) into this chunk."""
        width = self.width
        if len(row) != width:
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                self.rejects.append((number, "", "", f"ragged row: {len(row)} cells, the header has {width}"))
                return
            row = (row + [""] * width)[:width]
        phones: list[str] = []
        failures: list[Reject] = []
        region = self.options.region
        for index in self.mapping.phones:
            raw = row[index]
            if not raw or raw.isspace():
                continue
            if raw.startswith(FORMULA_START):
                failures.append((number, self.header[index], raw, "formula, not a number"))
                continue
            try:
                phone = to_mobile_e164(raw, region)
            except InvalidPhone as exc:
                failures.append((number, self.header[index], raw, exc.reason))
                continue
            if phone not in phones:
                phones.append(phone)
        if not phones:
            self.rejects.extend(failures or [(number, "", "", "no phone number")])
            return
        mapping = self.mapping
        tags = self.tags if mapping.tags is None else self.tags | _split_tags(row[mapping.tags])
        attributes: dict[str, Any] = {}
        for index, attribute in mapping.attributes:
            value = row[index]
            if value and not value.startswith(FORMULA_START):
                value = value.strip()
                if value:
                    attributes[attribute] = value
        if len(phones) > 1:
            attributes["other_phones"] = phones[1:]
        record = Record(number, _text(row, mapping.name), _text(row, mapping.locale), set(tags), attributes)
        known = self.records.get(phones[0])
        if known is None:
            self.records[phones[0]] = record
        else:
            self.duplicates += 1
            known.merge(record)


@lru_cache(maxsize=4096)
def _split_tags(text: str) -> frozenset[str]:
    return frozenset(tag.strip() for tag in text.replace(";", ",").split(",") if tag.strip())


def _text(row: list[str], index: int | None) -> str | None:
    if index is None:
        return None
    value = row[index].strip()
    return value if value and not value.startswith(FORMULA_START) else None


class RejectsFile:
    """The rejects CSV (row, column, value, reason); on resume it keeps only rows of committed chunks."""

    def __init__(self, path: Path, resume_after_row: int) -> None:
        self.path = path
        kept: list[list[str]] = []
        if resume_after_row and path.exists():
            with path.open(encoding="utf-8", newline="") as old:
                kept = [
                    r
                    for r in itertools.islice(csv.reader(old), 1, None)
                    if r and int(r[0]) <= resume_after_row
                ]
        self.file = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(["row", "column", "value", "reason"])
        self.writer.writerows(kept)

    def write(self, rejects: Iterable[Reject]) -> None:
        self.writer.writerows((row, col, _safe(value), reason) for row, col, value, reason in rejects)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _safe(value: str) -> str:
    """A value as a spreadsheet shows it, never runs it."""
    risky = value.startswith(("=", "@")) or (value.startswith(("+", "-")) and not value[1:2].isdigit())
    return "'" + value if risky else value


async def find_resumable(db: Database, digest: str) -> ImportJob | None:
    async with db.read() as session:
        return (
            await session.scalars(
                select(ImportJob)
                .where(ImportJob.fingerprint == digest, ImportJob.state.in_(("running", "failed")))
                .order_by(ImportJob.id.desc())
                .limit(1)
            )
        ).first()


async def create_job(
    db: Database, path: Path, options: ImportOptions, rejects: Path, source: str = ""
) -> int:
    """A new import of `path`, or the unfinished one of the same bytes to resume: its id."""
    digest = fingerprint(path)
    job = await find_resumable(db, digest)
    async with db.transaction() as session:
        if job is not None:
            job = await session.get(ImportJob, job.id)
            assert job is not None
            job.state, job.error, job.options, job.rejects_path = (
                "running",
                None,
                options.as_json(),
                str(rejects),
            )
            return job.id
        job = ImportJob(
            source=source or path.name,
            fingerprint=digest,
            options=options.as_json(),
            rejects_path=str(rejects),
        )
        session.add(job)
        await session.flush()
        return job.id


async def run_job(
    db: Database, job_id: int, path: Path, options: ImportOptions, progress: Progress | None = None
) -> ImportJob:
    """Import `path` for job `job_id` from its last committed row; the finished (or failed) job."""
    async with db.read() as session:
        job = await session.get(ImportJob, job_id)
        assert job is not None
        start, rejects_path = job.rows_done, Path(job.rejects_path or f"{path}.rejects.csv")
    rejects: RejectsFile | None = None
    source: Source | None = None
    try:
        source = open_source(path, options.sheet)
        mapping = resolve(source.header, options.mapping)
        rejects = RejectsFile(rejects_path, start + 1)
        detected = {
            "encoding": source.encoding,
            "delimiter": source.delimiter,
            "sheet": source.sheet,
            "mapping": mapping.describe(source.header),
        }
        await _set(
            db, job_id, total_rows=source.estimated_rows, options={**options.as_json(), "detected": detected}
        )
        await _stream(db, job_id, source, mapping, options, start, rejects, progress)
    except SourceError as exc:
        await _set(db, job_id, state="failed", error=str(exc), finished_at=utcnow())
        raise
    finally:
        if rejects is not None:
            rejects.close()
        if source is not None:
            source.close()
    async with db.read() as session:
        done = await session.get(ImportJob, job_id)
        assert done is not None
        return done


async def _stream(db: Database, job_id: int, source: Source, mapping: Mapping, options: ImportOptions,
                  start: int, rejects: RejectsFile, progress: Progress | None) -> None:  # fmt: skip
    """Read and normalize the next chunk in a thread while the previous one is written: the database's own work
    (SQLite in aiosqlite's thread, PostgreSQL in its server) runs beside the parsing. Chunks commit in order."""
    rows = itertools.islice(source.rows, start, None)

    def read(first: int) -> tuple[Chunk, int]:
        chunk = Chunk(options, mapping, source.header)
        batch = list(itertools.islice(rows, options.chunk_rows))
        for offset, row in enumerate(batch):
            chunk.add(first + offset + 2, row)
        rejects.write(chunk.rejects)
        return chunk, len(batch)

    done = start
    chunk, size = await asyncio.to_thread(read, done)
    while True:
        last = size < options.chunk_rows
        done += size
        writing = asyncio.ensure_future(_commit(db, job_id, chunk, options, done, last))
        if not last:
            try:
                chunk, size = await asyncio.to_thread(read, done)
            finally:
                await writing
        await writing
        if progress is not None:
            progress(done, max(done, source.estimated_rows))
        if last:
            return


async def _commit(
    db: Database, job_id: int, chunk: Chunk, options: ImportOptions, done: int, last: bool
) -> None:
    async with db.core_transaction() as conn:
        outcome = await write_chunk(conn, chunk, options.do_not_contact)
        values: dict[str, Any] = {
            "rows_done": done,
            "created": imports.c.created + outcome.created,
            "updated": imports.c.updated + outcome.updated,
            "rejected": imports.c.rejected + len({r[0] for r in chunk.rejects}),
            "duplicates": imports.c.duplicates + chunk.duplicates,
            "updated_at": utcnow(),
        }
        if last:
            values.update(state="done", finished_at=utcnow(), total_rows=done)
        await conn.execute(update(imports).where(imports.c.id == job_id).values(**values))


async def _set(db: Database, job_id: int, **values: Any) -> None:
    async with db.core_transaction() as conn:
        await conn.execute(
            update(imports).where(imports.c.id == job_id).values(updated_at=utcnow(), **values)
        )


async def import_file(db: Database, path: Path, options: ImportOptions, rejects: Path | None = None,
                      progress: Progress | None = None) -> ImportJob:  # fmt: skip
    """Import (or resume importing) `path`: the finished job with its counts."""
    rejects = rejects or path.with_name(path.name + ".rejects.csv")
    job_id = await create_job(db, path, options, rejects)
    return await run_job(db, job_id, path, options, progress)
