"""One error shape for everything under /api: `{"status", "code", "message", "field"}`.

`code` is stable for programs, `message` says what to do, `field` is the dotted path of the offending input
(or null). Paths outside /api keep FastAPI's own error responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from linda.sending.outbox import SendRefused

API_PREFIX = "/api"

_HTTP_CODES = {
    400: ("bad_request", "The request is malformed; check it against /docs."),
    401: ("unauthorized", "Send a valid API token as `Authorization: Bearer <token>`."),
    403: ("forbidden", "This token may not do that."),
    404: ("not_found", "Nothing is at this address; check the path against /docs."),
    405: ("method_not_allowed", "This address does not take that method; check /docs."),
    409: ("conflict", "The request conflicts with what is stored."),
}


class ErrorBody(BaseModel):
    """The body of every error response under /api."""

    status: int
    code: str
    message: str
    field: str | None = None


class ApiError(Exception):
    """An error answered in the /api error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "not_found", f"There is no {what} {ident}; list them to find the right id.")


def sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


def error_response(error: ApiError) -> JSONResponse:
    body = ErrorBody(status=error.status, code=error.code, message=error.message, field=error.field)
    return JSONResponse(body.model_dump(), status_code=error.status, headers=error.headers)


def is_api(request: Request) -> bool:
    path: str = request.scope.get("path", "")
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def field_path(loc: Sequence[int | str]) -> str | None:
    """A pydantic location as a dotted path: ("body", "text", "body") -> "text.body", list items as [i]."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path or None


def validation_error(errors: Sequence[Any]) -> ApiError:
    """The first of pydantic's errors, as an ApiError with a specific code where there is one."""
    if not errors:
        return ApiError(422, "invalid_request", "The request is not valid; check it against /docs.")
    first = errors[0]
    kind = str(first.get("type", ""))
    field = field_path(first.get("loc", ()))
    named = f"`{field}`" if field else "The body"
    if kind == "json_invalid":
        return ApiError(422, "invalid_json", "The body is not valid JSON; send a JSON object.")
    if kind == "extra_forbidden":
        message = f"{named} is not a field of this request; remove it (see /docs for the fields)."
        return ApiError(422, "unknown_field", message, field)
    if kind == "missing":
        return ApiError(422, "missing_field", f"{named} is required; add it.", field)
    detail = str(first.get("msg", "is not valid")).rstrip(".")
    detail = detail[0].lower() + detail[1:] if detail else detail
    return ApiError(422, "invalid_request", f"{named} is not valid: {detail}.", field)


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _on_send_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SendRefused)
    return error_response(ApiError(422, exc.code, sentence(str(exc)), exc.field))


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not is_api(request):
        return await request_validation_exception_handler(request, exc)
    return error_response(validation_error(exc.errors()))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not is_api(request):
        return await http_exception_handler(request, exc)
    code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "The request failed; check /docs."))
    return error_response(ApiError(exc.status_code, code, message, headers=dict(exc.headers or {})))


async def _on_crash(request: Request, exc: Exception) -> Response:
    if not is_api(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    message = "Linda failed to answer this request; the server log has the details. Try again later."
    return error_response(ApiError(500, "internal_error", message))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(SendRefused, _on_send_refused)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(Exception, _on_crash)
