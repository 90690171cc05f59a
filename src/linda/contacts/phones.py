"""Phone numbers as E.164, through Google's libphonenumber data (never hand-written country tables)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc, PhoneNumberType

MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_SEPARATORS = " -.()/\t'\""
_DROP = str.maketrans("", "", _SEPARATORS + "\u00a0\u200e\u200f\u202a\u202c")
_DROP_ASCII = _SEPARATORS.encode()


class _DecimalDigits(dict[int, str]):
    """A str.translate table from every script's decimal digits (٠١٢, ۴۵۶, १२३, ...) to ASCII ones, filled as
    characters are met; other characters (², ①, letters) are left as they are."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if not char.isdecimal():
            raise LookupError(code)  # str.translate keeps the character
        self[code] = str(unicodedata.decimal(char))
        return self[code]


_DECIMAL_DIGITS = _DecimalDigits()


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
    if not digits.isascii():
        digits = digits.translate(_DECIMAL_DIGITS)  # Arabic-Indic digits too
    if not digits.isdigit() or not digits.isascii():
        digits = "".join(ch for ch in digits if "0" <= ch <= "9")
        if not digits or len(digits) < len(text) - 3 - plus:
            raise InvalidPhone(f"{raw!r} is not a phone number", "not a number")
    fast = _fast_mobile(digits, plus or region is None, region)
    if fast is None:
        return _parsed_mobile(raw, digits, plus, region)
    if fast.startswith("+"):
        return fast
    raise InvalidPhone(_REFUSED[fast].format(raw=raw), fast)


_REFUSED = {
    "not mobile": "{raw!r} is not a mobile number",
    "impossible": "{raw!r} is not a possible number (wrong length)",
    "invalid": "{raw!r} is not a valid phone number",
}


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
            raise InvalidPhone(_REFUSED["not mobile"].format(raw=raw), "not mobile")
    if number is None:
        raise InvalidPhone(f"{raw!r} is not a phone number", "not a number")
    reason = "invalid" if phonenumbers.is_possible_number(number) else "impossible"
    raise InvalidPhone(_REFUSED[reason].format(raw=raw), reason)


# The fast path: most numbers in a file are plain mobiles. Their digits are split into country code and national
# number as libphonenumber would, the region is chosen among those sharing the code as libphonenumber chooses it,
# and the number is matched against patterns compiled from its own metadata (see _Region), which also say why a
# number is refused. What this does not decide exactly (a trunk prefix kept after the country code, national
# forms that are refused, codes without metadata) goes through phonenumbers.parse. Tests hold the two to the same
# answers for every region and type.

_COUNTRY_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)
# Types libphonenumber checks before fixed line and mobile: a number matching one of them is of that type.
_TYPES_BEFORE_MOBILE = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                        "voicemail")  # fmt: skip
# What the fast path says of a number it refuses: InvalidPhone.reason.
Refusal = Literal["not mobile", "invalid", "impossible"]


@dataclass(frozen=True, slots=True)
class _Home:
    """The region of an import, for reading national numbers: its country code and trunk prefix (`0` in AE),
    and what decides whether parsing strips that prefix: the national prefix pattern (which may also take a
    carrier code), the international prefix (`00`, `011`), the pattern every national number matches, and the
    lengths a number may have once stripped (possible ones, or more than the longest)."""

    code: str
    trunk: str
    prefix: re.Pattern[str] | None
    international_prefix: re.Pattern[str] | None
    national: re.Pattern[str] | None
    lengths: frozenset[int]

    def strips_trunk(self, digits: str) -> bool:
        """Whether phonenumbers reads `digits` (which begin with the trunk prefix) as that prefix alone and a
        national number: not as an international prefix, not as a prefix with a carrier code, and not as a
        number that keeps its prefix (because without it, it would no longer match the region's numbers, or
        would be of a length they cannot have)."""
        if self.prefix is None or self.national is None or not self.lengths:
            return False
        if self.international_prefix is not None and self.international_prefix.match(digits):
            return False
        stripped = self.prefix.match(digits)
        if stripped is None or stripped.end() != len(self.trunk) or any(stripped.groups()):
            return False
        national = digits[len(self.trunk) :]
        if self.national.fullmatch(digits) and not self.national.fullmatch(national):
            return False
        return len(national) in self.lengths or len(national) > max(self.lengths)


@cache
def _home(region: str) -> _Home | None:
    metadata = PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None or metadata.country_code is None or metadata.general_desc is None:
        return None
    general = metadata.general_desc
    lengths = frozenset(general.possible_length) - frozenset(general.possible_length_local_only)
    return _Home(
        str(metadata.country_code),
        metadata.national_prefix or "",
        _compiled(metadata.national_prefix_for_parsing),
        _compiled(metadata.international_prefix),
        _compiled(general.national_number_pattern),
        frozenset() if -1 in lengths else lengths,
    )


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


def _desc_pattern(desc: PhoneNumberDesc | None) -> str | None:
    """A pattern that fullmatches the national numbers libphonenumber says match `desc` (its possible lengths
    and its pattern), or None for a description that matches nothing."""
    if desc is None or not desc.national_number_pattern or -1 in desc.possible_length:
        return None
    runs: list[list[int]] = []  # the lengths as runs of consecutive ones: \d{5,12} is quicker than 8 choices
    for length in sorted(desc.possible_length):
        if runs and runs[-1][1] == length - 1:
            runs[-1][1] = length
        else:
            runs.append([length, length])
    lengths = "|".join(f"\\d{{{low}}}" if low == high else f"\\d{{{low},{high}}}" for low, high in runs)
    return (f"(?=(?:{lengths})$)" if lengths else "") + f"(?:{desc.national_number_pattern})$"


@dataclass(frozen=True, slots=True)
class _Region:
    """One region's national numbers as libphonenumber types them: `valid` (of any type) and `mobile` (mobile,
    or fixed line or mobile), each a pattern or None for none; `leading`, where several regions share a
    country code, the leading digits by which this one claims a number (without them, it claims the numbers
    valid in it)."""

    valid: re.Pattern[str] | None
    mobile: re.Pattern[str] | None
    leading: re.Pattern[str] | None

    @classmethod
    def of(cls, metadata: PhoneMetadata) -> _Region:
        general = _desc_pattern(metadata.general_desc)
        before = [
            p for name in _TYPES_BEFORE_MOBILE if (p := _desc_pattern(getattr(metadata, name))) is not None
        ]
        fixed = _desc_pattern(metadata.fixed_line)
        # Where the two patterns are the same, a fixed-line match is fixed line or mobile; mobile is not checked.
        mobile = fixed if metadata.same_mobile_and_fixed_line_pattern else _desc_pattern(metadata.mobile)
        kinds = [*before, *(p for p in (fixed, mobile) if p is not None)]
        if general is None:
            valid = mobile_only = None
        else:
            valid = re.compile(f"(?={general})(?:{'|'.join(kinds)})") if kinds else None
            not_before = f"(?!{'|'.join(before)})" if before else ""
            mobile_only = re.compile(f"(?={general}){not_before}{mobile}") if mobile is not None else None
        leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        return cls(valid, mobile_only, leading)

    def claims(self, national: str) -> bool:
        if self.leading is not None:
            return self.leading.match(national) is not None
        return self.valid is not None and self.valid.fullmatch(national) is not None


@dataclass(frozen=True, slots=True)
class _Country:
    """The regions of one country code, in libphonenumber's order; from the main region's metadata, the national
    prefix that parsing strips and the lengths a number may have at all."""

    regions: tuple[_Region, ...]
    national_prefix: re.Pattern[str] | None
    possible_lengths: frozenset[int]

    def region_of(self, national: str) -> _Region | None:
        if len(self.regions) == 1:
            return self.regions[0]
        return next((region for region in self.regions if region.claims(national)), None)


@cache
def _country(code: str) -> _Country | None:
    """None where a region of the code has no metadata (non-geographic codes): phonenumbers decides those."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(int(code), ())
    metadata = [m for r in regions if (m := PhoneMetadata.metadata_for_region(r)) is not None]
    if not metadata or len(metadata) < len(regions) or metadata[0].general_desc is None:
        return None
    prefix, general = metadata[0].national_prefix_for_parsing, metadata[0].general_desc
    lengths = frozenset() if -1 in general.possible_length else frozenset(general.possible_length)
    return _Country(
        tuple(_Region.of(m) for m in metadata),
        re.compile(prefix) if prefix else None,
        lengths and lengths | frozenset(general.possible_length_local_only),
    )


def _classify(code: str, national: str) -> str | Refusal | None:
    """The +E.164 of a mobile, or why the number is refused; None where phonenumbers must decide: a leading 0
    or national prefix (parsing may strip it), a length that parsing rejects."""
    country = _country(code)
    length = len(national)
    if country is None or not 2 <= length <= 17 or national[0] == "0":
        return None
    if country.national_prefix is not None and country.national_prefix.match(national):
        return None
    region = country.region_of(national)
    if region is not None:
        if region.mobile is not None and region.mobile.fullmatch(national):
            return f"+{code}{national}"
        if region.valid is not None and region.valid.fullmatch(national):
            return "not mobile"
    return "invalid" if length in country.possible_lengths else "impossible"


def _fast_mobile(digits: str, international: bool, region: str | None) -> str | Refusal | None:
    """International digits (country code first) are decided; national ones only when they are a mobile (a
    national number that is refused may still be one with its country code)."""
    if international:
        for size in (1, 2, 3):
            if digits[:size] in _COUNTRY_CODES:
                return _classify(digits[:size], digits[size:])
        return None
    home = _home(region) if region else None
    if home is None:
        return None
    code, trunk = home.code, home.trunk
    if trunk and digits.startswith(trunk):
        if not home.strips_trunk(digits):
            return None
        found = _classify(code, digits[len(trunk) :])
        # After a trunk 0 a refusal is decided too: read with a plus, the digits are no number (no country
        # code begins with 0). After another trunk (8 in RU), they may be one.
        return found if trunk == "0" else _mobile(found)
    found = _classify(code, digits)
    if found in ("invalid", "impossible") and digits.startswith(code):
        # not a number of the region as it stands: phonenumbers reads the code off it (and a trunk 0 after it)
        rest = digits[len(code) :]
        found = _classify(code, rest[len(trunk) :] if trunk and rest.startswith(trunk) else rest)
    return _mobile(found)


def _mobile(found: str | None) -> str | None:
    return found if found is not None and found.startswith("+") else None
