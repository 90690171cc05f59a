"""Inbound webhook payloads (`POST` from Meta) as typed, frozen dataclasses.

`parse_webhook(json.loads(body))` returns one `Change` per `entry[].changes[]` item, in order. Only an
unusable envelope raises; a malformed message, status or change becomes an `UnparsedItem` with its reason,
so one bad item never loses its siblings. Every parsed object keeps the item it came from in `raw`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

OBJECT = "whatsapp_business_account"
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
_T = TypeVar("_T")
_DIGITS = re.compile(r"[0-9]+")


class WebhookPayloadError(ValueError):
    """The envelope itself is unusable; the message says what is wrong."""


class _Unparsable(Exception):
    """An inner item that cannot be parsed; becomes an `UnparsedItem` with this reason."""


@dataclass(frozen=True)
class UnparsedItem:
    kind: str  # "message" | "status" | "change"
    reason: str
    raw: Any


@dataclass(frozen=True)
class Profile:
    wa_id: str | None
    user_id: str | None
    name: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class ErrorInfo:
    code: int
    title: str
    message: str | None
    details: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class MessageContext:
    id: str | None  # wamid of the message replied to
    from_wa_id: str | None  # who sent the message replied to
    forwarded: bool
    frequently_forwarded: bool
    raw: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    kind: str  # "button" | "list" (interactive) | "quick_reply" (template button)
    id: str
    title: str
    description: str | None


@dataclass(frozen=True)
class Media:
    kind: str  # image | video | audio | document | sticker
    id: str | None
    mime_type: str | None
    sha256: str | None
    caption: str | None
    filename: str | None
    voice: bool
    animated: bool


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    name: str | None
    address: str | None
    url: str | None


@dataclass(frozen=True)
class Reaction:
    message_id: str | None
    emoji: str | None  # None when the reaction was removed


@dataclass(frozen=True)
class InboundMessage:
    """One item of `value.messages`; `content` is `message[type]` ({} when absent)."""

    id: str
    type: str
    timestamp: datetime
    from_wa_id: str | None
    from_user_id: str | None
    text: str | None
    content: dict[str, Any]
    context: MessageContext | None
    referral: dict[str, Any] | None
    errors: tuple[ErrorInfo, ...]
    raw: dict[str, Any]

    @property
    def reply(self) -> Reply | None:
        if self.type == "button":
            payload = _str(self.content.get("payload"))
            if payload is None:
                return None
            return Reply("quick_reply", payload, _str(self.content.get("text")) or "", None)
        if self.type != "interactive":
            return None
        kind = {"button_reply": "button", "list_reply": "list"}.get(str(self.content.get("type")))
        reply = self.content.get(str(self.content.get("type")))
        if kind is None or not isinstance(reply, dict) or _str(reply.get("id")) is None:
            return None
        return Reply(kind, reply["id"], _str(reply.get("title")) or "", _str(reply.get("description")))

    @property
    def media(self) -> Media | None:
        if self.type not in MEDIA_TYPES:
            return None
        c = self.content
        return Media(
            kind=self.type,
            id=_str(c.get("id")),
            mime_type=_str(c.get("mime_type")),
            sha256=_str(c.get("sha256")),
            caption=_str(c.get("caption")),
            filename=_str(c.get("filename")),
            voice=c.get("voice") is True,
            animated=c.get("animated") is True,
        )

    @property
    def location(self) -> Location | None:
        if self.type != "location":
            return None
        c = self.content
        latitude, longitude = _float(c.get("latitude")), _float(c.get("longitude"))
        if latitude is None or longitude is None:
            return None
        return Location(latitude, longitude, _str(c.get("name")), _str(c.get("address")), _str(c.get("url")))

    @property
    def reaction(self) -> Reaction | None:
        if self.type != "reaction":
            return None
        return Reaction(_str(self.content.get("message_id")), _str(self.content.get("emoji")) or None)

    @property
    def shared_contacts(self) -> tuple[dict[str, Any], ...]:
        if self.type != "contacts":
            return ()
        return tuple(c for c in _list(self.content.get("contacts")) if isinstance(c, dict))


@dataclass(frozen=True)
class StatusUpdate:
    """One item of `value.statuses`: news about a message Linda sent."""

    id: str
    status: str
    timestamp: datetime
    recipient_id: str | None
    recipient_user_id: str | None
    conversation: dict[str, Any] | None
    pricing: dict[str, Any] | None
    biz_opaque_callback_data: str | None
    errors: tuple[ErrorInfo, ...]
    raw: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One `entry[].changes[]` item; `phone_number_id` routes it to one of Linda's numbers."""

    field: str
    waba_id: str | None
    phone_number_id: str | None
    display_phone_number: str | None
    profiles: tuple[Profile, ...]
    messages: tuple[InboundMessage, ...]
    statuses: tuple[StatusUpdate, ...]
    errors: tuple[ErrorInfo, ...]
    unparsed: tuple[UnparsedItem, ...]
    raw: dict[str, Any]

    def profile_for(self, wa_id: str | None, user_id: str | None) -> Profile | None:
        """The sender's profile from `value.contacts`, matched by user id first, then by phone."""
        for key, wanted in (("user_id", user_id), ("wa_id", wa_id)):
            if wanted is not None:
                for profile in self.profiles:
                    if getattr(profile, key) == wanted:
                        return profile
        return None


def parse_webhook(payload: Any) -> list[Change]:
    """Every change of every entry of a decoded webhook body, in order.

    Raises `WebhookPayloadError` only when the envelope is unusable.
    """
    if not isinstance(payload, dict):
        raise WebhookPayloadError(f"payload must be a JSON object, got {type(payload).__name__}")
    if "object" not in payload:
        raise WebhookPayloadError("payload has no 'object' field")
    if payload["object"] != OBJECT:
        raise WebhookPayloadError(f"object is {payload['object']!r}, expected {OBJECT!r}")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise WebhookPayloadError(f"entry must be a list, got {type(entries).__name__}")
    changes: list[Change] = []
    for entry in entries:
        if not isinstance(entry, dict):
            changes.append(_unparsed_change(None, "entry is not an object", entry))
            continue
        waba_id = _str(entry.get("id"))
        items = entry.get("changes")
        if not isinstance(items, list):
            changes.append(_unparsed_change(waba_id, "entry.changes is not a list", entry))
            continue
        changes.extend(_parse_change(waba_id, item) for item in items)
    return changes


def _parse_change(waba_id: str | None, change: Any) -> Change:
    if not isinstance(change, dict):
        return _unparsed_change(waba_id, "change is not an object", change)
    value = change.get("value")
    if not isinstance(value, dict):
        return _unparsed_change(waba_id, "change.value is not an object", change)
    metadata = _dict(value.get("metadata"))
    unparsed: list[UnparsedItem] = []
    messages = _parse_items("message", value, "messages", _parse_message, unparsed)
    statuses = _parse_items("status", value, "statuses", _parse_status, unparsed)
    profiles = tuple(_parse_profile(c) for c in _list(value.get("contacts")) if isinstance(c, dict))
    return Change(
        field=_str(change.get("field")) or "",
        waba_id=waba_id,
        phone_number_id=_str(metadata.get("phone_number_id")),
        display_phone_number=_str(metadata.get("display_phone_number")),
        profiles=profiles,
        messages=tuple(messages),
        statuses=tuple(statuses),
        errors=_parse_errors(value.get("errors")),
        unparsed=tuple(unparsed),
        raw=change,
    )


def _parse_items(
    kind: str,
    value: dict[str, Any],
    key: str,
    parse: Callable[[dict[str, Any]], _T],
    unparsed: list[UnparsedItem],
) -> list[_T]:
    items = value.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        unparsed.append(UnparsedItem(kind, f"value.{key} is not a list", items))
        return []
    parsed: list[_T] = []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise _Unparsable(f"{kind} is not an object")
            parsed.append(parse(item))
        except _Unparsable as exc:
            unparsed.append(UnparsedItem(kind, str(exc), item))
    return parsed


def _unparsed_change(waba_id: str | None, reason: str, raw: Any) -> Change:
    field = _str(raw.get("field")) if isinstance(raw, dict) else None
    return Change(
        field=field or "",
        waba_id=waba_id,
        phone_number_id=None,
        display_phone_number=None,
        profiles=(),
        messages=(),
        statuses=(),
        errors=(),
        unparsed=(UnparsedItem("change", reason, raw),),
        raw=raw if isinstance(raw, dict) else {},
    )


def _parse_message(item: dict[str, Any]) -> InboundMessage:
    message_id = _required_str(item, "id", "message")
    message_type = _required_str(item, "type", "message")
    body = item.get(message_type)
    # A contacts message carries a list, not an object: keep it under its own key.
    content = body if isinstance(body, dict) else ({message_type: body} if body is not None else {})
    context = item.get("context")
    referral = item.get("referral")
    return InboundMessage(
        id=message_id,
        type=message_type,
        timestamp=_timestamp(item.get("timestamp")),
        from_wa_id=_str(item.get("from")),
        from_user_id=_str(item.get("from_user_id")),
        text=_message_text(message_type, content),
        content=content,
        context=_parse_context(context) if isinstance(context, dict) else None,
        referral=referral if isinstance(referral, dict) else None,
        errors=_parse_errors(item.get("errors")),
        raw=item,
    )


def _message_text(message_type: str, content: dict[str, Any]) -> str | None:
    """The human-readable text of a message, for storage and search."""
    match message_type:
        case "text":
            return _str(content.get("body"))
        case "button" | "order":
            return _str(content.get("text"))
        case "interactive":
            reply = content.get(str(content.get("type")))
            return _str(reply.get("title")) if isinstance(reply, dict) else None
        case "location":
            parts = [_str(content.get("name")), _str(content.get("address"))]
            return ", ".join(p for p in parts if p) or None
        case "reaction":
            return _str(content.get("emoji")) or None
        case "contacts":
            cards = _list(content.get("contacts"))
            names = [_str(c["name"].get("formatted_name")) for c in cards if _has_name(c)]
            return ", ".join(n for n in names if n) or None
        case _:
            return _str(content.get("caption")) or _str(content.get("body"))


def _has_name(card: Any) -> bool:
    return isinstance(card, dict) and isinstance(card.get("name"), dict)


def _parse_context(raw: dict[str, Any]) -> MessageContext:
    return MessageContext(
        id=_str(raw.get("id")),
        from_wa_id=_str(raw.get("from")),
        forwarded=raw.get("forwarded") is True,
        frequently_forwarded=raw.get("frequently_forwarded") is True,
        raw=raw,
    )


def _parse_status(item: dict[str, Any]) -> StatusUpdate:
    conversation, pricing = item.get("conversation"), item.get("pricing")
    return StatusUpdate(
        id=_required_str(item, "id", "status"),
        status=_required_str(item, "status", "status"),
        timestamp=_timestamp(item.get("timestamp")),
        recipient_id=_str(item.get("recipient_id")),
        recipient_user_id=_str(item.get("recipient_user_id")),
        conversation=conversation if isinstance(conversation, dict) else None,
        pricing=pricing if isinstance(pricing, dict) else None,
        biz_opaque_callback_data=_str(item.get("biz_opaque_callback_data")),
        errors=_parse_errors(item.get("errors")),
        raw=item,
    )


def _parse_profile(raw: dict[str, Any]) -> Profile:
    profile = raw.get("profile")
    name = _str(profile.get("name")) if isinstance(profile, dict) else None
    return Profile(wa_id=_str(raw.get("wa_id")), user_id=_str(raw.get("user_id")), name=name, raw=raw)


def _parse_errors(raw: Any) -> tuple[ErrorInfo, ...]:
    errors = []
    for item in _list(raw):
        if not isinstance(item, dict):
            continue
        data = item.get("error_data")
        errors.append(
            ErrorInfo(
                code=_int_or_zero(item.get("code")),
                title=_str(item.get("title")) or _str(item.get("message")) or "",
                message=_str(item.get("message")),
                details=_str(data.get("details")) if isinstance(data, dict) else None,
                raw=item,
            )
        )
    return tuple(errors)


def _timestamp(raw: Any) -> datetime:
    """Meta sends strings of Unix seconds; ints are accepted too."""
    if isinstance(raw, bool) or not (
        isinstance(raw, int) or (isinstance(raw, str) and _DIGITS.fullmatch(raw))
    ):
        raise _Unparsable(f"timestamp must be a string of Unix seconds, got {raw!r}")
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise _Unparsable(f"timestamp must be a string of Unix seconds, got {raw!r}") from None


def _required_str(item: dict[str, Any], key: str, kind: str) -> str:
    value = _str(item.get(key))
    if value is None:
        raise _Unparsable(f"{kind} has no {key!r}")
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None


def _int_or_zero(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and _DIGITS.fullmatch(value) else 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
