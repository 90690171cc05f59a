"""The management API under /api: every router behind the bearer token, with one error shape."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from linda.api import (
    accounts,
    alerts,
    contact_updates,
    contacts,
    conversations,
    imports,
    messages,
    search,
    segments,
)
from linda.api.auth import require_token
from linda.api.errors import API_PREFIX, ErrorBody, install_error_handlers

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid API token."},
    404: {"model": ErrorBody, "description": "No such item."},
    422: {"model": ErrorBody, "description": "The request is not valid; `code` and `field` say why."},
}


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_token)], responses=ERRORS)
    for module in (
        accounts,
        contacts,
        contact_updates,
        imports,
        segments,
        conversations,
        messages,
        alerts,
        search,
    ):
        router.include_router(module.router)
    return router


def install_api(app: FastAPI) -> None:
    """Serve the management API on `app`: its routes and its error handlers."""
    app.include_router(api_router())
    install_error_handlers(app)
