"""API tokens: random, shown once, stored only as their SHA-256; revoked tokens stay for the record."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from linda.store.db import Database
from linda.store.models import ApiToken
from linda.store.types import utcnow

PREFIX = "linda_"
TOKEN_BYTES = 32  # 43 urlsafe characters, 256 bits
TOKEN_LENGTH = len(PREFIX) + 43
NAME_MAX = 100
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


class TokenError(ValueError):
    """A token that cannot be created or revoked; the message says why."""


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether `token` looks like one Linda issues (checked before any database look-up)."""
    body = token[len(PREFIX) :]
    return (
        token.startswith(PREFIX)
        and len(token) == TOKEN_LENGTH
        and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in body)
    )


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise TokenError(f"a token name must have 1 to {NAME_MAX} characters")
    return name


async def create_token(db: Database, name: str) -> str:
    """A new token named `name` (unique); returns the token itself, which is never stored."""
    name = _checked_name(name)
    token = new_token()
    try:
        async with db.transaction() as session:
            if await session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
                raise TokenError(f"a token named {name!r} exists; pick another name or revoke it first")
            session.add(ApiToken(name=name, token_hash=token_hash(token)))
    except IntegrityError as exc:  # created concurrently under the same name
        raise TokenError(f"a token named {name!r} exists; pick another name") from exc
    return token


async def verify_token(db: Database, token: str) -> ApiToken | None:
    """The live (not revoked) token row of `token`, or None. Notes the use at most once a minute."""
    if not well_formed(token):
        return None
    async with db.read() as session:
        row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        await _touch(db, row.id, now)
        row.last_used_at = now
    return row


async def _touch(db: Database, token_id: int, now: datetime) -> None:
    stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY)
    async with db.transaction() as session:
        await session.execute(update(ApiToken).where(ApiToken.id == token_id, stale).values(last_used_at=now))


async def revoke_token(db: Database, name: str) -> bool:
    """Revoke the token named `name` at once; False when it already was. Raises TokenError for no such token."""
    async with db.transaction() as session:
        row = await session.scalar(select(ApiToken).where(ApiToken.name == name.strip()))
        if row is None:
            raise TokenError(f"there is no token named {name.strip()!r}; `linda token list` shows them")
        if row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
    return True


async def list_tokens(db: Database) -> list[ApiToken]:
    async with db.read() as session:
        return list((await session.scalars(select(ApiToken).order_by(ApiToken.id))).all())
