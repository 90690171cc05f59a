"""Filters: the algebra of `&`, `|`, `~`, and each filter against real parsed webhook messages."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linda.bot import Bot, filters
from linda.bot.context import MessageContext
from linda.bot.filters import Filter
from linda.bot.hours import BusinessHours, Schedule
from linda.emulator import inbound
from linda.inbox.apply import Received
from linda.store.models import Account, Contact, Conversation, Message
from linda.whatsapp.webhook import parse_webhook
from tests.conftest import NUMBER
from tests.stack import emulated

ADMIN = "+971500000001"


def context(
    message: dict[str, Any],
    *,
    tags: list[str] | None = None,
    attributes: dict[str, Any] | None = None,
    locale: str | None = None,
    phone: str = "+971501234567",
    timestamp: float = 1764000000,
) -> MessageContext:
    payload = inbound.message_payload(
        emulated(NUMBER), phone.lstrip("+"), message, wamid="wamid.1", timestamp=timestamp, profile_name="Ali"
    )
    parsed = parse_webhook(payload)[0].messages[0]
    contact = Contact(phone=phone, tags=tags or [], attributes=attributes or {}, locale=locale)
    account = Account(phone_number_id=NUMBER.phone_number_id, display_phone_number="+971 4 000 0000")
    received = Received(None, account, contact, Conversation(), Message(), parsed)  # type: ignore[arg-type]
    return MessageContext(received, Bot(admins=[ADMIN]))


def text(body: str, **options: Any) -> MessageContext:
    return context({"type": "text", "text": {"body": body}}, **options)


def tap(kind: str, reply_id: str) -> MessageContext:
    return context(
        {"type": "interactive", "interactive": {"type": kind, kind: {"id": reply_id, "title": "T"}}}
    )


def constant(value: bool) -> Filter[Any]:
    return Filter(lambda _: value, str(value))


# A filter expression over two atoms, as a tree: the filter and what it must evaluate to.
atoms = st.sampled_from([True, False]).map(lambda v: (constant(v), v))


def combine(
    children: st.SearchStrategy[tuple[Filter[Any], bool]],
) -> st.SearchStrategy[tuple[Filter[Any], bool]]:
    return st.one_of(
        st.tuples(children, children).map(lambda p: (p[0][0] & p[1][0], p[0][1] and p[1][1])),
        st.tuples(children, children).map(lambda p: (p[0][0] | p[1][0], p[0][1] or p[1][1])),
        children.map(lambda c: (~c[0], not c[1])),
    )


expressions = st.recursive(atoms, combine, max_leaves=12)


@given(expressions)
def test_combined_filters_evaluate_as_boolean_logic(expression: tuple[Filter[Any], bool]) -> None:
    built, expected = expression
    assert built(None) is expected


@given(expressions, expressions)
def test_de_morgan_and_double_negation_hold(a: tuple[Filter[Any], bool], b: tuple[Filter[Any], bool]) -> None:
    f, g = a[0], b[0]
    assert (~(f & g))(None) == (~f | ~g)(None)
    assert (~(f | g))(None) == (~f & ~g)(None)
    assert (~~f)(None) == f(None)


def test_and_short_circuits_so_a_guard_protects_the_next_filter() -> None:
    def explode(_: Any) -> bool:
        raise AssertionError("evaluated")

    assert (constant(False) & Filter(explode, "explode"))(None) is False
    assert (constant(True) | Filter(explode, "explode"))(None) is True


def test_names_describe_the_expression() -> None:
    combined = filters.text_equals("hi") & ~filters.has_tag("agent")
    assert repr(combined) == "Filter((text_equals('hi',) & ~has_tag('agent',)))"


@pytest.mark.parametrize(
    ("said", "matches"),
    [("STOP", True), ("  stop! ", True), ("Stop.", True), ("stopping", False), ("please stop", False)],
)
def test_text_equals_ignores_case_spacing_and_punctuation(said: str, matches: bool) -> None:
    assert filters.text_equals("stop")(text(said)) is matches


def test_arabic_text_matches_without_diacritics_or_hamza_forms() -> None:
    assert filters.text_equals("إلغاء")(text("إِلْغَاء"))
    assert filters.text_equals("إلغاء")(text("الغاء"))
    assert not filters.text_equals("إلغاء")(text("توقف"))


def test_contains_regex_and_command() -> None:
    message = text("Do you have a 3 bedroom villa?")
    assert filters.text_contains("VILLA")(message)
    assert filters.text_matches(r"(\d+)\s*bed")(message)
    assert not filters.text_matches(r"^villa")(message)
    assert filters.command("status")(text("!status now"))
    assert not filters.command("status")(text("status"))
    assert filters.command("start", prefix="/")(text("/START"))
    assert not filters.command("status")(context({"type": "image", "image": {"id": "m1"}}))


def test_reply_ids_tell_buttons_from_list_rows() -> None:
    button, row = tap("button_reply", "rent"), tap("list_reply", "rent")
    assert filters.reply_id("rent")(button) and filters.reply_id("rent")(row)
    assert filters.button("rent")(button) and not filters.button("rent")(row)
    assert filters.list_row("rent")(row) and not filters.list_row("rent")(button)
    assert not filters.reply_id("buy")(button)
    assert not filters.reply_id("rent")(text("rent"))


def test_message_and_media_types() -> None:
    image = context({"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg"}})
    pdf = context({"type": "document", "document": {"id": "m2", "mime_type": "application/pdf"}})
    assert filters.message_type("image", "video")(image) and not filters.message_type("text")(image)
    assert filters.media_type("image/")(image) and not filters.media_type("image/")(pdf)
    assert filters.media_type("application/pdf")(pdf)
    assert not filters.media_type("image/")(text("hi"))


def test_sender_tags_attributes_admin_account_and_language() -> None:
    agent = text("x", tags=["agent"], attributes={"unit": 1234}, locale="ar_AE", phone=ADMIN)
    nobody = text("x")
    assert filters.has_tag("agent", "owner")(agent) and not filters.has_tag("agent")(nobody)
    assert filters.has_attribute("unit")(agent) and filters.has_attribute("unit", 1234)(agent)
    assert not filters.has_attribute("unit", 99)(agent) and not filters.has_attribute("unit")(nobody)
    assert filters.is_admin(agent) and not filters.is_admin(nobody)
    assert filters.account(NUMBER.phone_number_id)(agent) and not filters.account("other")(agent)
    assert filters.language("ar")(agent) and not filters.language("en")(agent)
    assert not filters.language("en")(nobody)  # not known yet


def test_within_hours_uses_the_business_time_zone_and_closed_days() -> None:
    dubai = ZoneInfo("Asia/Dubai")
    weekdays = {day: ((time(9), time(18)),) for day in ("mon", "tue", "wed", "thu", "fri")}
    hours = BusinessHours(Schedule(dubai, weekdays, frozenset({date(2026, 12, 2)})))
    open_now = filters.within_hours(hours)

    def at(*moment: int) -> MessageContext:
        return text("hi", timestamp=datetime(*moment, tzinfo=dubai).timestamp())

    assert open_now(at(2026, 11, 25, 9, 0))  # a Wednesday, 09:00 in Dubai (05:00 UTC)
    assert not open_now(at(2026, 11, 25, 8, 59))
    assert not open_now(at(2026, 11, 25, 18, 0))
    assert not open_now(at(2026, 11, 28, 12, 0))  # Saturday
    assert not open_now(at(2026, 12, 2, 12, 0))  # closed day
    assert datetime(2026, 11, 25, 5, 0, tzinfo=UTC) == datetime(2026, 11, 25, 9, 0, tzinfo=dubai)
