"""Bulk contact imports under /api/imports: upload a file, follow the background job, fetch its rejects."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from linda.api import background
from linda.api.auth import database
from linda.api.errors import ApiError, not_found
from linda.contacts.importer import ImportOptions, create_job, run_job
from linda.contacts.mapping import parse_map_options, resolve
from linda.contacts.sources import SourceError, open_source
from linda.store.db import Database
from linda.store.models import ImportJob

router = APIRouter(prefix="/imports", tags=["contacts"])
DB = Annotated[Database, Depends(database)]
UPLOADS = Path(tempfile.gettempdir()) / "linda-imports"


class ImportOut(BaseModel):
    id: int
    source: str
    state: str = Field(description="running | done | failed")
    total_rows: int | None = Field(description="Estimated until the import is done.")
    rows_done: int = Field(description="Rows committed so far.")
    created: int
    updated: int
    rejected: int
    duplicates: int = Field(description="Rows merged into another row of the file.")
    options: dict[str, Any]
    error: str | None
    created_at: datetime
    finished_at: datetime | None


def _view(job: ImportJob) -> ImportOut:
    return ImportOut(
        id=job.id,
        source=job.source,
        state=job.state,
        total_rows=job.total_rows,
        rows_done=job.rows_done,
        created=job.created,
        updated=job.updated,
        rejected=job.rejected,
        duplicates=job.duplicates,
        options=job.options,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def _save(upload: BinaryIO, filename: str) -> Path:
    """The upload under UPLOADS, named by its SHA-256 (so the same file resumes its unfinished import)."""
    UPLOADS.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, name = tempfile.mkstemp(dir=UPLOADS, suffix=".part")
    with open(handle, "wb") as out:
        while block := upload.read(1 << 20):
            digest.update(block)
            out.write(block)
    suffix = Path(filename).suffix.lower()
    path = UPLOADS / f"{digest.hexdigest()}{suffix if suffix in ('.csv', '.txt', '.xlsx') else ''}"
    Path(name).replace(path)
    return path


def _check(path: Path, options: ImportOptions) -> None:
    source = open_source(path, options.sheet)
    try:
        resolve(source.header, options.mapping)
    finally:
        source.close()


@router.post("", response_model=ImportOut, status_code=202)
async def start_import(
    db: DB,
    file: Annotated[UploadFile, File(description="A CSV or XLSX file.")],
    region: Annotated[str | None, Form(description="Region of national numbers, e.g. AE.")] = None,
    tag: Annotated[list[str] | None, Form(description="Tags for every imported contact.")] = None,
    map: Annotated[list[str] | None, Form(description="field=Column; phone may repeat.")] = None,
    sheet: Annotated[str | None, Form(description="XLSX: the sheet's name or number.")] = None,
    do_not_contact: Annotated[bool, Form(description="The file is a do-not-contact list.")] = False,
) -> ImportOut:
    """Upload a file and start importing it in the background (202); follow it at GET /api/imports/{id}."""
    path = await asyncio.to_thread(_save, file.file, file.filename or "")
    try:
        options = ImportOptions(
            region=region.upper() if region else None,
            tags=tag or [],
            mapping=parse_map_options(map or []),
            sheet=sheet,
            do_not_contact=do_not_contact,
        )
        await asyncio.to_thread(_check, path, options)
    except SourceError as exc:
        raise ApiError(
            422, "invalid_file", str(exc).replace(path.name, file.filename or "the file"), "file"
        ) from exc
    job_id = await create_job(db, path, options, path.with_suffix(".rejects.csv"), file.filename or path.name)
    background.start(_run(db, job_id, path, options), name=f"contact-import-{job_id}")
    return await read_import(job_id, db)


async def _run(db: Database, job_id: int, path: Path, options: ImportOptions) -> None:
    with contextlib.suppress(SourceError):  # recorded on the job as failed, with the message
        await run_job(db, job_id, path, options)


@router.get("/{import_id}", response_model=ImportOut)
async def read_import(import_id: int, db: DB) -> ImportOut:
    """An import's state and progress (`rows_done` grows chunk by chunk)."""
    async with db.read() as session:
        job = await session.get(ImportJob, import_id)
    if job is None:
        raise not_found("import", import_id)
    return _view(job)


@router.get(
    "/{import_id}/rejects", response_class=FileResponse, responses={200: {"content": {"text/csv": {}}}}
)
async def import_rejects(import_id: int, db: DB) -> FileResponse:
    """The rejected values as CSV: row, column, value, reason."""
    async with db.read() as session:
        job = await session.get(ImportJob, import_id)
    if job is None:
        raise not_found("import", import_id)
    if not job.rejects_path or not await asyncio.to_thread(Path(job.rejects_path).exists):
        raise ApiError(404, "not_found", f"Import {import_id} has no rejects file.")
    return FileResponse(job.rejects_path, media_type="text/csv", filename=f"import-{import_id}-rejects.csv")
