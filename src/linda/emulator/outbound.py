"""Meta's rules for one outbound send, checked in order, and the status webhooks an accepted send earns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import phonenumbers

from linda.emulator.faults import GraphFault
from linda.emulator.inbound import new_wamid, status_payload
from linda.emulator.state import EmulatedNumber
from linda.whatsapp import limits
from linda.whatsapp.messages import needs_service_window, template_parameter_counts

if TYPE_CHECKING:
    from linda.emulator.emulator import Emulator

_STATUSES = ("sent", "delivered", "read")


def recipient_wa_id(to: Any) -> str | None:
    """The wa_id of a `to` given as digits with or without '+', when it is a valid phone number."""
    if not isinstance(to, str):
        return None
    number = to[1:] if to.startswith("+") else to
    if not number.isdigit():
        return None
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(parsed) else None


def accept_send(emulator: Emulator, number: EmulatedNumber, body: dict[str, Any]) -> tuple[str, str]:
    """Check `body` (already valid in shape) against every rule; on success take the limiter tokens, schedule
    the status webhooks and return (wamid, wa_id). Raises GraphFault otherwise."""
    to = body.get("to")
    emulator.take_injected_failure(to)
    wa_id = recipient_wa_id(to)
    if wa_id is None or wa_id in emulator.not_on_whatsapp:
        raise GraphFault(131026, "Message failed to send because the recipient is not a valid WhatsApp user.")
    category = "service"
    if body.get("type") == "template":
        category = _check_template(emulator, body.get("template") or {})
    if needs_service_window(body) and not emulator.window_open(number.phone_number_id, wa_id):
        raise GraphFault(
            131047,
            "Message failed to send because more than 24 hours have passed since the customer last replied "
            "to this number.",
        )
    now = emulator.clock()
    throughput = emulator.bucket(
        ("throughput", number.phone_number_id), number.throughput_per_second, number.throughput_per_second
    )
    if not throughput.available(now):
        raise GraphFault(
            130429,
            "Message failed to send because there were too many messages sent from this phone number in a "
            "short period of time.",
        )
    pair = emulator.bucket(
        ("pair", number.phone_number_id, wa_id), limits.PAIR_RATE_BURST, 1 / limits.PAIR_RATE_INTERVAL_SECONDS
    )
    if not pair.available(now):
        raise GraphFault(
            131056,
            "Message failed to send because there were too many messages sent from this phone number to the "
            "same phone number in a short period of time.",
        )
    throughput.take(now)
    pair.take(now)
    wamid = new_wamid()
    schedule_statuses(emulator, number, wamid, wa_id, category, body.get("biz_opaque_callback_data"))
    return wamid, wa_id


def _check_template(emulator: Emulator, template: dict[str, Any]) -> str:
    language = template.get("language") or {}
    code = language.get("code") if isinstance(language, dict) else None
    known = emulator.templates.get((str(template.get("name")), str(code)))
    if known is None:
        raise GraphFault(132001, f"template name ({template.get('name')}) does not exist in {code}")
    given = {k: v for k, v in template_parameter_counts(template.get("components") or []).items() if v}
    expected = {k: v for k, v in known.parameter_counts.items() if v}
    if given != expected:
        wrong = sorted(set(given) | set(expected))
        parts = [
            f"{key}: expected {expected.get(key, 0)}, received {given.get(key, 0)}"
            for key in wrong
            if given.get(key, 0) != expected.get(key, 0)
        ]
        raise GraphFault(
            132000, "Number of parameters does not match the expected number of params; " + "; ".join(parts)
        )
    return known.category


def schedule_statuses(
    emulator: Emulator,
    number: EmulatedNumber,
    wamid: str,
    wa_id: str,
    category: str,
    biz_opaque_callback_data: Any,
) -> None:
    """Queue sent, delivered and read for an accepted message, with the quirks asked for."""
    now = emulator.clock()
    conversation_id, expires = emulator.conversation(number.phone_number_id, wa_id, category)
    billable = category != "service"
    pricing = {
        "billable": billable,
        "pricing_model": "PMP",
        "category": category,
        "type": "regular" if billable else "free_customer_service",
    }
    order = list(zip(_STATUSES, emulator.status_delays, strict=True))
    if emulator.reorder_statuses:
        order = list(zip(reversed(_STATUSES), emulator.status_delays, strict=True))
    event_offsets = dict(zip(_STATUSES, emulator.status_delays, strict=True))
    opaque = biz_opaque_callback_data if isinstance(biz_opaque_callback_data, str) else None
    for status, delay in order:
        conversation: dict[str, Any] | None = None
        if status != "read":
            conversation = {"id": conversation_id, "origin": {"type": category}}
            if status == "sent":
                conversation["expiration_timestamp"] = str(int(expires))
        payload = status_payload(
            number,
            wamid=wamid,
            status=status,
            timestamp=now + event_offsets[status],
            recipient_id=wa_id,
            conversation=conversation,
            pricing=pricing if status != "read" else None,
            biz_opaque_callback_data=opaque,
        )
        for _ in range(2 if emulator.duplicate_statuses else 1):
            emulator.emitter.schedule(number.phone_number_id, payload, "status", delay)
