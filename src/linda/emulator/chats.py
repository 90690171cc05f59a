"""What each simulated user's phone shows: the users seen, each one's chat, and a live feed of both.

Every change is an *event*, a JSON-ready dict with a `seq` (increasing across the emulator), `time` (the
emulator's clock), `kind` and `user` (the wa_id):

- `user`: a user was created or seen for the first time, or changed profile name (`profile_name`).
- `message`: a message in the chat; `direction` "in" (the user sent it: `message` is Meta's webhook message
  item) or "out" (the business sent it: `message` is the Graph API request body), `id` (the wamid),
  `phone_number_id` and `status` (its state when it appeared: "sent" for the user's, "accepted" for the
  business's).
- `status`: a message's state moved forward: for the business's messages, Meta's status webhooks (sent,
  delivered, read, or failed with `errors`); for the user's, "delivered" once Linda's webhook endpoint
  accepted it and "read" once the business marked it (or a later one) read.

Statuses only move forward (sent < delivered < read; failed is terminal unless a read proves delivery), so
duplicates and reordered webhooks show as Meta's apps would show them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from linda.emulator.inbound import MEDIA_TYPES
from linda.emulator.state import RecordedWebhook

HISTORY_LIMIT = 5000
_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3}
_MEDIA_LABELS = {
    "image": "Photo",
    "video": "Video",
    "audio": "Audio",
    "document": "Document",
    "sticker": "Sticker",
}


@dataclass
class ChatUser:
    wa_id: str
    profile_name: str | None
    last_time: float
    preview: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "wa_id": self.wa_id,
            "profile_name": self.profile_name,
            "last_time": self.last_time,
            "preview": self.preview,
        }


@dataclass
class _Message:
    user: str
    direction: str
    phone_number_id: str | None
    state: str


@dataclass(eq=False)
class _Subscriber:
    user: str | None
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)


class ChatLog:
    """The users and chats of the emulator's simulated phones, kept in memory, with live subscribers."""

    def __init__(self, clock: Callable[[], float], *, history_limit: int = HISTORY_LIMIT) -> None:
        self._clock = clock
        self._history_limit = history_limit
        self._seq = itertools.count(1)
        self.users: dict[str, ChatUser] = {}
        self._chats: dict[str, deque[dict[str, Any]]] = {}
        self._messages: dict[str, _Message] = {}
        self._unread: dict[str, list[str]] = {}
        self._subscribers: set[_Subscriber] = set()

    # -- reading ------------------------------------------------------------------------------------------

    def user_list(self) -> list[dict[str, Any]]:
        """Every user, the most recently active first."""
        return [u.as_dict() for u in sorted(self.users.values(), key=lambda u: u.last_time, reverse=True)]

    def chat(self, wa_id: str) -> list[dict[str, Any]]:
        """The events of one user's chat, oldest first."""
        return list(self._chats.get(wa_id, ()))

    def profile_name(self, wa_id: str) -> str | None:
        user = self.users.get(wa_id)
        return user.profile_name if user else None

    async def follow(
        self,
        user: str | None = None,
        after: int | None = None,
        *,
        until: Callable[[], Awaitable[object]] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Events as they happen, of one user or of all; first those with `seq` above `after`, if given.
        Ends when `until()` returns (e.g. the server shuts down)."""
        subscriber = _Subscriber(user)
        self._subscribers.add(subscriber)
        stop = asyncio.ensure_future(until()) if until is not None else None
        get: asyncio.Future[dict[str, Any]] | None = None
        try:
            last = 0
            if after is not None:
                backlog = self.chat(user) if user is not None else self._all_events()
                for event in backlog:
                    if event["seq"] > after:
                        last = event["seq"]
                        yield event
            while True:
                get = asyncio.ensure_future(subscriber.queue.get())
                await asyncio.wait(
                    [get] if stop is None else [get, stop], return_when=asyncio.FIRST_COMPLETED
                )
                if not get.done():
                    get.cancel()
                    return
                event = get.result()
                if event["seq"] > last:
                    yield event
        finally:
            self._subscribers.discard(subscriber)
            for task in (get, stop):
                if task is not None:
                    task.cancel()

    def _all_events(self) -> list[dict[str, Any]]:
        return sorted((e for chat in self._chats.values() for e in chat), key=lambda e: int(e["seq"]))

    # -- what happens -------------------------------------------------------------------------------------

    def add_user(self, wa_id: str, profile_name: str | None = None) -> ChatUser:
        """Register a user (or rename one); announced to followers when new or renamed."""
        user = self.users.get(wa_id)
        if user is None:
            user = self.users[wa_id] = ChatUser(wa_id, profile_name, self._clock())
        elif profile_name is None or profile_name == user.profile_name:
            return user
        else:
            user.profile_name = profile_name
        self._publish(wa_id, "user", profile_name=user.profile_name)
        return user

    def user_message(
        self, phone_number_id: str | None, wa_id: str, item: dict[str, Any], profile_name: str | None
    ) -> None:
        """The user sent `item` (Meta's webhook message item)."""
        wamid = str(item.get("id", ""))
        self.add_user(wa_id, profile_name)
        self._messages[wamid] = _Message(wa_id, "in", phone_number_id, "sent")
        self._unread.setdefault(wa_id, []).append(wamid)
        self._message(wa_id, "in", phone_number_id, wamid, item, "sent")

    def business_message(
        self, phone_number_id: str | None, wa_id: str, wamid: str, body: dict[str, Any]
    ) -> None:
        """The business sent `body` (a Graph API request body) to `wa_id` and Meta accepted it."""
        self.add_user(wa_id)
        self._messages[wamid] = _Message(wa_id, "out", phone_number_id, "accepted")
        self._message(wa_id, "out", phone_number_id, wamid, body, "accepted")

    def status(self, phone_number_id: str | None, item: dict[str, Any]) -> None:
        """A status item of a business message, as Meta's status webhook carries it."""
        wamid, status = item.get("id"), item.get("status")
        if not isinstance(wamid, str) or not isinstance(status, str):
            return
        known = self._messages.get(wamid)
        if known is None:
            user = str(item.get("recipient_id") or "")
            if not user:
                return
            self.add_user(user)
            known = self._messages[wamid] = _Message(user, "out", phone_number_id, "accepted")
        errors = item.get("errors") if status == "failed" else None
        self._advance(wamid, known, status, errors=errors)

    def marked_read(self, message_id: str) -> None:
        """The business marked the user's message read: it and every earlier one show read."""
        known = self._messages.get(message_id)
        if known is None or known.direction != "in":
            return
        unread = self._unread.get(known.user, [])
        if message_id not in unread:
            return
        upto = unread.index(message_id) + 1
        for wamid in unread[:upto]:
            self._advance(wamid, self._messages[wamid], "read")
        del unread[:upto]

    def webhook(self, delivery: RecordedWebhook) -> None:
        """One webhook delivery attempt: statuses happen at their first attempt; a user's message is
        delivered once Linda accepts it. A raw webhook's messages show as the users' own."""
        for phone_number_id, value in _values(delivery.body):
            messages = _items(value, "messages")
            if delivery.attempt == 1:
                for item in _items(value, "statuses"):
                    self.status(phone_number_id, item)
                if delivery.kind == "raw":
                    names = _profile_names(value)
                    for item in messages:
                        if (
                            isinstance(item.get("from"), str)
                            and str(item.get("id", "")) not in self._messages
                        ):
                            self.user_message(phone_number_id, item["from"], item, names.get(item["from"]))
            if delivery.answer == 200:
                for item in messages:
                    known = self._messages.get(str(item.get("id", "")))
                    if known is not None and known.direction == "in":
                        self._advance(str(item["id"]), known, "delivered")

    # -- internals ----------------------------------------------------------------------------------------

    def _message(
        self,
        wa_id: str,
        direction: str,
        phone_number_id: str | None,
        wamid: str,
        message: dict[str, Any],
        status: str,
    ) -> None:
        user = self.users[wa_id]
        user.last_time = self._clock()
        user.preview = preview(message)
        self._publish(
            wa_id,
            "message",
            direction=direction,
            phone_number_id=phone_number_id,
            id=wamid,
            message=message,
            status=status,
        )

    def _advance(self, wamid: str, known: _Message, status: str, *, errors: Any = None) -> None:
        current = known.state
        if status == "failed":
            moves = current not in ("failed", "read")
        elif status in _RANK:
            moves = _RANK[status] > _RANK.get(current, 0) and (current != "failed" or status == "read")
        else:  # e.g. "played": shown as read
            moves, status = current != "read", "read"
        if not moves:
            return
        known.state = status
        extra: dict[str, Any] = {"errors": errors} if errors else {}
        self._publish(
            known.user,
            "status",
            direction=known.direction,
            phone_number_id=known.phone_number_id,
            id=wamid,
            status=status,
            **extra,
        )

    def _publish(self, wa_id: str, kind: str, **data: Any) -> None:
        event = {"seq": next(self._seq), "time": self._clock(), "kind": kind, "user": wa_id, **data}
        chat = self._chats.get(wa_id)
        if chat is None:
            chat = self._chats[wa_id] = deque(maxlen=self._history_limit)
        chat.append(event)
        for subscriber in self._subscribers:
            if subscriber.user is None or subscriber.user == wa_id:
                subscriber.queue.put_nowait(event)


def preview(message: dict[str, Any]) -> str:
    """A one-line summary of a message (either direction), as a chat list shows it."""
    kind = str(message.get("type", ""))
    content = message.get(kind)
    item: dict[str, Any] = content if isinstance(content, dict) else {}
    text: Any = None
    if kind == "text":
        text = item.get("body")
    elif kind == "interactive":
        reply = item.get(str(item.get("type", "")))
        body = item.get("body")
        text = (reply or {}).get("title") if isinstance(reply, dict) else None
        text = text or (body.get("text") if isinstance(body, dict) else None)
    elif kind == "button":
        text = item.get("text") or item.get("payload")
    elif kind in MEDIA_TYPES:
        text = item.get("caption") or item.get("filename") or _MEDIA_LABELS[kind]
    elif kind == "location":
        text = "Location: " + str(item.get("name") or item.get("address") or "pin")
    elif kind == "template":
        text = f"Template {item.get('name', '')}"
    elif kind == "reaction":
        text = f"Reacted {item.get('emoji', '')}".strip()
    elif kind == "contacts":
        text = "Contact"
    line = str(text or kind or "message")
    return line if len(line) <= 80 else line[:79] + "…"


def _values(body: Any) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(phone_number_id, value) of every change in a webhook body, skipping anything malformed."""
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else ():
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                metadata = value.get("metadata")
                number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
                yield (str(number) if number is not None else None), value


def _profile_names(value: dict[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in _items(value, "contacts"):
        if isinstance(contact.get("profile"), dict):
            name = contact["profile"].get("name")
            if isinstance(contact.get("wa_id"), str) and isinstance(name, str):
                names[contact["wa_id"]] = name
    return names


def _items(value: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = value.get(key)
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []
