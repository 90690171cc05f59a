"""Bulk contact import: a file streamed in chunks, each chunk merged and committed with the job's progress in
one transaction, so an interrupted import resumes after its last committed chunk and imports no row twice.

A chunk is read in parts of at most PART_ROWS rows. Parts are normalized (normalize.py) in worker processes, a
few ahead of the one being written (writing.py): the phone parsing and the database's own work run side by side,
and the database driver's thread never waits for the GIL behind the parser. The workers take turns and run at a
lower priority, so the writes come first (see _workers). A file of one part is normalized in a thread: there is
nothing to overlap. Chunks are larger than parts because each commit writes every index page the chunk touched,
and a chunk's random phone numbers touch nearly all of them; parts are smaller because they are what the
workers and this process hold in memory at once.

Duplicate policy (also in docs/contacts.md and `linda contacts import --help`):
- within the file, rows with the same number are one contact: the first non-empty name and locale are kept,
  tags are unioned, attributes are merged with later values winning;
- against stored contacts the same rules hold: a stored name or locale is never overwritten (the file only fills
  empty ones), tags are unioned, attributes are merged with the file's values winning;
- an import never opts a contact back in; a do-not-contact import opts every number in it out (source
  `do_not_contact`), and sends to opted-out contacts are refused everywhere.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import csv
import functools
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from linda.contacts.mapping import Mapping, resolve
from linda.contacts.normalize import Part, PartReader, Reject, RowReader, start_worker, worker_part
from linda.contacts.sources import Source, SourceError, fingerprint, open_source
from linda.contacts.writing import ChunkWriter, Outcome
from linda.store.db import Database
from linda.store.models import ImportJob
from linda.store.types import utcnow

CHUNK_ROWS = 200_000  # rows per transaction
PART_ROWS = 25_000  # rows per hand-over from a worker process
WORKERS = 2  # worker processes normalizing parts
AHEAD = 3  # parts asked for ahead of the one being written: workers are not held up by a slow part
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
    """Have the next parts read and normalized while the one before is written; commit chunk after chunk."""
    reader = RowReader(source.header, mapping, options.region, frozenset(options.tags), db.is_sqlite)
    size = min(options.chunk_rows, PART_ROWS)
    several = source.estimated_rows - start > size
    schedule = _within_chunks(options.chunk_rows, _ramp(size) if several else itertools.repeat(size))
    done, last = start, False
    with _parts(source.path, options.sheet, start, reader, _workers(source, several)) as next_part:
        ahead = collections.deque((asked, next_part(asked)) for asked in itertools.islice(schedule, AHEAD))
        try:
            while not last:
                chunk = _Tally()
                async with db.core_transaction() as conn:
                    writer = ChunkWriter(conn, options.do_not_contact)
                    while not last and chunk.rows < options.chunk_rows:
                        asked, pending = ahead.popleft()
                        part = await pending
                        last = part.rows < asked
                        if not last:
                            asked = next(schedule)
                            ahead.append((asked, next_part(asked)))
                        rejects.write(part.rejects)
                        chunk.add(part, await writer.write(part))
                        if progress is not None and part.rows:
                            progress(done + chunk.rows, max(done + chunk.rows, source.estimated_rows))
                    await writer.finish()
                    done += chunk.rows
                    await _record(conn, job_id, chunk, done, last)
        finally:
            for _, pending in ahead:  # parts past the end of the file, or past a failure
                pending.cancel()


def _ramp(size: int) -> Iterator[int]:
    """Part sizes that double up to `size`: the database starts on a small first part instead of waiting for
    a whole one, and the workers keep ahead while they are slower than the writes into a small database."""
    asked = max(1, size // 16)
    while asked < size:
        yield asked
        asked *= 2
    yield from itertools.repeat(size)


def _within_chunks(chunk_rows: int, sizes: Iterator[int]) -> Iterator[int]:
    """`sizes`, each cut to the room left in its chunk: chunks are whole parts and keep their size."""
    room = chunk_rows
    for size in sizes:
        asked = min(size, room)
        yield asked
        room = room - asked or chunk_rows


@dataclass
class _Tally:
    """What a chunk's parts did."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    duplicates: int = 0

    def add(self, part: Part, outcome: Outcome) -> None:
        self.rows += part.rows
        self.created += outcome.created
        self.updated += outcome.updated
        self.rejected += len({reject[0] for reject in part.rejects})
        self.duplicates += part.duplicates


def _workers(source: Source, several: bool) -> int:
    """Worker processes for a file: none for a file of one part (nothing to overlap), nor on one core; else
    two, which take turns with the parts of a CSV file (each loads an XLSX sheet whole: one for those)."""
    if not several or (os.cpu_count() or 1) < 2:
        return 0
    return 1 if source.kind == "xlsx" else WORKERS


@contextlib.contextmanager
def _parts(path: Path, sheet: str | None, start: int, reader: RowReader,
           workers: int) -> Iterator[Callable[[int], asyncio.Future[Part]]]:  # fmt: skip
    """A function that starts reading the next part (from data row `start` on) of the size it is given: in
    `workers` worker processes, or with none, in a thread."""
    loop = asyncio.get_running_loop()
    first = start

    def next_part(executor: Executor, read: Callable[[int, int], Part], size: int) -> asyncio.Future[Part]:
        nonlocal first
        pending = loop.run_in_executor(executor, read, first, size)
        first += size  # a part has the rows asked for, but the last
        return pending

    if workers:
        spawn = multiprocessing.get_context("spawn")  # not fork: this process has threads (the database's)
        with ProcessPoolExecutor(workers, spawn, start_worker, (path, sheet, reader)) as pool:
            yield functools.partial(next_part, pool, worker_part)
        return
    parts = PartReader(path, sheet, reader)
    try:
        with ThreadPoolExecutor(1) as thread:  # one thread: parts are read in the order asked
            yield functools.partial(next_part, thread, parts.read)
    finally:
        parts.close()


async def _record(conn: AsyncConnection, job_id: int, chunk: _Tally, done: int, last: bool) -> None:
    """The job's progress after `chunk`, in the chunk's transaction."""
    values: dict[str, Any] = {
        "rows_done": done,
        "created": imports.c.created + chunk.created,
        "updated": imports.c.updated + chunk.updated,
        "rejected": imports.c.rejected + chunk.rejected,
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
