"""The filter language in plain Python: what the SQL must select, on contacts given as dictionaries.

A contact is a dict of its columns (id, phone, name, locale, opted_out, created_at, updated_at, tags,
attributes) and its computed fields (messages_count, last_inbound_at, last_outbound_at, has_conversation,
in_service_window).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from linda.query.compile import ascii_lower, day_bounds
from linda.query.filters import (
    ATTRIBUTE_PREFIX,
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
    Value,
    kind_of,
)

MISSING = object()
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def matches(expr: Expr, contact: dict[str, Any]) -> bool:
    match expr:
        case And(parts):
            return all(matches(p, contact) for p in parts)
        case Or(parts):
            return any(matches(p, contact) for p in parts)
        case Not(part):
            return not matches(part, contact)
        case Compare(name, "!=", value):
            return not matches(Compare(name, "=", value), contact)
    name = expr.field
    if name.startswith(ATTRIBUTE_PREFIX) or kind_of(name) is Kind.LIST:
        if name.startswith(ATTRIBUTE_PREFIX):
            value = contact["attributes"].get(name.removeprefix(ATTRIBUTE_PREFIX), MISSING)
        else:
            value = contact["tags"]
        return _json(expr, value)
    return _column(expr, kind_of(name), contact[name])


def _column(expr: Expr, kind: Kind, value: Any) -> bool:
    match expr:
        case Exists():
            return value is not None
        case IsNull():
            return value is None
        case IsEmpty():
            return value is None or value == ""
        case IsTrue():
            return value is True
        case Contains(_, text):
            return value is not None and ascii_lower(text) in ascii_lower(value)
        case StartsWith(_, text):
            return value is not None and ascii_lower(value).startswith(ascii_lower(text))
        case In(_, values):
            return any(_column_compare(kind, value, "=", v) for v in values)
        case Between(_, low, high):
            return _column_compare(kind, value, ">=", low) and _column_compare(kind, value, "<=", high)
        case Compare(_, op, literal):
            return _column_compare(kind, value, op, literal)
    raise TypeError(expr)


def _column_compare(kind: Kind, value: Any, op: str, literal: Value) -> bool:
    if value is None:
        return False
    if kind is Kind.DATETIME and not isinstance(literal, datetime):
        assert isinstance(literal, date)
        start, end = day_bounds(literal)
        if op == "=":
            return bool(start <= value < end)
        if op in ("<", ">="):
            return OPS[op](value, start)
        return OPS["<" if op == "<=" else ">="](value, end)
    return OPS[op](value, literal)


def _json(expr: Expr, value: Any) -> bool:
    match expr:
        case Exists():
            return value is not MISSING and value is not None
        case IsNull():
            return value is MISSING or value is None
        case IsEmpty():
            return value is MISSING or value is None or value == "" or value == []
    if value is MISSING or isinstance(value, dict):
        return False
    elements = value if isinstance(value, list) else [value]
    return any(_element(expr, element) for element in elements)


def _element(expr: Expr, element: Any) -> bool:
    match expr:
        case IsTrue():
            return element is True
        case Contains(_, text):
            return isinstance(element, str) and ascii_lower(text) in ascii_lower(element)
        case StartsWith(_, text):
            return isinstance(element, str) and ascii_lower(element).startswith(ascii_lower(text))
        case In(_, values):
            return any(_element_compare(element, "=", v) for v in values)
        case Between(_, low, high):
            return _element_compare(element, ">=", low) and _element_compare(element, "<=", high)
        case Compare(_, op, literal):
            return _element_compare(element, op, literal)
    raise TypeError(expr)


def _element_compare(element: Any, op: str, literal: Value) -> bool:
    if isinstance(literal, bool):
        return element is literal
    if isinstance(literal, int | float):
        number = isinstance(element, int | float) and not isinstance(element, bool)
        return number and OPS[op](float(element), float(literal))
    if isinstance(literal, date):
        if not (isinstance(element, str) and DATE_SHAPE.match(element)):
            return False
        return OPS[op](element[:10], literal.isoformat())
    return isinstance(element, str) and OPS[op](element, literal)
