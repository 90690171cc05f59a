"""Consent: a contact who opts out gets no more sends but replies to their own messages; opting in undoes it."""

from __future__ import annotations

from linda.store.models import Contact
from linda.store.types import utcnow


def opt_out(contact: Contact, source: str) -> bool:
    """Mark `contact` opted out; False when it already was (so a confirmation is sent once)."""
    if contact.opted_out:
        return False
    contact.opted_out = True
    contact.opted_out_at = utcnow()
    contact.opt_source = source
    return True


def opt_in(contact: Contact, source: str) -> bool:
    """Mark `contact` opted in again; False when it was not opted out."""
    if not contact.opted_out:
        return False
    contact.opted_out = False
    contact.opted_in_at = utcnow()
    contact.opt_source = source
    return True
