"""Phone numbers for imports: national, international and broken forms per region."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linda.contacts.phones import InvalidPhone, to_e164, to_mobile_e164

VECTORS = [
    ("0501234567", "AE", "+971501234567"),
    ("0551234567", "AE", "+971551234567"),
    ("00971501234567", "AE", "+971501234567"),
    ("9710501234567", "AE", "+971501234567"),
    ("971501234567", "AE", "+971501234567"),
    ("+971 50 123 4567", "AE", "+971501234567"),
    ("+971-55-123-4567", "AE", "+971551234567"),
    ("(050) 123 4567", "AE", "+971501234567"),
    ("٠٥٠١٢٣٤٥٦٧", "AE", "+971501234567"),  # Arabic-Indic digits
    ("\u200e+971501234567\u200f", "AE", "+971501234567"),  # direction marks from an RTL sheet
    ("03001234567", "PK", "+923001234567"),
    ("+92 300 1234567", "AE", "+923001234567"),
    ("+447911123456", "AE", "+447911123456"),  # foreign, international: kept as it is
    ("00447911123456", "AE", "+447911123456"),
    ("447911123456", "AE", "+447911123456"),
    ("+1 202 555 0143", "AE", "+12025550143"),
    ("+966501234567", None, "+966501234567"),
]


@pytest.mark.parametrize(("raw", "region", "expected"), VECTORS)
def test_vectors(raw: str, region: str | None, expected: str) -> None:
    assert to_mobile_e164(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "AE", "empty"),
        ("   ", "AE", "empty"),
        ("abc", "AE", "not a number"),
        ('=HYPERLINK("x")', "AE", "not a number"),
        ("12", "AE", "impossible"),
        ("0501234567891234", "AE", "impossible"),
        ("042345678", "AE", "not mobile"),  # a Dubai landline
        ("+97142345678", None, "not mobile"),
        ("0591234567", "AE", "invalid"),
    ],
)
def test_rejections_carry_a_reason(raw: str, region: str | None, reason: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        to_mobile_e164(raw, region)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("۰۵۰۱۲۳۴۵۶۷", "+971501234567"), ("०५०१२३४५६७", "+971501234567"), ("+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "+971501234567")],
)
def test_digits_of_other_scripts(raw: str, expected: str) -> None:
    """Persian and Urdu (Extended Arabic-Indic), Devanagari and Arabic-Indic digits read as the digits they are."""
    assert to_mobile_e164(raw, "AE") == expected


@given(st.text(max_size=20), st.sampled_from(["AE", "PK", "IN", None]))
def test_any_cell_gives_a_number_or_a_reason(raw: str, region: str | None) -> None:
    """Whatever a cell holds (superscript ², circled ①, letters, any script), the answer is a number or an
    InvalidPhone with its reason, never another error that would stop an import."""
    try:
        answer = to_mobile_e164(raw, region)
    except InvalidPhone as exc:
        answer = exc.reason
    assert answer.startswith("+") or answer in ("empty", "not a number", "impossible", "invalid", "not mobile")


@pytest.mark.parametrize("raw", ["050123456²", "①②③", "²²²²²²²²"])
def test_digit_like_characters_are_not_digits(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        to_mobile_e164(raw, "AE")


def test_to_e164_keeps_its_behaviour() -> None:
    assert to_e164("971501234567") == "+971501234567"
    assert to_e164("+97142345678") == "+97142345678"  # landlines are fine outside imports


UAE_MOBILE = st.builds(lambda p, n: f"5{p}{n:07d}", st.sampled_from("024568"), st.integers(0, 9_999_999))


def _formats(national: str) -> st.SearchStrategy[str]:
    spaced = f"{national[:2]} {national[2:5]} {national[5:]}"
    return st.sampled_from(
        [
            "0" + national,
            "00971" + national,
            "971" + national,
            "9710" + national,
            "+971" + national,
            "+971 " + spaced,
            "+971-" + spaced.replace(" ", "-"),
            "0" + spaced,
            f"(0{national[:2]}) {national[2:]}",
            " 0" + national + " ",
        ]
    )


@given(UAE_MOBILE.flatmap(lambda n: st.tuples(st.just(n), _formats(n))))
def test_every_uae_format_gives_the_same_number(case: tuple[str, str]) -> None:
    national, raw = case
    assert to_mobile_e164(raw, "AE") == "+971" + national


@given(st.sampled_from(["GB", "IN", "PK", "SA", "EG", "US", "DE", "PH"]))
def test_foreign_international_numbers_are_kept(region: str) -> None:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    assert to_mobile_e164(international, "AE") == e164
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert to_mobile_e164(national, region) == e164


REGIONS = st.sampled_from(
    ["AE", "PK", "GB", "IN", "SA", "US", "IT", "AR", "MX", "DE", "EG", "PH", "RU", "AU"]
)
DIGITS = st.text("0123456789", min_size=6, max_size=15)


def _slow(digits: str, international: bool, region: str | None) -> str:
    """What phonenumbers.parse says: the mobile number, or the reason it refuses the digits."""
    from linda.contacts.phones import _parsed_mobile

    try:
        return _parsed_mobile(digits, digits, international, region)
    except InvalidPhone as exc:
        return exc.reason


def _agree(digits: str, international: bool, region: str | None) -> None:
    from linda.contacts.phones import _fast_mobile

    fast = _fast_mobile(digits, international, region)
    if fast is not None:
        assert fast == _slow(digits, international, region)


@given(DIGITS, st.booleans(), REGIONS)
def test_the_fast_path_agrees_with_phonenumbers(digits: str, international: bool, region: str) -> None:
    _agree(digits, international, region)


CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@given(st.sampled_from(CODES), st.text("0123456789", min_size=1, max_size=15), st.integers(0, 30))
def test_the_fast_path_agrees_for_every_country_code(code: int, national: str, pick: int) -> None:
    """Digits after any country code, read as international and, in one of the code's regions, as national
    with and without the code: the fast answer, where there is one, is phonenumbers'."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
    region = regions[pick % len(regions)]
    _agree(f"{code}{national}", True, None)
    if region != "001":  # non-geographic
        _agree(national, False, region)
        _agree(f"{code}{national}", False, region)


# Every type of number of regions that share a country code with others (+1, +7, +44, +47, +61, +212, +358,
# +590, ...) and of some that do not, the last digits varied: the region libphonenumber picks, and its type.
SHARED = ["US", "CA", "JM", "PR", "BS", "RU", "KZ", "GB", "GG", "IM", "JE", "NO", "SJ", "AU", "CC", "MA", "EH", "FI",
          "AX", "GP", "BL", "MF", "RE", "YT", "IT", "VA", "SH", "CW", "BQ", "AE", "IN", "FR", "BR", "NG"]  # fmt: skip
TYPES = [t for t in vars(phonenumbers.PhoneNumberType).values() if isinstance(t, int)]


@given(st.sampled_from(SHARED), st.sampled_from(TYPES), st.integers(0, 9999), st.booleans())
def test_the_fast_path_picks_the_region_and_type_as_phonenumbers(
    region: str, kind: int, seed: int, national: bool
) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return
    digits = str(example.national_number)
    varied = digits[:-4] + f"{seed:04d}"[-min(4, len(digits)) :]
    _agree(f"{example.country_code}{varied}", True, None)
    if national:
        _agree(varied, False, region)


TRUNK_REGIONS = sorted(
    r
    for r in phonenumbers.SUPPORTED_REGIONS
    if phonenumbers.PhoneMetadata.metadata_for_region(r).national_prefix
)


@given(
    st.sampled_from(TRUNK_REGIONS),
    st.sampled_from(TYPES),
    st.integers(0, 9999),
    st.text("0123456789", max_size=3),
)
def test_the_fast_path_agrees_on_national_numbers_after_a_trunk_prefix(
    region: str, kind: int, seed: int, noise: str
) -> None:
    """Every type of number of every region with a trunk prefix, written nationally (`042345678` in AE), its
    last digits varied and some digits added or taken away: refusals too are decided without parsing where
    parsing strips the prefix alone."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return
    digits = str(example.national_number)
    varied = digits[:-4] + f"{seed:04d}"[-min(4, len(digits)) :]
    _agree(metadata.national_prefix + varied, False, region)
    _agree(metadata.national_prefix + varied[: -len(noise)] if noise else varied + "1", False, region)
    _agree(metadata.national_prefix + varied + noise, False, region)


def test_national_refusals_are_decided_without_parsing() -> None:
    from linda.contacts.phones import _fast_mobile

    assert _fast_mobile("042345678", False, "AE") == "not mobile"  # a Dubai landline
    assert _fast_mobile("0401234567", False, "AE") == "invalid"
    assert _fast_mobile("05012345678912", False, "AE") == "impossible"
    assert _fast_mobile("01123456789", False, "IN") == "not mobile"  # a Delhi landline
    assert _fast_mobile("02071234567", False, "GB") == "not mobile"  # a London one
    assert _fast_mobile("01112345678", False, "AR") is None  # AR's parsing strips more than its trunk 0
    assert _fast_mobile("89161234567", False, "RU") == "+79161234567"
    assert (
        _fast_mobile("84951234567", False, "RU") is None
    )  # +8... could be a country code: phonenumbers decides


def test_a_trunk_prefix_with_a_carrier_code_is_left_to_phonenumbers() -> None:
    """In Colombia 03 is the trunk prefix with a carrier code: 0321 123 0000 is not the mobile 321 123 0000."""
    from linda.contacts.phones import _fast_mobile

    assert _fast_mobile("03211230000", False, "CO") is None
    with pytest.raises(InvalidPhone) as caught:
        to_mobile_e164("03211230000", "CO")
    assert caught.value.reason == "invalid"


@given(REGIONS, st.integers(0, 10**6))
def test_the_fast_path_agrees_on_real_mobiles(region: str, seed: int) -> None:
    from linda.contacts.phones import _fast_mobile

    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    national = str(example.national_number)
    varied = national[:-3] + f"{seed % 1000:03d}"
    number = phonenumbers.parse(f"+{example.country_code}{varied}")
    if phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.MOBILE,
                                            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):  # fmt: skip
        assert to_mobile_e164(f"+{example.country_code}{varied}") == f"+{example.country_code}{varied}"
    fast = _fast_mobile(f"{example.country_code}{varied}", True, None)
    if fast is not None and fast.startswith("+"):
        assert fast == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_shared_codes_and_refusals_are_decided_without_parsing() -> None:
    from linda.contacts.phones import _fast_mobile

    assert _fast_mobile("447400123456", True, None) == "+447400123456"  # GB
    assert _fast_mobile("447781123456", True, None) == "+447781123456"  # Guernsey, +44 too
    assert _fast_mobile("12015550123", True, None) == "+12015550123"  # US: fixed line or mobile
    assert _fast_mobile("97142345678", True, None) == "not mobile"  # a Dubai landline
    assert _fast_mobile("441212345678", True, None) == "not mobile"  # a Birmingham landline
    assert _fast_mobile("97140123456", True, None) == "invalid"  # no Dubai number starts 40
    assert _fast_mobile("97150123456789012", True, None) == "impossible"  # too long for any UAE number
