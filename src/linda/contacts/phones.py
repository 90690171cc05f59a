"""Phone numbers as E.164, through Google's libphonenumber data (never hand-written country tables)."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    """A value that is not a valid phone number; the message says why."""


def to_e164(raw: str, region: str | None = None) -> str:
    """`raw` as +E.164. Without a region, the number must be international (leading + or 00, or bare digits
    with a country code, as WhatsApp ids are)."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("empty phone number")
    digits = "".join(ch for ch in text if ch.isdigit())
    if region is None and not text.startswith("+"):
        text = "+" + (digits[2:] if digits.startswith("00") else digits)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"{raw!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def wa_id_of(e164: str) -> str:
    """The WhatsApp id of a number: its E.164 digits without the plus."""
    return e164.lstrip("+")
