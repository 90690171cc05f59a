"""Outbound messages: builders of Graph API request bodies, and their validation against Meta's limits.

A *message* is the type-specific part of a send, `{"type": "text", "text": {...}}`; `request_body` adds the
recipient and the envelope. Every builder validates what it builds, and `validate_message` checks a full body
(a send or a mark-as-read) as POSTed to `/{version}/{phone_number_id}/messages`, raising
`MessageValidationError` with a dotted path to the offending field.

Lengths are counted in characters, i.e. Python `len()` of the str (Unicode code points), because Meta states
its limits in characters; an emoji built from several code points counts as several. The one exception is
`biz_opaque_callback_data`, whose limit Meta states in bytes: it is measured in UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeGuard

from linda.whatsapp import limits
from linda.whatsapp.errors import MessageValidationError

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
SEND_TYPES = ("text", "template", "interactive", *MEDIA_KINDS, "reaction", "location", "contacts")
TEMPLATE_COMPONENT_TYPES = ("header", "body", "button", "footer")
TEMPLATE_PARAMETER_TYPES = frozenset(
    [
        "text",
        "currency",
        "date_time",
        "image",
        "video",
        "document",
        "location",
        "payload",
        "action",
        "coupon_code",
        "product",
        "limited_time_offer",
        "tap_target_configuration",
    ]
)
_CAPTIONED = frozenset({"image", "video", "document"})
_HEADER_TYPES = ("text", "image", "video", "document")


@dataclass(frozen=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class ListSection:
    title: str | None
    rows: Sequence[ListRow]


# --- builders -------------------------------------------------------------------------------------------


def text(body: str, *, preview_url: bool = False) -> dict[str, Any]:
    return _checked({"type": "text", "text": {"body": body, "preview_url": preview_url}})


def template(name: str, language: str, components: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": name, "language": {"code": language, "policy": "deterministic"}}
    parts = [dict(c) for c in components]
    if parts:
        payload["components"] = parts
    return _checked({"type": "template", "template": payload})


def reply_buttons(
    body: str,
    buttons: Sequence[tuple[str, str]],
    *,
    header: str | None = None,
    footer: str | None = None,
) -> dict[str, Any]:
    """Interactive reply buttons; `buttons` are `(id, title)` pairs."""
    action = {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in buttons]}
    return _interactive("button", body, action, header, footer)


def list_message(
    body: str,
    button: str,
    sections: Sequence[ListSection],
    *,
    header: str | None = None,
    footer: str | None = None,
) -> dict[str, Any]:
    """Interactive list; `button` is the label of the button that opens it."""
    action = {"button": button, "sections": [_section(s) for s in sections]}
    return _interactive("list", body, action, header, footer)


def media(
    kind: str,
    *,
    id: str | None = None,
    link: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
) -> dict[str, Any]:
    """An image, video, audio, document or sticker, by uploaded media `id` or public `link`."""
    if kind not in MEDIA_KINDS:
        _fail("type", f"must be one of {', '.join(MEDIA_KINDS)}, got {kind!r}")
    fields = {"id": id, "link": link, "caption": caption, "filename": filename}
    return _checked({"type": kind, kind: {k: v for k, v in fields.items() if v is not None}})


def reaction(message_id: str, emoji: str) -> dict[str, Any]:
    """React to `message_id`; an empty `emoji` removes the reaction."""
    return _checked({"type": "reaction", "reaction": {"message_id": message_id, "emoji": emoji}})


def location(
    latitude: float, longitude: float, name: str | None = None, address: str | None = None
) -> dict[str, Any]:
    fields = {"latitude": latitude, "longitude": longitude, "name": name, "address": address}
    return _checked({"type": "location", "location": {k: v for k, v in fields.items() if v is not None}})


def request_body(
    to: str,
    message: Mapping[str, Any],
    *,
    reply_to: str | None = None,
    biz_opaque_callback_data: str | None = None,
) -> dict[str, Any]:
    """The full, validated POST body sending `message` to `to` (a phone number or user id)."""
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
    body.update((key, value) for key, value in message.items() if key not in body)
    if reply_to is not None:
        body["context"] = {"message_id": reply_to}
    if biz_opaque_callback_data is not None:
        body["biz_opaque_callback_data"] = biz_opaque_callback_data
    validate_message(body)
    return body


def mark_read_body(message_id: str) -> dict[str, Any]:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
    validate_message(body)
    return body


def needs_service_window(message: Mapping[str, Any]) -> bool:
    """Whether sending `message` needs an open 24 h customer service window: all but templates do."""
    return message.get("type") != "template"


def template_parameter_counts(components: Iterable[Any]) -> dict[str, int]:
    """Parameters per component, keyed "header", "body", "button:0", ..., to compare with a template."""
    counts: dict[str, int] = {}
    for component in components:
        if not isinstance(component, Mapping):
            continue
        kind = str(component.get("type", "")).lower()
        key = f"button:{_button_index(component.get('index'))}" if kind == "button" else kind
        parameters = component.get("parameters")
        counts[key] = counts.get(key, 0) + (len(parameters) if _is_array(parameters) else 0)
    return counts


def _interactive(
    kind: str, body: str, action: dict[str, Any], header: str | None, footer: str | None
) -> dict[str, Any]:
    interactive: dict[str, Any] = {"type": kind, "body": {"text": body}, "action": action}
    if header is not None:
        interactive["header"] = {"type": "text", "text": header}
    if footer is not None:
        interactive["footer"] = {"text": footer}
    return _checked({"type": "interactive", "interactive": interactive})


def _section(section: ListSection) -> dict[str, Any]:
    rows = []
    for row in section.rows:
        item = {"id": row.id, "title": row.title}
        if row.description is not None:
            item["description"] = row.description
        rows.append(item)
    return {"rows": rows} if section.title is None else {"title": section.title, "rows": rows}


def _checked(message: dict[str, Any]) -> dict[str, Any]:
    _validate_payload(message)
    return message


# --- validation -----------------------------------------------------------------------------------------


def validate_message(body: Mapping[str, Any]) -> None:
    """Check a request body (a send or a mark-as-read) against Meta's rules and limits.

    Raises `MessageValidationError` naming the field (a dotted path such as "interactive.action.buttons[3]")
    and the rule it breaks.
    """
    if not isinstance(body, Mapping):
        _fail("body", f"must be an object, got {_kind(body)}")
    if "messaging_product" in body and body["messaging_product"] != "whatsapp":
        _fail("messaging_product", f"must be 'whatsapp', got {body['messaging_product']!r}")
    if "status" in body:
        if body["status"] != "read":
            _fail("status", f"must be 'read', got {body['status']!r}")
        _req_str(body, "message_id", "")
        return
    _req_str(body, "to", "")
    if body.get("recipient_type", "individual") not in ("individual", "group"):
        _fail("recipient_type", f"must be 'individual' or 'group', got {body['recipient_type']!r}")
    _validate_payload(body)
    context = _opt_object(body, "context", "")
    if context is not None:
        _req_str(context, "message_id", "context")
    data = _opt_str(body, "biz_opaque_callback_data", "")
    if data is not None and len(data.encode()) > limits.BIZ_OPAQUE_CALLBACK_DATA_MAX_BYTES:
        limit = limits.BIZ_OPAQUE_CALLBACK_DATA_MAX_BYTES
        _fail("biz_opaque_callback_data", f"must be at most {limit} bytes (UTF-8), got {len(data.encode())}")


def _validate_payload(message: Mapping[str, Any]) -> None:
    kind = message.get("type")
    if kind is None:
        _fail("type", "is required")
    if kind not in SEND_TYPES:
        _fail("type", f"must be one of {', '.join(SEND_TYPES)}, got {kind!r}")
    if kind == "contacts":
        _validate_contacts(message)
        return
    payload = _req_object(message, kind, "")
    if kind in MEDIA_KINDS:
        _validate_media(payload, kind)
    else:
        _VALIDATORS[kind](payload, kind)


def _validate_text(payload: Mapping[str, Any], path: str) -> None:
    _req_str(payload, "body", path, max_len=limits.TEXT_BODY_MAX)
    if "preview_url" in payload and not isinstance(payload["preview_url"], bool):
        _fail(f"{path}.preview_url", f"must be a boolean, got {_kind(payload['preview_url'])}")


def _validate_media(payload: Mapping[str, Any], path: str) -> None:
    _media_source(payload, path)
    if path in _CAPTIONED:
        _opt_str(payload, "caption", path, max_len=limits.CAPTION_MAX)
    elif "caption" in payload:
        _fail(f"{path}.caption", f"is not allowed on {path} messages")
    if path == "document":
        _opt_str(payload, "filename", path)
    elif "filename" in payload:
        _fail(f"{path}.filename", "is only allowed on document messages")


def _media_source(payload: Mapping[str, Any], path: str) -> None:
    present = [key for key in ("id", "link") if payload.get(key) is not None]
    if len(present) != 1:
        _fail(path, f"must have exactly one of id or link, got {' and '.join(present) or 'neither'}")
    _req_str(payload, present[0], path)


def _validate_reaction(payload: Mapping[str, Any], path: str) -> None:
    _req_str(payload, "message_id", path)
    _req_str(payload, "emoji", path, allow_empty=True)


def _validate_location(payload: Mapping[str, Any], path: str) -> None:
    for key, bound in (("latitude", 90), ("longitude", 180)):
        value = payload.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(f"{path}.{key}", f"must be a number, got {_kind(value)}")
        if not -bound <= value <= bound:
            _fail(f"{path}.{key}", f"must be between -{bound} and {bound}, got {value}")
    _opt_str(payload, "name", path)
    _opt_str(payload, "address", path)


def _validate_contacts(message: Mapping[str, Any]) -> None:
    cards = _req_array(message, "contacts", "")
    if not cards:
        _fail("contacts", "must have at least 1 contact")
    for i, card in enumerate(cards):
        name = _req_object(_as_object(card, f"contacts[{i}]"), "name", f"contacts[{i}]")
        _req_str(name, "formatted_name", f"contacts[{i}].name")


def _validate_interactive(payload: Mapping[str, Any], path: str) -> None:
    kind = _req_str(payload, "type", path)
    header = _opt_object(payload, "header", path)
    if header is not None:
        _validate_header(header, f"{path}.header", text_only=kind == "list")
    body = (_req_object if kind in ("button", "list") else _opt_object)(payload, "body", path)
    if body is not None:
        _req_str(body, "text", f"{path}.body", max_len=limits.INTERACTIVE_BODY_MAX)
    footer = _opt_object(payload, "footer", path)
    if footer is not None:
        _req_str(footer, "text", f"{path}.footer", max_len=limits.INTERACTIVE_FOOTER_MAX)
    action = _req_object(payload, "action", path)
    if kind == "button":
        _validate_buttons(action, f"{path}.action")
    elif kind == "list":
        _validate_list(action, f"{path}.action")


def _validate_header(header: Mapping[str, Any], path: str, *, text_only: bool) -> None:
    allowed = ("text",) if text_only else _HEADER_TYPES
    kind = header.get("type")
    if not isinstance(kind, str) or kind not in allowed:
        _fail(f"{path}.type", f"must be one of {', '.join(allowed)}, got {kind!r}")
    if kind == "text":
        _req_str(header, "text", path, max_len=limits.INTERACTIVE_HEADER_TEXT_MAX)
    else:
        _media_source(_req_object(header, kind, path), f"{path}.{kind}")


def _validate_buttons(action: Mapping[str, Any], path: str) -> None:
    buttons = _req_array(action, "buttons", path)
    if len(buttons) < limits.REPLY_BUTTONS_MIN:
        _fail(f"{path}.buttons", f"must have at least {limits.REPLY_BUTTONS_MIN} button, got 0")
    if len(buttons) > limits.REPLY_BUTTONS_MAX:
        maximum = limits.REPLY_BUTTONS_MAX
        _fail(f"{path}.buttons[{maximum}]", f"must have at most {maximum} buttons, got {len(buttons)}")
    seen: set[str] = set()
    for i, item in enumerate(buttons):
        where = f"{path}.buttons[{i}]"
        button = _as_object(item, where)
        if button.get("type") != "reply":
            _fail(f"{where}.type", f"must be 'reply', got {button.get('type')!r}")
        reply = _req_object(button, "reply", where)
        button_id = _req_str(reply, "id", f"{where}.reply", max_len=limits.REPLY_BUTTON_ID_MAX)
        if button_id in seen:
            _fail(f"{where}.reply.id", f"must be unique, {button_id!r} is used twice")
        seen.add(button_id)
        _req_str(reply, "title", f"{where}.reply", max_len=limits.REPLY_BUTTON_TITLE_MAX)


def _validate_list(action: Mapping[str, Any], path: str) -> None:
    _req_str(action, "button", path, max_len=limits.LIST_BUTTON_LABEL_MAX)
    sections = _req_array(action, "sections", path)
    if not sections:
        _fail(f"{path}.sections", "must have at least 1 section, got 0")
    if len(sections) > limits.LIST_SECTIONS_MAX:
        maximum = limits.LIST_SECTIONS_MAX
        _fail(f"{path}.sections[{maximum}]", f"must have at most {maximum} sections, got {len(sections)}")
    total = sum(len(s["rows"]) for s in sections if isinstance(s, Mapping) and _is_array(s.get("rows")))
    seen: set[str] = set()
    count = 0
    for i, item in enumerate(sections):
        where = f"{path}.sections[{i}]"
        section = _as_object(item, where)
        # Meta requires a section title once a list has more than one section.
        get_title = _req_str if len(sections) > 1 else _opt_str
        get_title(section, "title", where, max_len=limits.LIST_SECTION_TITLE_MAX)
        rows = _req_array(section, "rows", where)
        if not rows:
            _fail(f"{where}.rows", "must have at least 1 row, got 0")
        for j, row_item in enumerate(rows):
            row_path = f"{where}.rows[{j}]"
            count += 1
            if count > limits.LIST_ROWS_MAX:
                _fail(row_path, f"a list may have at most {limits.LIST_ROWS_MAX} rows in all, got {total}")
            row = _as_object(row_item, row_path)
            row_id = _req_str(row, "id", row_path, max_len=limits.LIST_ROW_ID_MAX)
            if row_id in seen:
                _fail(f"{row_path}.id", f"must be unique, {row_id!r} is used twice")
            seen.add(row_id)
            _req_str(row, "title", row_path, max_len=limits.LIST_ROW_TITLE_MAX)
            _opt_str(row, "description", row_path, max_len=limits.LIST_ROW_DESCRIPTION_MAX)


def _validate_template(payload: Mapping[str, Any], path: str) -> None:
    _req_str(payload, "name", path)
    language = _req_object(payload, "language", path)
    _req_str(language, "code", f"{path}.language")
    if language.get("policy", "deterministic") != "deterministic":
        _fail(f"{path}.language.policy", f"must be 'deterministic', got {language['policy']!r}")
    if payload.get("components") is None:
        return
    for i, item in enumerate(_req_array(payload, "components", path)):
        where = f"{path}.components[{i}]"
        component = _as_object(item, where)
        kind = _req_str(component, "type", where)
        if kind not in TEMPLATE_COMPONENT_TYPES:
            _fail(f"{where}.type", f"must be one of {', '.join(TEMPLATE_COMPONENT_TYPES)}, got {kind!r}")
        if kind == "button":
            _req_str(component, "sub_type", where)
            if _button_index(component.get("index")) is None:
                maximum = limits.TEMPLATE_BUTTON_INDEX_MAX
                _fail(f"{where}.index", f"must be 0 to {maximum}, got {component.get('index')!r}")
        if component.get("parameters") is not None:
            for j, parameter in enumerate(_req_array(component, "parameters", where)):
                _validate_parameter(parameter, f"{where}.parameters[{j}]")


def _validate_parameter(item: Any, path: str) -> None:
    parameter = _as_object(item, path)
    kind = parameter.get("type")
    if not isinstance(kind, str) or kind not in TEMPLATE_PARAMETER_TYPES:
        _fail(f"{path}.type", f"must be one of {', '.join(sorted(TEMPLATE_PARAMETER_TYPES))}, got {kind!r}")
    if kind in ("text", "payload", "coupon_code"):
        _req_str(parameter, kind, path)
    elif kind in ("image", "video", "document"):
        _media_source(_req_object(parameter, kind, path), f"{path}.{kind}")
    elif kind == "currency":
        currency = _req_object(parameter, kind, path)
        _req_str(currency, "fallback_value", f"{path}.currency")
        _req_str(currency, "code", f"{path}.currency")
        amount = currency.get("amount_1000")
        if isinstance(amount, bool) or not isinstance(amount, int):
            _fail(f"{path}.currency.amount_1000", f"must be an integer, got {_kind(amount)}")
    elif kind == "date_time":
        _req_str(_req_object(parameter, kind, path), "fallback_value", f"{path}.date_time")
    elif parameter.get(kind) is None:
        _fail(f"{path}.{kind}", "is required")


_VALIDATORS = {
    "text": _validate_text,
    "template": _validate_template,
    "interactive": _validate_interactive,
    "reaction": _validate_reaction,
    "location": _validate_location,
}


# --- field helpers --------------------------------------------------------------------------------------


def _fail(field: str, message: str) -> NoReturn:
    raise MessageValidationError(field, message)


def _field(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _is_array(value: Any) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    return isinstance(value, list | tuple)


def _button_index(value: Any) -> int | None:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= limits.TEMPLATE_BUTTON_INDEX_MAX else None


def _req_str(
    obj: Mapping[str, Any], key: str, path: str, *, max_len: int | None = None, allow_empty: bool = False
) -> str:
    value = _opt_str(obj, key, path, max_len=max_len, allow_empty=allow_empty)
    if value is None:
        _fail(_field(path, key), "is required")
    return value


def _opt_str(
    obj: Mapping[str, Any], key: str, path: str, *, max_len: int | None = None, allow_empty: bool = False
) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    field = _field(path, key)
    if not isinstance(value, str):
        _fail(field, f"must be a string, got {_kind(value)}")
    if not value and not allow_empty:
        _fail(field, "must not be empty")
    if max_len is not None and len(value) > max_len:
        _fail(field, f"must be at most {max_len} characters, got {len(value)}")
    return value


def _as_object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail(field, f"must be an object, got {_kind(value)}")
    return value


def _req_object(obj: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    if obj.get(key) is None:
        _fail(_field(path, key), "is required")
    return _as_object(obj[key], _field(path, key))


def _opt_object(obj: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
    return None if obj.get(key) is None else _as_object(obj[key], _field(path, key))


def _req_array(obj: Mapping[str, Any], key: str, path: str) -> Sequence[Any]:
    value = obj.get(key)
    if not _is_array(value):
        _fail(_field(path, key), "is required" if value is None else f"must be a list, got {_kind(value)}")
    return value
