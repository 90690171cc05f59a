"""Phone numbers as E.164, through Google's libphonenumber data (never hand-written country tables)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_DROP = str.maketrans("", "", " -.()/\t\u00a0\u200e\u200f\u202a\u202c'\"")


class InvalidPhone(ValueError):
    """A value that is not a valid phone number; the message says why, `reason` in a word or two."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


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


@lru_cache(maxsize=65536)
def to_mobile_e164(raw: str, region: str | None = None) -> str:
    """`raw` as the +E.164 of a mobile number (the numbers WhatsApp reaches), for imports.

    International forms (`+971 50 ...`, `00971...`) keep their country whatever `region` is. Other digits are read
    as a national number of `region` (`0501234567` in AE), then as a country code without its plus, also with a
    trunk 0 after it (`9710501234567`). `InvalidPhone.reason` is one of: empty, not a number, impossible,
    invalid, not mobile.
    """
    text = raw.strip().translate(_DROP)
    if not text:
        raise InvalidPhone("empty phone number", "empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit() or not digits.isascii():
        digits = "".join(str(int(ch)) for ch in digits if ch.isdigit())  # Arabic-Indic digits too
        if not digits or len(digits) < len(text) - 3 - plus:
            raise InvalidPhone(f"{raw!r} is not a phone number", "not a number")
    candidates = ["+" + digits] if plus or region is None else [digits, "+" + digits]
    number = None
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        kind = phonenumbers.number_type(number)  # UNKNOWN for a number that is not valid
        if kind in MOBILE_TYPES:
            return f"+{number.country_code}{phonenumbers.national_significant_number(number)}"
        if kind != PhoneNumberType.UNKNOWN:
            raise InvalidPhone(f"{raw!r} is not a mobile number", "not mobile")
    if number is None:
        raise InvalidPhone(f"{raw!r} is not a phone number", "not a number")
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(f"{raw!r} is not a possible number (wrong length)", "impossible")
    raise InvalidPhone(f"{raw!r} is not a valid phone number", "invalid")
