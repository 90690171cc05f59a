"""Filters: predicates over a message's context, combined with `&`, `|` and `~`.

A filter is a value: `text.equals("menu") & ~has_tag("agent")` builds a new filter and checks nothing until a
message arrives. Filters read only what the context already holds (no queries), so routing stays cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

if TYPE_CHECKING:
    from linda.bot.context import MessageContext, StatusContext
    from linda.bot.hours import BusinessHours

C = TypeVar("C")


class Filter(Generic[C]):
    """A named predicate. `&`, `|` and `~` short-circuit as `and`, `or` and `not` do."""

    __slots__ = ("_test", "name")

    def __init__(self, test: Callable[[C], bool], name: str) -> None:
        self._test = test
        self.name = name

    def __call__(self, context: C) -> bool:
        return self._test(context)

    def __and__(self, other: Filter[C]) -> Filter[C]:
        return Filter(lambda c: self(c) and other(c), f"({self.name} & {other.name})")

    def __or__(self, other: Filter[C]) -> Filter[C]:
        return Filter(lambda c: self(c) or other(c), f"({self.name} | {other.name})")

    def __invert__(self) -> Filter[C]:
        return Filter(lambda c: not self(c), f"~{self.name}")

    def __repr__(self) -> str:
        return f"Filter({self.name})"


MessageFilter: TypeAlias = "Filter[MessageContext]"
StatusFilter: TypeAlias = "Filter[StatusContext]"


def all_of(filters: Iterable[Filter[C]]) -> Filter[C]:
    """Every filter holds (an empty list always holds)."""
    chosen = list(filters)
    return Filter(lambda c: all(f(c) for f in chosen), " & ".join(f.name for f in chosen) or "always")


def fold(text: str) -> str:
    """Text as people mean it: case, accents, Arabic diacritics and surrounding punctuation ignored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        ch for ch in decomposed if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    )
    return kept.strip().strip(".!?؟،,;:\"'()[]").strip()


always: MessageFilter = Filter(lambda c: True, "always")


def text_equals(*words: str) -> MessageFilter:
    wanted = frozenset(fold(w) for w in words)
    return Filter(lambda c: c.text is not None and fold(c.text) in wanted, f"text_equals{words!r}")


def text_contains(*words: str) -> MessageFilter:
    wanted = [fold(w) for w in words]
    return Filter(
        lambda c: c.text is not None and any(w in fold(c.text) for w in wanted), f"text_contains{words!r}"
    )


def text_matches(pattern: str | re.Pattern[str], flags: int = re.IGNORECASE) -> MessageFilter:
    compiled = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
    return Filter(
        lambda c: c.text is not None and compiled.search(c.text) is not None,
        f"text_matches({compiled.pattern!r})",
    )


def command(*names: str, prefix: str = "!") -> MessageFilter:
    """`!name` or `!name arguments` (the prefix is configurable; "/" is common too)."""
    wanted = frozenset(n.casefold() for n in names)

    def test(c: MessageContext) -> bool:
        if c.text is None or not c.text.strip().startswith(prefix):
            return False
        word = c.text.strip()[len(prefix) :].split(maxsplit=1)
        return bool(word) and word[0].casefold() in wanted

    return Filter(test, f"command{names!r}")


def reply_id(*ids: str) -> MessageFilter:
    """A tap on a reply button, a list row, or a template's quick-reply button with one of `ids`."""
    wanted = frozenset(ids)
    return Filter(lambda c: c.reply is not None and c.reply.id in wanted, f"reply_id{ids!r}")


def button(*ids: str) -> MessageFilter:
    wanted = frozenset(ids)
    return Filter(
        lambda c: c.reply is not None and c.reply.kind in ("button", "quick_reply") and c.reply.id in wanted,
        f"button{ids!r}",
    )


def list_row(*ids: str) -> MessageFilter:
    wanted = frozenset(ids)
    return Filter(
        lambda c: c.reply is not None and c.reply.kind == "list" and c.reply.id in wanted, f"list_row{ids!r}"
    )


def message_type(*types: str) -> MessageFilter:
    wanted = frozenset(types)
    return Filter(lambda c: c.type in wanted, f"message_type{types!r}")


def media_type(*mime_types: str) -> MessageFilter:
    """Media whose MIME type is one of `mime_types`; a prefix such as "image/" matches the family."""

    def test(c: MessageContext) -> bool:
        media = c.inbound.media
        mime = (media.mime_type or "") if media else ""
        return bool(mime) and any(mime == m or (m.endswith("/") and mime.startswith(m)) for m in mime_types)

    return Filter(test, f"media_type{mime_types!r}")


def has_tag(*tags: str) -> MessageFilter:
    wanted = frozenset(tags)
    return Filter(lambda c: not wanted.isdisjoint(c.contact.tags or ()), f"has_tag{tags!r}")


_ANY = object()


def has_attribute(name: str, value: Any = _ANY) -> MessageFilter:
    """The sender has attribute `name` (with `value`, when given)."""

    def attributes(c: MessageContext) -> dict[str, Any]:
        return c.contact.attributes or {}

    if value is _ANY:
        return Filter(lambda c: name in attributes(c), f"has_attribute({name!r})")
    return Filter(lambda c: attributes(c).get(name) == value, f"has_attribute({name!r}={value!r})")


is_admin: MessageFilter = Filter(lambda c: c.is_admin, "is_admin")


def account(*phone_number_ids: str) -> MessageFilter:
    wanted = frozenset(phone_number_ids)
    return Filter(lambda c: c.account.phone_number_id in wanted, f"account{phone_number_ids!r}")


def language(*codes: str) -> MessageFilter:
    """The contact's language, once known (from its locale): "ar" matches "ar" and "ar_AE"."""
    wanted = frozenset(code.casefold() for code in codes)

    def test(c: MessageContext) -> bool:
        locale = (c.contact.locale or "").replace("-", "_").casefold()
        return bool(locale) and (locale in wanted or locale.split("_")[0] in wanted)

    return Filter(test, f"language{codes!r}")


def within_hours(hours: BusinessHours) -> MessageFilter:
    """The message arrived while the receiving number's business is open."""
    return Filter(lambda c: hours.is_open(c.account.phone_number_id, c.message_time), "within_hours")


def status(*names: str) -> StatusFilter:
    """A status webhook of one of these kinds: sent, delivered, read, failed, played."""
    wanted = frozenset(names)
    return Filter(lambda c: c.status.status in wanted, f"status{names!r}")
