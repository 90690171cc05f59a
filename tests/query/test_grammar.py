"""The string and JSON forms: every operator, precedence, values, and errors that say where and what."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from linda.query.filters import (
    And,
    Between,
    Compare,
    Contains,
    Exists,
    Expr,
    FilterError,
    In,
    IsEmpty,
    IsNull,
    IsTrue,
    Not,
    Or,
    StartsWith,
    format_filter,
)
from linda.query.grammar import parse, parse_json


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("tag = owner", Compare("tags", "=", "owner")),
        ("name != 'Ali'", Compare("name", "!=", "Ali")),
        ("price < 5", Compare("attributes.price", "<", 5)),
        ("price <= 5.5", Compare("attributes.price", "<=", 5.5)),
        ("price > -2", Compare("attributes.price", ">", -2)),
        ("price >= 1e3", Compare("attributes.price", ">=", 1000.0)),
        ("cluster IN [\"Vardon\", 'Amazonia', 7]", In("attributes.cluster", ("Vardon", "Amazonia", 7))),
        ("price 500000 TO 900000", Between("attributes.price", 500000, 900000)),
        ('name CONTAINS "ali"', Contains("name", "ali")),
        ('name starts with "Al"', StartsWith("name", "Al")),
        ("email EXISTS", Exists("attributes.email")),
        ("name IS NULL", IsNull("name")),
        ("name IS NOT NULL", Not(IsNull("name"))),
        ("tags IS EMPTY", IsEmpty("tags")),
        ("tags IS NOT EMPTY", Not(IsEmpty("tags"))),
        ("opted_out", IsTrue("opted_out")),
        ("NOT opted_out", Not(IsTrue("opted_out"))),
        ("opted_out = false", Compare("opted_out", "=", False)),
        ("vip = TRUE", Compare("attributes.vip", "=", True)),
        ("last_inbound_at > 2026-10-01", Compare("last_inbound_at", ">", date(2026, 10, 1))),
        (
            "created_at >= 2026-10-01T08:30:00+04:00",
            Compare("created_at", ">=", datetime(2026, 10, 1, 4, 30, tzinfo=UTC)),
        ),
        (
            "created_at < 2026-10-01T08:30",
            Compare("created_at", "<", datetime(2026, 10, 1, 8, 30, tzinfo=UTC)),
        ),
        ("attributes.name = x", Compare("attributes.name", "=", "x")),
        ("locale = ar_AE", Compare("locale", "=", "ar_AE")),
        ("unit = A-12", Compare("attributes.unit", "=", "A-12")),
        ("city = 'دبي'", Compare("attributes.city", "=", "دبي")),
        (r'note = "a \"b\" \\ c\n"', Compare("attributes.note", "=", 'a "b" \\ c\n')),
    ],
)
def test_every_operator_and_value(text: str, tree: Expr) -> None:
    assert parse(text) == tree
    assert parse(format_filter(tree)) == tree


def test_the_example_of_the_issue() -> None:
    text = (
        'tag = owner AND cluster IN ["Vardon", "Amazonia"] AND price 500000 TO 900000 '
        'AND last_inbound_at > 2026-10-01 AND NOT opted_out AND name CONTAINS "ali"'
    )
    assert parse(text) == And(
        (
            Compare("tags", "=", "owner"),
            In("attributes.cluster", ("Vardon", "Amazonia")),
            Between("attributes.price", 500000, 900000),
            Compare("last_inbound_at", ">", date(2026, 10, 1)),
            Not(IsTrue("opted_out")),
            Contains("name", "ali"),
        )
    )


def test_precedence_not_then_and_then_or() -> None:
    a, b, c = IsTrue("attributes.a"), IsTrue("attributes.b"), IsTrue("attributes.c")
    assert parse("a OR b AND c") == Or((a, And((b, c))))
    assert parse("a and b or c") == Or((And((a, b)), c))
    assert parse("(a OR b) AND c") == And((Or((a, b)), c))
    assert parse("NOT a AND b") == And((Not(a), b))
    assert parse("NOT (a AND b)") == Not(And((a, b)))
    assert parse("NOT NOT a") == Not(Not(a))
    assert parse("((a))") == a


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "a filter"),
        ("tag =", 5, "a value"),
        ("tag = owner AND", 15, "a field name"),
        ("tag = owner OR OR x", 15, "a field name"),
        ("(tag = owner", 12, "')'"),
        ("tag = owner)", 11, "AND, OR or the end"),
        ("price 5 TO", 10, "a value"),
        ("price 5 6", 8, "TO"),
        ("cluster IN Vardon", 11, "'['"),
        ("cluster IN [a b]", 14, "',' or ']'"),
        ("name STARTS ali", 12, "WITH"),
        ("name IS nothing", 8, "NULL, EMPTY or NOT"),
        ('name = "open', 7, "a field, a value"),
        ("name = #", 7, "a field, a value"),
        ("price > 5abc", 8, "a number"),
        ("created_at > 2026-13-01", 13, "YYYY-MM-DD"),
        ("opted_out > 5", 10, "true or false"),
        ("opted_out = 1", 10, "true or false"),
        ("price > true", 6, "a number, a date"),
        ("created_at = yesterday", 11, "a date"),
        ("messages_count = many", 15, "a number"),
        ("name CONTAINS 5", 14, "a quoted text"),
        ("messages_count CONTAINS '5'", 15, "a number"),
        ("price 5 TO 'x'", 6, "two numbers"),
        ("name", 0, "an operator"),
        ("= 5", 0, "a field name"),
        ("name = x name", 9, "AND, OR"),
        ("x = 2026-10-01T10:00", 2, "a number, a date, a text"),
    ],
)
def test_errors_name_the_position_and_what_was_expected(text: str, position: int, expected: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse(text)
    assert caught.value.position == position, str(caught.value)
    assert expected in caught.value.expected, str(caught.value)
    assert f"at position {position}" in str(caught.value)


def test_limits_on_size_and_depth() -> None:
    with pytest.raises(FilterError, match="longer than"):
        parse("a = " + "1" * 10_001)
    with pytest.raises(FilterError, match="levels"):
        parse("(" * 60 + "a" + ")" * 60)
    with pytest.raises(FilterError, match="levels"):
        parse_json(_nested(60))
    assert parse("(" * 40 + "a" + ")" * 40) == IsTrue("attributes.a")


def _nested(depth: int) -> dict[str, Any]:
    obj: dict[str, Any] = {"a": 1}
    for _ in range(depth):
        obj = {"$not": obj}
    return obj


@pytest.mark.parametrize(
    ("obj", "text"),
    [
        ({"tag": "owner"}, "tag = owner"),
        ({"tag": "owner", "opted_out": False}, "tag = owner AND opted_out = false"),
        (
            {"$and": [{"tag": "owner"}, {"price": {"$gte": 5, "$lt": 9}}]},
            "tag = owner AND (price >= 5 AND price < 9)",
        ),
        ({"$or": [{"a": 1}, {"$not": {"b": "x"}}]}, "a = 1 OR NOT b = x"),
        ({"$and": [{"a": 1}]}, "a = 1"),
        ({"cluster": {"$in": ["Vardon", "Amazonia"]}}, 'cluster IN ["Vardon", "Amazonia"]'),
        ({"cluster": {"$nin": ["Vardon"]}}, 'NOT cluster IN ["Vardon"]'),
        ({"price": {"$between": [500000, 900000]}}, "price 500000 TO 900000"),
        ({"name": {"$contains": "ali"}}, 'name CONTAINS "ali"'),
        ({"name": {"$startsWith": "Al"}}, 'name STARTS WITH "Al"'),
        ({"email": {"$exists": True}}, "email EXISTS"),
        ({"email": {"$exists": False}}, "NOT email EXISTS"),
        ({"name": {"$isNull": True}}, "name IS NULL"),
        ({"tags": {"$isEmpty": False}}, "NOT tags IS EMPTY"),
        ({"name": {"$ne": "x"}}, 'name != "x"'),
        ({"price": {"$gt": 1, "$lte": 2}}, "price > 1 AND price <= 2"),
        ({"last_inbound_at": {"$gt": "2026-10-01"}}, "last_inbound_at > 2026-10-01"),
        ({"moved_in": {"$lt": {"$date": "2026-10-01"}}}, "moved_in < 2026-10-01"),
        ({"moved_in": {"$date": "2026-10-01"}}, "moved_in = 2026-10-01"),
        ({"vip": True}, "vip = true"),
    ],
)
def test_the_json_form_reads_into_the_same_tree(obj: Any, text: str) -> None:
    assert parse_json(obj) == parse(text)


@pytest.mark.parametrize(
    ("obj", "path", "expected"),
    [
        ([], "$", "an object"),
        ({}, "$", "an object"),
        ({"$and": {}}, "$.$and", "a non-empty list"),
        ({"$or": [{"a": 1}, 5]}, "$.$or[1]", "an object"),
        ({"$nor": []}, "$.$nor", "$and, $or, $not"),
        ({"price": {"$gte": [1]}}, "$.price.$gte", "a number, a text"),
        ({"price": {"$regex": "x"}}, "$.price.$regex", "$eq"),
        ({"price": {}}, "$.price", "an operator"),
        ({"price": {"$in": []}}, "$.price.$in", "a non-empty list"),
        ({"price": {"$between": [1]}}, "$.price.$between", "[low, high]"),
        ({"name": {"$contains": 5}}, "$.name.$contains", "a text"),
        ({"name": {"$exists": "yes"}}, "$.name.$exists", "true or false"),
        ({"opted_out": 1}, "$.opted_out", "true or false"),
        ({"created_at": {"$gt": "soon"}}, "$.created_at.$gt", "YYYY-MM-DD"),
        ({"price": {"$in": [1, None]}}, "$.price.$in[1]", "a number"),
        ({"price": float("nan")}, "$.price", "a number"),
        ({"price": float("inf")}, "$.price", "a number"),
        ({'a"b': 1}, '$.a"b', "letters, digits"),
        ({"1st": 1}, "$.1st", "letters, digits"),
    ],
)
def test_json_errors_name_the_path(obj: Any, path: str, expected: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_json(obj)
    assert caught.value.position == path, str(caught.value)
    assert expected in caught.value.expected, str(caught.value)
