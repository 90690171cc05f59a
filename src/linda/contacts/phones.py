"""Phone numbers as E.164, through Google's libphonenumber data (never hand-written country tables)."""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc, PhoneNumberType

MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_SEPARATORS = " -.()/\t'\""
_DROP = str.maketrans("", "", _SEPARATORS + "\u00a0\u200e\u200f\u202a\u202c")
_DROP_ASCII = _SEPARATORS.encode()


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


def to_mobile_e164(raw: str, region: str | None = None) -> str:
    """`raw` as the +E.164 of a mobile number (the numbers WhatsApp reaches), for imports.

    International forms (`+971 50 ...`, `00971...`) keep their country whatever `region` is. Other digits are read
    as a national number of `region` (`0501234567` in AE), then as a country code without its plus, also with a
    trunk 0 after it (`9710501234567`). `InvalidPhone.reason` is one of: empty, not a number, impossible,
    invalid, not mobile.
    """
    text = raw.strip()
    text = text.encode().translate(None, _DROP_ASCII).decode() if text.isascii() else text.translate(_DROP)
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
    fast = _fast_mobile(digits, plus or region is None, region)
    if fast is not None:
        return fast
    return _parsed_mobile(raw, digits, plus, region)


def _parsed_mobile(raw: str, digits: str, plus: bool, region: str | None) -> str:
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


# The fast path: most numbers in a file are plain mobiles. Their digits are split into country code and national
# number as libphonenumber would, and matched against one pattern per country code compiled from its own
# metadata (see _mobile_pattern). Whatever does not match exactly (other types, trunk prefixes kept, codes shared
# by several countries) goes through phonenumbers.parse, which also says why a number is refused.

_COUNTRY_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)
# Types libphonenumber checks before mobile: a number matching one of them is of that type, not mobile.
_TYPES_BEFORE_MOBILE = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                        "voicemail")  # fmt: skip


@cache
def _region_prefix(region: str) -> tuple[str, str] | None:
    metadata = PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None or metadata.country_code is None:
        return None
    return str(metadata.country_code), metadata.national_prefix or ""


def _desc_pattern(desc: PhoneNumberDesc | None) -> str | None:
    """A pattern that fullmatches the national numbers libphonenumber says match `desc` (its possible lengths
    and its pattern), or None for a description that matches nothing."""
    if desc is None or not desc.national_number_pattern or -1 in desc.possible_length:
        return None
    lengths = "|".join(f"\\d{{{length}}}" for length in desc.possible_length)
    return (f"(?=(?:{lengths})$)" if lengths else "") + f"(?:{desc.national_number_pattern})$"


@cache
def _mobile_pattern(code: str) -> re.Pattern[str] | None:
    """The national numbers of country code `code` that libphonenumber types as mobile (or fixed line or
    mobile), in one pattern: its general description, none of the types it checks first, its mobile
    description. None where that does not decide it: codes shared by several regions, countries whose mobile
    and fixed-line numbers look alike."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(int(code), ())
    metadata = PhoneMetadata.metadata_for_region(regions[0]) if len(regions) == 1 else None
    if metadata is None or metadata.same_mobile_and_fixed_line_pattern:
        return None
    general, mobile = _desc_pattern(metadata.general_desc), _desc_pattern(metadata.mobile)
    if general is None or mobile is None:
        return None
    before = [p for name in _TYPES_BEFORE_MOBILE if (p := _desc_pattern(getattr(metadata, name))) is not None]
    return re.compile(f"(?={general})" + (f"(?!{'|'.join(before)})" if before else "") + mobile)


def _match(code: str, national: str) -> str | None:
    pattern = _mobile_pattern(code)
    if pattern is None or national.startswith("0") or pattern.fullmatch(national) is None:
        return None
    return f"+{code}{national}"


def _fast_mobile(digits: str, international: bool, region: str | None) -> str | None:
    if international:
        for size in (1, 2, 3):
            if digits[:size] in _COUNTRY_CODES:
                return _match(digits[:size], digits[size:])
        return None
    prefix = _region_prefix(region) if region else None
    if prefix is None:
        return None
    code, trunk = prefix
    if trunk and digits.startswith(trunk):
        return _match(code, digits[len(trunk) :])
    found = _match(code, digits)
    if found is None and digits.startswith(code):
        rest = digits[len(code) :]
        found = _match(code, rest[len(trunk) :] if trunk and rest.startswith(trunk) else rest)
    return found
