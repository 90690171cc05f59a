"""Hypothesis strategies: random contacts and random filters over a small vocabulary, so that filters match."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from linda.query.filters import (
    And,
    Between,
    Compare,
    Contains,
    Exists,
    Expr,
    In,
    IsEmpty,
    IsNull,
    IsTrue,
    Kind,
    Not,
    Or,
    StartsWith,
    kind_of,
    normalize_field,
)
from linda.query.grammar import check

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WORDS = [
    "ali",
    "Ali",
    "ALI",
    "a%b",
    "a_b",
    "x\\y",
    "o'k",
    'say "hi"',
    "زياد",
    "Zoë",
    "",
    " ",
    "ali baba",
    "2026-10-05",
]
TAGS = ["owner", "buyer", "vip", "Owner", "a%", "_"]
DAYS = [date(2026, 10, d) for d in (1, 2, 3, 30)]

texts = st.sampled_from(WORDS) | st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=6
)
numbers = st.sampled_from([0, 1, -1, 5, 5.0, 2.5, 500000, 900000, 600000]) | st.integers(-1000, 1000)
moments = st.builds(
    lambda day, seconds: datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(seconds=seconds),
    st.sampled_from(DAYS),
    st.sampled_from([0, 1, 3600, 86399, 86400]) | st.integers(0, 3 * 86400),
)
dates = st.sampled_from(DAYS)
date_texts = dates.map(date.isoformat) | moments.map(lambda m: m.isoformat())
scalars: st.SearchStrategy[Any] = st.one_of(
    texts, numbers, st.booleans(), st.none(), date_texts, st.floats(-1e6, 1e6, allow_nan=False)
)
attribute_values = st.one_of(scalars, st.lists(scalars, max_size=3), st.just({"a": 1}), st.just([[5]]))
ATTRIBUTE_KEYS = ["a", "b", "price"]


@st.composite
def contacts(draw: st.DrawFn) -> dict[str, Any]:
    """A contact with columns, attributes, and what its conversations and messages make of the computed fields."""
    conversations = draw(
        st.lists(st.tuples(st.none() | moments, st.none() | moments, st.none() | moments), max_size=2)
    )
    inbound = [c[0] for c in conversations if c[0] is not None]
    outbound = [c[1] for c in conversations if c[1] is not None]
    return {
        "phone": draw(st.none() | st.sampled_from(["+971501234567", "+971551234567", "+14155550100"])),
        "name": draw(st.none() | texts),
        "locale": draw(st.none() | st.sampled_from(["en", "ar", "ar_AE", ""])),
        "opted_out": draw(st.booleans()),
        "created_at": draw(moments),
        "tags": draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True)),
        "attributes": draw(st.dictionaries(st.sampled_from(ATTRIBUTE_KEYS), attribute_values, max_size=3)),
        "conversations": conversations,
        "messages": draw(st.integers(0, 3)),
        "messages_count": 0,  # filled in with the rest when stored
        "last_inbound_at": max(inbound, default=None),
        "last_outbound_at": max(outbound, default=None),
        "has_conversation": bool(conversations),
        "in_service_window": any(c[2] is not None and c[2] > NOW for c in conversations),
    }


FIELD_NAMES = [
    "id", "phone", "name", "locale", "opted_out", "created_at", "tag", "tags", "messages_count",
    "last_inbound_at", "last_outbound_at", "has_conversation", "in_service_window", "a", "b", "price",
    "attributes.name",
]  # fmt: skip


def _values(kind: Kind) -> st.SearchStrategy[Any]:
    return {
        Kind.TEXT: texts | st.sampled_from(TAGS),
        Kind.LIST: texts | st.sampled_from(TAGS),
        Kind.NUMBER: numbers,
        Kind.DATETIME: dates | moments,
        Kind.BOOL: st.booleans(),
        Kind.ANY: st.one_of(texts, numbers, st.booleans(), dates),
    }[kind]


@st.composite
def predicates(draw: st.DrawFn) -> Expr:
    """A predicate that `check` accepts: values and operators fit the field's kind."""
    name = normalize_field(draw(st.sampled_from(FIELD_NAMES)))
    kind = kind_of(name)
    values = _values(kind)
    textual = kind in (Kind.TEXT, Kind.LIST, Kind.ANY)
    shapes = ["cmp", "cmp", "in", "misc"] + (["between"] if kind is not Kind.BOOL else [])
    shapes += ["contains", "starts"] if textual else []
    shape = draw(st.sampled_from(shapes))
    if shape == "cmp":
        value = draw(values)
        ops = ["=", "!="] if isinstance(value, bool) else ["=", "!=", "<", "<=", ">", ">="]
        return Compare(name, draw(st.sampled_from(ops)), value)
    if shape == "in":
        return In(name, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    if shape == "between":
        family = draw(st.sampled_from(["text", "number", "date"]) if kind is Kind.ANY else st.just(""))
        ends = {"text": texts, "number": numbers, "date": dates}.get(family, values.filter(_not_bool))
        low = draw(ends)
        high = draw(ends.filter(lambda v: isinstance(v, datetime) == isinstance(low, datetime)))
        return Between(name, low, high)
    if shape in ("contains", "starts"):
        text = draw(texts | st.sampled_from(TAGS))
        return Contains(name, text) if shape == "contains" else StartsWith(name, text)
    tests: list[Expr] = [Exists(name), IsNull(name), IsEmpty(name)]
    return draw(st.sampled_from([*tests, IsTrue(name)] if kind in (Kind.BOOL, Kind.ANY) else tests))


def _not_bool(value: Any) -> bool:
    return not isinstance(value, bool)


filters: st.SearchStrategy[Expr] = st.recursive(
    predicates().map(lambda e: check(e, 0)),  # every predicate drawn is valid
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda p: And(tuple(p))),
        st.lists(inner, min_size=2, max_size=3).map(lambda p: Or(tuple(p))),
        inner.map(Not),
    ),
    max_leaves=6,
)
