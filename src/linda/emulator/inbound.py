"""Meta-shaped webhook payloads: messages from simulated users, and status updates of sent messages."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from linda.emulator.state import EmulatedNumber

MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
DEFAULT_MIME_TYPES = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/ogg; codecs=opus",
    "document": "application/pdf",
    "sticker": "image/webp",
}
UNSUPPORTED_ERROR = {
    "code": 131051,
    "title": "Message type unknown",
    "message": "Message type unknown",
    "error_data": {"details": "Message type is currently not supported."},
}


def new_wamid() -> str:
    """A fresh, unique message id in Meta's `wamid.` form."""
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18" + secrets.token_bytes(18)).decode()


def envelope(number: EmulatedNumber, value: dict[str, Any]) -> dict[str, Any]:
    """The `whatsapp_business_account` envelope around one change `value` for `number`."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": number.waba_id,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": digits(number.display_phone_number),
                                "phone_number_id": number.phone_number_id,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def message_payload(
    number: EmulatedNumber,
    wa_id: str,
    message: dict[str, Any],
    *,
    wamid: str,
    timestamp: float,
    profile_name: str,
    context_id: str | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """The webhook a user's message produces; `message` holds `type`, the type's object and any extras."""
    contact: dict[str, Any] = {"profile": {"name": profile_name}, "wa_id": wa_id}
    if user_id is not None:
        contact["user_id"] = user_id
    item: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(int(timestamp))}
    if user_id is not None:
        item["from_user_id"] = user_id
    if context_id is not None:
        item["context"] = {"from": digits(number.display_phone_number), "id": context_id}
    item.update(message)
    if item.get("type") == "unsupported" and "errors" not in item:
        item["errors"] = [UNSUPPORTED_ERROR]
    return envelope(number, {"contacts": [contact], "messages": [item]})


def status_payload(
    number: EmulatedNumber,
    *,
    wamid: str,
    status: str,
    timestamp: float,
    recipient_id: str,
    conversation: dict[str, Any] | None = None,
    pricing: dict[str, Any] | None = None,
    biz_opaque_callback_data: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The webhook reporting one status (sent, delivered, read, failed) of an outbound message."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(timestamp)),
        "recipient_id": recipient_id,
    }
    if conversation is not None:
        item["conversation"] = conversation
    if pricing is not None:
        item["pricing"] = pricing
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if errors:
        item["errors"] = errors
    return envelope(number, {"statuses": [item]})


def digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())
