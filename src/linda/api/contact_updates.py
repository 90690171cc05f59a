"""Mass updates under /api/contact-updates: count first (`dry_run`), then a background job with progress, and
its undo."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from linda.api import background
from linda.api.auth import database
from linda.api.errors import ApiError, not_found
from linda.contacts.mass_update import Changes, JobError, count_matching, run_job, start_job, undo
from linda.query.filters import FilterError
from linda.query.segments import resolve_filter
from linda.store.db import Database
from linda.store.models import ContactJob

router = APIRouter(prefix="/contact-updates", tags=["contacts"])
DB = Annotated[Database, Depends(database)]


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: str = Field(
        min_length=1, description="The contacts to change (the filter language; @segments too)."
    )
    add_tags: list[str] = []
    remove_tags: list[str] = []
    set: dict[str, Any] = Field({}, description="attribute -> value; null removes the attribute.")
    opt_out: bool = False
    dry_run: bool = Field(False, description="Only count the contacts it would change.")


class JobOut(BaseModel):
    id: int | None = Field(description="The job, for GET and undo (null for a dry run).")
    state: str
    filter: str
    matched: int
    changed: int
    changes: dict[str, Any]
    created_at: datetime | None = None
    finished_at: datetime | None = None
    undone_at: datetime | None = None
    error: str | None = None


class UndoOut(BaseModel):
    id: int
    state: str
    restored: int
    conflicts: int = Field(description="Contacts changed since the job, left as they are.")


def _job_view(job: ContactJob) -> JobOut:
    return JobOut(
        id=job.id,
        state=job.state,
        filter=job.filter,
        matched=job.matched,
        changed=job.changed,
        changes=job.changes,
        created_at=job.created_at,
        finished_at=job.finished_at,
        undone_at=job.undone_at,
        error=job.error,
    )


@router.post("", response_model=JobOut, status_code=202, responses={200: {"model": JobOut}})
async def start_update(body: UpdateIn, response: Response, db: DB) -> JobOut:
    """Count the contacts the filter selects (`dry_run`: 200), or start changing them (202, a job to follow)."""
    try:
        expr = await resolve_filter(db, body.filter)
        changes = Changes(tuple(body.add_tags), tuple(body.remove_tags), dict(body.set), body.opt_out)
    except FilterError as exc:
        raise ApiError(422, "invalid_filter", str(exc), "filter") from exc
    except JobError as exc:
        raise ApiError(422, "invalid_changes", str(exc)) from exc
    if body.dry_run:
        response.status_code = 200
        matched = await count_matching(db, expr)
        return JobOut(
            id=None,
            state="dry_run",
            filter=body.filter,
            matched=matched,
            changed=0,
            changes=changes.as_dict(),
        )
    job_id = await start_job(db, body.filter, expr, changes)
    background.start(run_job(db, job_id, expr, changes), name=f"contact-update-{job_id}")
    return await read_job(job_id, db)


@router.get("/{job_id}", response_model=JobOut)
async def read_job(job_id: int, db: DB) -> JobOut:
    """A job's state and progress (`changed` grows chunk by chunk)."""
    async with db.read() as session:
        job = await session.get(ContactJob, job_id)
    if job is None:
        raise not_found("contact update", job_id)
    return _job_view(job)


@router.post("/{job_id}/undo", response_model=UndoOut)
async def undo_update(job_id: int, db: DB) -> UndoOut:
    """Put back what the job changed, except on contacts changed since."""
    try:
        job, restored, conflicts = await undo(db, job_id)
    except JobError as exc:
        status = 404 if "there is no job" in str(exc) else 409
        raise ApiError(status, "not_found" if status == 404 else "not_undoable", str(exc)) from exc
    return UndoOut(id=job.id, state=job.state, restored=restored, conflicts=conflicts)
