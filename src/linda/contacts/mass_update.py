"""Mass updates: change every contact a filter selects, in chunks, with a journal that can undo the job.

A job adds and removes tags, sets attributes and opts contacts out. Each chunk is one transaction: the
contacts change, and for each one that did, the journal keeps its fields before and after. `undo` puts the
fields back, except where a contact has changed since the job (the journal's "after" no longer holds): those
are left as they are, and counted as conflicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from linda.contacts import consent
from linda.query.compile import where_clause
from linda.query.filters import Expr
from linda.store.db import Database
from linda.store.models import Contact, ContactChange, ContactJob
from linda.store.types import utcnow

CHUNK = 1000
FIELDS = ("tags", "attributes", "opted_out", "opted_out_at", "opt_source")
Progress = Callable[[int, int], None]  # (contacts done, contacts matched)


class JobError(ValueError):
    """A job that cannot run or be undone as asked; the message says why."""


@dataclass(frozen=True)
class Changes:
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    set: dict[str, Any] = field(default_factory=dict)  # attribute -> value (None removes it)
    opt_out: bool = False

    def __post_init__(self) -> None:
        if not (self.add_tags or self.remove_tags or self.set or self.opt_out):
            raise JobError("nothing to change: add or remove a tag, set an attribute, or opt out")
        if both := set(self.add_tags) & set(self.remove_tags):
            raise JobError(f"tag {sorted(both)[0]!r} is both added and removed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "add_tags": list(self.add_tags),
            "remove_tags": list(self.remove_tags),
            "set": self.set,
            "opt_out": self.opt_out,
        }

    def apply(self, contact: Contact) -> None:
        tags = [t for t in contact.tags or [] if t not in self.remove_tags]
        tags += [t for t in self.add_tags if t not in tags]
        contact.tags = tags
        if self.set:
            attributes = dict(contact.attributes or {})
            for name, value in self.set.items():
                if value is None:
                    attributes.pop(name, None)
                else:
                    attributes[name] = value
            contact.attributes = attributes
        if self.opt_out:
            consent.opt_out(contact, "mass_update")


def parse_assignment(text: str) -> tuple[str, Any]:
    """`attr=value` -> (attr, value): a JSON number, true/false or null is typed; anything else is text."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise JobError(f"{text!r} is not attribute=value")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, (dict, list)):
        value = raw  # structures are not attribute values: keep the text
    return name.strip(), value


def _fields(contact: Contact) -> dict[str, Any]:
    return {
        "tags": list(contact.tags or []),
        "attributes": dict(contact.attributes or {}),
        "opted_out": contact.opted_out,
        "opted_out_at": contact.opted_out_at.isoformat() if contact.opted_out_at else None,
        "opt_source": contact.opt_source,
    }


async def count_matching(db: Database, expr: Expr) -> int:
    async with db.read() as session:
        total = await session.scalar(
            select(func.count()).select_from(Contact).where(where_clause(expr, db.dialect))
        )
    return int(total or 0)


async def run_update(
    db: Database,
    filter_text: str,
    expr: Expr,
    changes: Changes,
    *,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> ContactJob:
    """Apply `changes` to the contacts `expr` selects, chunk by chunk; the finished job."""
    job_id = await start_job(db, filter_text, expr, changes)
    return await run_job(db, job_id, expr, changes, chunk=chunk, progress=progress)


async def start_job(db: Database, filter_text: str, expr: Expr, changes: Changes) -> int:
    """Record a job with the number of contacts it matches now; its id, for `run_job`."""
    matched = await count_matching(db, expr)
    async with db.transaction() as session:
        job = ContactJob(filter=filter_text, changes=changes.as_dict(), matched=matched)
        session.add(job)
        await session.flush()
        return job.id


async def run_job(
    db: Database,
    job_id: int,
    expr: Expr,
    changes: Changes,
    *,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> ContactJob:
    """Apply a started job, one committed chunk at a time (its `changed` count is the progress)."""
    async with db.read() as session:
        matched = (await session.get_one(ContactJob, job_id)).matched
    done = changed = 0
    after_id = 0
    try:
        while True:
            async with db.transaction() as session:
                query = (
                    select(Contact)
                    .where(where_clause(expr, db.dialect), Contact.id > after_id)
                    .order_by(Contact.id)
                    .limit(chunk)
                )
                if db.is_postgres:
                    query = query.with_for_update()
                contacts = list((await session.scalars(query)).all())
                if not contacts:
                    break
                for contact in contacts:
                    before = _fields(contact)
                    changes.apply(contact)
                    after = _fields(contact)
                    if after != before:
                        session.add(
                            ContactChange(job_id=job_id, contact_id=contact.id, before=before, after=after)
                        )
                        changed += 1
                done += len(contacts)
                after_id = contacts[-1].id
                row = await session.get_one(ContactJob, job_id)
                row.changed = changed
            if progress is not None:
                progress(done, matched)
    except Exception as exc:
        await _finish(db, job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    return await _finish(db, job_id, "done")


async def undo(db: Database, job_id: int, *, chunk: int = CHUNK) -> tuple[ContactJob, int, int]:
    """Put back what job `job_id` changed: (the job, contacts restored, conflicts left as they are)."""
    async with db.read() as session:
        job = await session.get(ContactJob, job_id)
    if job is None:
        raise JobError(f"there is no job {job_id}; `linda contacts jobs` lists them")
    if job.state != "done":
        raise JobError(f"job {job_id} is {job.state}; only a finished job can be undone")
    restored = conflicts = 0
    after_id = 0
    while True:
        async with db.transaction() as session:
            lines = list(
                (
                    await session.scalars(
                        select(ContactChange)
                        .where(ContactChange.job_id == job_id, ContactChange.id > after_id)
                        .order_by(ContactChange.id)
                        .limit(chunk)
                    )
                ).all()
            )
            if not lines:
                break
            after_id = lines[-1].id
            contacts = {
                c.id: c
                for c in (
                    await session.scalars(
                        select(Contact).where(Contact.id.in_([line.contact_id for line in lines]))
                    )
                ).all()
            }
            for line in lines:
                contact = contacts.get(line.contact_id)
                if contact is None or _fields(contact) != line.after:
                    conflicts += 1  # erased, or changed since: a later change wins
                    continue
                _restore(contact, line.before)
                restored += 1
    async with db.transaction() as session:
        row = await session.get_one(ContactJob, job_id)
        row.state, row.undone_at = "undone", utcnow()
    return row, restored, conflicts


def _restore(contact: Contact, before: dict[str, Any]) -> None:
    contact.tags = list(before["tags"])
    contact.attributes = dict(before["attributes"])
    contact.opted_out = bool(before["opted_out"])
    contact.opted_out_at = datetime.fromisoformat(before["opted_out_at"]) if before["opted_out_at"] else None
    contact.opt_source = before["opt_source"]


async def _finish(db: Database, job_id: int, state: str, error: str | None = None) -> ContactJob:
    async with db.transaction() as session:
        job = await session.get_one(ContactJob, job_id)
        job.state, job.error, job.finished_at = state, error, utcnow()
    return job


async def list_jobs(db: Database, limit: int = 50) -> list[ContactJob]:
    async with db.read() as session:
        return list(
            (await session.scalars(select(ContactJob).order_by(ContactJob.id.desc()).limit(limit))).all()
        )
