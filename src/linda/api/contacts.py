"""Contacts: list, find by phone or tag, create, update, erase, opt out and in."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import ColumnElement, cast, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func

from linda.api.auth import database
from linda.api.errors import ApiError, not_found
from linda.api.paging import Page, PageQuery, keyset, paged
from linda.api.views import ContactOut, contact_view
from linda.contacts import consent
from linda.contacts.erase import SendInFlight, erase_contact
from linda.contacts.phones import InvalidPhone, to_e164, wa_id_of
from linda.query.compile import where_clause
from linda.query.filters import FilterError
from linda.query.segments import resolve_filter
from linda.store.db import Database
from linda.store.models import Contact

router = APIRouter(prefix="/contacts", tags=["contacts"])
DB = Annotated[Database, Depends(database)]

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$", max_length=16)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)]


class ContactQuery(PageQuery):
    phone: str | None = Field(
        None, description="Only the contact with this phone (any format, +country code)."
    )
    tag: str | None = Field(None, description="Only contacts with this tag.")
    filter: str | None = Field(
        None,
        description="Only contacts this filter selects, e.g. `tag = owner AND NOT opted_out` (docs/filters.md).",
    )


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(description="In international form, e.g. +971501234567.")
    name: Name | None = None
    locale: Locale | None = Field(None, description="e.g. en or ar_AE.")
    tags: list[Tag] = Field(default_factory=list, max_length=100)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ContactUpdate(BaseModel):
    """Only the fields given change; `tags` and `attributes` are replaced whole."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    locale: Locale | None = None
    tags: list[Tag] | None = Field(None, max_length=100)
    attributes: dict[str, Any] | None = None


def _phone(raw: str, field: str = "phone") -> str:
    try:
        return to_e164(raw)
    except InvalidPhone as exc:
        message = f"{exc}; give the number in international form with its country code, e.g. +971501234567."
        raise ApiError(422, "invalid_phone", message, field) from exc


def _has_tag(db: Database, tag: str) -> ColumnElement[bool]:
    if db.is_postgres:
        return Contact.tags.op("@>")(cast(literal(json.dumps([tag])), JSONB))
    each = func.json_each(Contact.tags).table_valued("value")
    return select(literal(1)).select_from(each).where(each.c.value == tag).exists()


async def _filter(db: Database, text: str) -> ColumnElement[bool]:
    try:
        return where_clause(await resolve_filter(db, text), db.dialect)
    except FilterError as exc:
        raise ApiError(422, "invalid_filter", f"Invalid filter: {exc}.", "filter") from exc


def _with_phone(phone: str) -> ColumnElement[bool]:
    return or_(Contact.phone == phone, Contact.wa_id == wa_id_of(phone))


async def get_contact(session: AsyncSession, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise not_found("contact", contact_id)
    return contact


@router.get("", response_model=Page[ContactOut])
async def list_contacts(query: Annotated[ContactQuery, Query()], db: DB) -> Page[ContactOut]:
    """Contacts in the order they were created; filtered by phone, tag or a filter (422 invalid_filter)."""
    statement = select(Contact)
    if query.filter is not None:
        statement = statement.where(await _filter(db, query.filter))
    if query.phone is not None:
        statement = statement.where(_with_phone(_phone(query.phone)))
    if query.tag is not None:
        statement = statement.where(_has_tag(db, query.tag))
    async with db.read() as session:
        rows = (await session.scalars(keyset(statement, Contact.id, "contacts", query))).all()
    return paged(rows, "contacts", query, lambda c: c.id, contact_view)


@router.get("/{contact_id}", response_model=ContactOut)
async def read_contact(contact_id: int, db: DB) -> ContactOut:
    async with db.read() as session:
        return contact_view(await get_contact(session, contact_id))


@router.post("", response_model=ContactOut, status_code=201)
async def create_contact(body: ContactCreate, db: DB) -> ContactOut:
    """A new contact; 409 contact_exists when one has this phone already."""
    phone = _phone(body.phone)
    values = body.model_dump(exclude={"phone"})
    try:
        async with db.transaction() as session:
            existing = await session.scalar(select(Contact.id).where(_with_phone(phone)))
            if existing is not None:
                raise _exists(phone, existing)
            contact = Contact(phone=phone, wa_id=wa_id_of(phone), opted_out=False, **values)
            session.add(contact)
    except IntegrityError as exc:  # created at the same moment by another request or a webhook
        raise _exists(phone, None) from exc
    return contact_view(contact)


def _exists(phone: str, contact_id: int | None) -> ApiError:
    where = f" (id {contact_id}); change it with PATCH /api/contacts/{contact_id}" if contact_id else ""
    return ApiError(409, "contact_exists", f"A contact with phone {phone} exists{where}.", "phone")


@router.patch("/{contact_id}", response_model=ContactOut)
async def update_contact(contact_id: int, body: ContactUpdate, db: DB) -> ContactOut:
    changes = body.model_dump(exclude_unset=True)
    for field in ("tags", "attributes"):
        if field in changes and changes[field] is None:
            raise ApiError(
                422, "invalid_request", f"`{field}` cannot be null; send [] or {{}} to empty it.", field
            )
    async with db.transaction() as session:
        contact = await get_contact(session, contact_id)
        for field, value in changes.items():
            setattr(contact, field, value)
        await session.flush()
        await session.refresh(contact)
    return contact_view(contact)


@router.delete("/{contact_id}", status_code=204, response_class=Response)
async def delete_contact(contact_id: int, db: DB) -> Response:
    """Erase the contact with its conversations, messages and queued sends (raw webhook bodies stay)."""
    async with db.transaction() as session:
        contact = await get_contact(session, contact_id)
        try:
            await erase_contact(session, contact)
        except SendInFlight as exc:
            message = "A message to this contact is being sent right now; try again in a few seconds."
            raise ApiError(409, "send_in_progress", message) from exc
    return Response(status_code=204)


@router.post("/{contact_id}/opt-out", response_model=ContactOut)
async def opt_out(contact_id: int, db: DB) -> ContactOut:
    """No more sends to this contact except replies to their own messages (idempotent)."""
    async with db.transaction() as session:
        contact = await get_contact(session, contact_id)
        consent.opt_out(contact, "api")
    return contact_view(contact)


@router.post("/{contact_id}/opt-in", response_model=ContactOut)
async def opt_in(contact_id: int, db: DB) -> ContactOut:
    """Undo an opt-out (idempotent)."""
    async with db.transaction() as session:
        contact = await get_contact(session, contact_id)
        consent.opt_in(contact, "api")
    return contact_view(contact)
