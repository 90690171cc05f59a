"""Bearer-token authentication for /api. Every failure looks the same, so a caller never learns whether a
token exists, was revoked, or was never issued."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from linda.api.errors import ApiError
from linda.api.tokens import verify_token
from linda.store.db import Database
from linda.store.models import ApiToken

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from `linda token create --name NAME`, sent as `Authorization: Bearer <token>`.",
)

UNAUTHORIZED_MESSAGE = (
    "Send a valid API token as `Authorization: Bearer <token>`; "
    "create one with `linda token create --name NAME`."
)


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": "Bearer"})


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiToken:
    """The caller's live token, or 401."""
    if credentials is None:
        raise unauthorized()
    token = await verify_token(database(request), credentials.credentials)
    if token is None:
        raise unauthorized()
    return token
