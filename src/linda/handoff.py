"""Hand-off: a conversation assigned to a person is theirs; the bot stays out of it until it is released."""

from __future__ import annotations

from linda.store.models import Conversation
from linda.store.types import utcnow


def assign(conversation: Conversation, to: str) -> None:
    conversation.assigned_to = to
    conversation.assigned_at = utcnow()
    conversation.menu = conversation.menu_expires_at = None  # a person answers now, not the menu


def release(conversation: Conversation) -> bool:
    """Give the conversation back to the bot; False when nobody had it."""
    if conversation.assigned_to is None:
        return False
    conversation.assigned_to = conversation.assigned_at = None
    return True
