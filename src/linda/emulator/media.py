"""The emulated media endpoints: upload (multipart), look-up (a short-lived url) and download."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from linda.emulator.faults import GraphFault, unknown_object
from linda.emulator.graph import answer, authorize, check_token, check_version, require_token
from linda.emulator.state import StoredMedia
from linda.whatsapp.limits import DOCUMENT_MAX_BYTES, MEDIA_MAX_BYTES

if TYPE_CHECKING:
    from linda.emulator.emulator import Emulator

DOWNLOAD_PATH = "whatsapp_business/attachments/"


def media_router(emulator: Emulator) -> APIRouter:
    """Routes for media; the download route must come before the two-segment Graph API routes."""
    router = APIRouter()

    @router.get("/" + DOWNLOAD_PATH, include_in_schema=False)
    async def download(request: Request, mid: str = "") -> Response:
        try:
            stored = _owned(emulator, request, mid)
        except GraphFault as fault:
            return answer(emulator, request, None, None, fault)
        answer(emulator, request, stored.phone_number_id, None, {})
        return Response(stored.data, media_type=stored.mime_type)

    @router.post("/{version}/{phone_number_id}/media", include_in_schema=False)
    async def upload(version: str, phone_number_id: str, request: Request) -> JSONResponse:
        recorded: dict[str, Any] = {}
        try:
            check_version(version)
            authorize(emulator, request, phone_number_id)
            async with request.form() as form:
                file = form.get("file")
                recorded = {key: value for key, value in form.items() if isinstance(value, str)}
                if form.get("messaging_product") != "whatsapp":
                    raise GraphFault(100, "messaging_product: must be 'whatsapp'")
                if not isinstance(file, UploadFile):
                    raise GraphFault(100, "file: a file part is required")
                data = await file.read()
                mime = str(form.get("type") or file.content_type or "")
            recorded.update(filename=file.filename, size=len(data))
            check_upload(mime, len(data))
        except GraphFault as fault:
            return answer(emulator, request, phone_number_id, recorded, fault)
        stored = emulator.store_media(phone_number_id, data, mime)
        return answer(emulator, request, phone_number_id, recorded, {"id": stored.media_id})

    @router.get("/{version}/{media_id}", include_in_schema=False)
    async def look_up(version: str, media_id: str, request: Request) -> JSONResponse:
        try:
            check_version(version)
            stored = _owned(emulator, request, media_id)
        except GraphFault as fault:
            return answer(emulator, request, None, None, fault)
        root = str(request.scope.get("root_path", "")).rstrip("/")  # the mount prefix, when mounted
        url = str(request.url.replace(path=f"{root}/{DOWNLOAD_PATH}", query=f"mid={media_id}"))
        info = {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": stored.mime_type,
            "sha256": stored.sha256,
            "file_size": stored.file_size,
            "id": media_id,
        }
        return answer(emulator, request, stored.phone_number_id, None, info)

    return router


def _owned(emulator: Emulator, request: Request, media_id: str) -> StoredMedia:
    """The media, when the bearer token is that of the number that owns it."""
    token = require_token(request)
    stored = emulator.media.get(media_id)
    if stored is None:
        raise unknown_object(media_id)
    owner = emulator.numbers.get(stored.phone_number_id)
    check_token(token, owner.access_token if owner else None)
    return stored


def check_upload(mime: str, size: int) -> None:
    """GraphFault 131053 unless `mime` is a MIME type and `size` is within Meta's limit for its kind."""
    kind, slash, sub = mime.partition("/")
    if not slash or not sub:
        raise GraphFault(131053, f"type: {mime!r} is not a MIME type", http_status=400)
    if size == 0:
        raise GraphFault(131053, "file: the file is empty")
    limit = MEDIA_MAX_BYTES.get(kind, DOCUMENT_MAX_BYTES)
    if size > limit:
        raise GraphFault(131053, f"file: {size} bytes is over the {limit} bytes allowed for {kind} files")
