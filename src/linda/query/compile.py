"""Filters to SQL over `contacts`, through SQLAlchemy: every value a bound parameter, the same rows on SQLite and
PostgreSQL (the semantics are in docs/filters.md; tests/query/reference.py is the same in Python).

Every predicate is two-valued: a missing field makes it false, and NOT/!= match exactly the other contacts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from linda.query.filters import (
    ATTRIBUTE_PREFIX,
    And,
    Between,
    Compare,
    CompareOp,
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
from linda.store.models import Contact, Conversation, Message
from linda.store.types import utcnow

Condition = ColumnElement[bool]
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()
_ASCII_LOWER = str.maketrans(_UPPER, _LOWER)
# Texts that every JSON writer Linda uses (json.dumps, orjson, SQLite's json functions) spells as themselves
# between two quotes: no escapes, no non-ASCII (json.dumps escapes it, orjson does not).
_SPELLED_AS_IS = re.compile(r"[A-Za-z0-9 _.,:;@#+*=~()\[\]{}|!?$%^-]*")
_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"
_DATE_REGEX = "^[0-9]{4}-[0-9]{2}-[0-9]{2}"
_INT64 = 2**63


def where_clause(expr: Expr, dialect_name: str = "sqlite", *, now: datetime | None = None) -> Condition:
    """The WHERE condition over `Contact` that selects the contacts `expr` matches.

    `dialect_name` is "sqlite" or "postgresql" (`Database.dialect`); `now` is the moment `in_service_window`
    is judged at (default: the current time)."""
    return _Compiler(dialect_name, now or utcnow()).compile(expr)


def select_contacts(
    expr: Expr, dialect_name: str = "sqlite", *, now: datetime | None = None
) -> Select[tuple[Contact]]:
    """`SELECT contacts ... WHERE <expr> ORDER BY id`."""
    statement: Select[tuple[Contact]] = select(Contact)
    return statement.where(where_clause(expr, dialect_name, now=now)).order_by(Contact.id)


def ascii_lower(text: str) -> str:
    """Lower case for A-Z only: what CONTAINS and STARTS WITH ignore (the same on both databases)."""
    return text.translate(_ASCII_LOWER)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _definite(condition: Condition) -> Condition:
    """true or false, never NULL (so that NOT is the exact complement)."""
    return case((condition, true()), else_=false())


def _compare(left: Any, op: CompareOp, right: Any) -> Condition:
    result: Condition = {
        "=": lambda: left == right,
        "!=": lambda: left != right,
        "<": lambda: left < right,
        "<=": lambda: left <= right,
        ">": lambda: left > right,
        ">=": lambda: left >= right,
    }[op]()
    return result


def _number(value: Value) -> int | float:
    assert isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(value, int) and -_INT64 <= value < _INT64:
        return value
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("numbers in filters are finite")
    return number


class _Compiler:
    def __init__(self, dialect_name: str, now: datetime) -> None:
        if dialect_name not in ("sqlite", "postgresql"):
            raise ValueError(f"filters compile for sqlite or postgresql, not {dialect_name!r}")
        self.pg = dialect_name == "postgresql"
        self.now = now

    def compile(self, expr: Expr) -> Condition:
        match expr:
            case And(parts):
                return and_(*(self.compile(p) for p in parts))
            case Or(parts):
                return or_(*(self.compile(p) for p in parts))
            case Not(part):
                return not_(_definite(self.compile(part)))
            case Compare(name, "!=", value):
                return self.compile(Not(Compare(name, "=", value)))
            case _:
                if expr.field.startswith(ATTRIBUTE_PREFIX) or kind_of(expr.field) is Kind.LIST:
                    return self.json_predicate(expr)
                return self.column_predicate(expr)

    # --- columns and computed fields ----------------------------------------------------------------------

    def column(self, name: str) -> Any:
        if name == "messages_count":
            return select(func.count(Message.id)).where(Message.contact_id == Contact.id).scalar_subquery()
        if name in ("last_inbound_at", "last_outbound_at"):
            column = getattr(Conversation, name)
            return select(func.max(column)).where(Conversation.contact_id == Contact.id).scalar_subquery()
        return getattr(Contact, name)

    def computed_bool(self, name: str) -> Condition | None:
        if name == "has_conversation":
            return exists().where(Conversation.contact_id == Contact.id)
        if name == "in_service_window":
            return exists().where(
                Conversation.contact_id == Contact.id, Conversation.window_expires_at > self.now
            )
        return None

    def column_predicate(self, expr: Expr) -> Condition:
        name: str = expr.field  # type: ignore[union-attr]
        kind = kind_of(name)
        flag = self.computed_bool(name)
        if flag is not None:
            return self.flag_predicate(flag, expr)
        column = self.column(name)
        match expr:
            case Exists():
                return column.is_not(None)  # type: ignore[no-any-return]
            case IsNull():
                return column.is_(None)  # type: ignore[no-any-return]
            case IsEmpty():
                return or_(column.is_(None), column == "") if kind is Kind.TEXT else column.is_(None)
            case IsTrue():
                return column == true()  # type: ignore[no-any-return]  # `= true`: PostgreSQL indexes it, IS not
            case Contains(_, text):
                return self.like(column, text, prefix=False)
            case StartsWith(_, text):
                return self.like(column, text, prefix=True)
            case In(_, values):
                return or_(*(self.column_compare(column, kind, "=", v) for v in values))
            case Between(_, low, high):
                return and_(
                    self.column_compare(column, kind, ">=", low),
                    self.column_compare(column, kind, "<=", high),
                )
            case Compare(_, op, value):
                return self.column_compare(column, kind, op, value)
        raise TypeError(f"not a predicate: {expr!r}")

    def flag_predicate(self, flag: Condition, expr: Expr) -> Condition:
        match expr:
            case IsTrue() | Exists():
                return flag if isinstance(expr, IsTrue) else true()
            case IsNull() | IsEmpty():
                return false()
            case Compare(_, "=", value):
                return flag if value else not_(flag)
            case In(_, values):
                return or_(*(flag if v else not_(flag) for v in values))
        raise TypeError(f"not a predicate on a true/false field: {expr!r}")

    def column_compare(self, column: Any, kind: Kind, op: CompareOp, value: Value) -> Condition:
        if kind is Kind.BOOL:  # opted_out: NOT NULL
            return _compare(column, op, true() if value else false())
        if kind is Kind.NUMBER:
            return _compare(column, op, _number(value))
        if kind is Kind.DATETIME:
            if isinstance(value, datetime):
                return _compare(column, op, value)
            assert isinstance(value, date)
            start, end = day_bounds(value)
            if op == "=":
                return and_(column >= start, column < end)
            if op in ("<", ">="):  # before the day / from its start
                return _compare(column, op, start)
            return _compare(column, "<" if op == "<=" else ">=", end)  # up to its end / after it
        return _compare(self.text(column) if op not in ("=", "!=") else column, op, value)

    def text(self, column: Any) -> Any:
        """Compared by code point (UTF-8 bytes): SQLite's BINARY, PostgreSQL's "C" collation."""
        return column.collate("C") if self.pg else column

    def like(self, column: Any, text: str, *, prefix: bool) -> Condition:
        pattern = ascii_lower(text)
        if self.pg:
            column = func.translate(column, _UPPER, _LOWER, type_=String)
        # SQLite's LIKE ignores the case of A-Z only, which is the rule here
        if prefix:
            return column.startswith(pattern, autoescape=True)  # type: ignore[no-any-return]
        return column.contains(pattern, autoescape=True)  # type: ignore[no-any-return]

    # --- attributes and tags: JSON values, a list matching when one of its elements does ---------------------

    def json_predicate(self, expr: Expr) -> Condition:
        name: str = expr.field  # type: ignore[union-attr]
        source: Any = Contact.tags
        key: str | None = None
        if name.startswith(ATTRIBUTE_PREFIX):
            source, key = Contact.attributes, name.removeprefix(ATTRIBUTE_PREFIX)
        match expr:
            case Exists():
                return _compare(self.json_type(source, key), "!=", "null")
            case IsNull():
                return _compare(self.json_type(source, key), "=", "null")
            case IsEmpty():
                return self.json_empty(source, key)
            case IsTrue():
                return self.any_element(source, key, lambda t, v: self.element_compare(t, v, "=", True))
            case Contains(_, text) | StartsWith(_, text):
                prefix = isinstance(expr, StartsWith)
                return self.any_element(
                    source, key, lambda t, v: and_(t == self.text_type, self.like(v, text, prefix=prefix))
                )
            case Compare(_, op, value):
                if self.pg and key is None and op == "=" and isinstance(value, str):
                    return self.pg_contains_tag(value)
                found = self.any_element(source, key, lambda t, v: self.element_compare(t, v, op, value))
                return self.mentioning(source, key, [value], found) if op == "=" else found
            case In(_, values):
                if self.pg and key is None and all(isinstance(v, str) for v in values):
                    return or_(*(self.pg_contains_tag(str(v)) for v in values))
                found = self.any_element(
                    source, key, lambda t, v: or_(*(self.element_compare(t, v, "=", one) for one in values))
                )
                return self.mentioning(source, key, values, found)
            case Between(_, low, high):
                return self.any_element(
                    source,
                    key,
                    lambda t, v: and_(
                        self.element_compare(t, v, ">=", low), self.element_compare(t, v, "<=", high)
                    ),
                )
        raise TypeError(f"not a predicate: {expr!r}")

    @property
    def text_type(self) -> str:
        return "string" if self.pg else "text"

    def pg_contains_tag(self, tag: str) -> Condition:
        """`tags @> '["tag"]'`: the same rows as the element test, and it can use a GIN index."""
        return Contact.tags.op("@>")(type_coerce([tag], JSONB))

    def mentioning(
        self, source: Any, key: str | None, texts: Sequence[Value], condition: Condition
    ) -> Condition:
        """`condition` (the value, or an element of it, equals one of `texts`) behind a cheaper test that every
        row it selects passes, so that most rows skip reading their JSON element by element (json_each,
        jsonb_array_elements): counts over a million contacts take a quarter to a half of the time."""
        if not texts or not all(isinstance(text, str) for text in texts):
            return condition
        if self.pg:  # containment: the attribute is the text or a list holding it (tags: pg_contains_tag)
            if key is None:
                return condition
            shapes = [shape for text in texts for shape in (text, [text])]
            held = or_(*(Contact.attributes.op("@>")(type_coerce({key: shape}, JSONB)) for shape in shapes))
            return and_(held, condition)
        if not all(_SPELLED_AS_IS.fullmatch(str(text)) for text in texts):
            return condition
        mentioned = or_(*(func.instr(source, f'"{text}"') > 0 for text in texts))  # the text, quoted
        return and_(mentioned, condition)

    def pg_value(self, source: Any, key: str | None) -> Any:
        return source if key is None else source[key]

    def sqlite_path(self, key: str | None) -> str:
        return "$" if key is None else '$."' + key + '"'  # keys are words: no quote can occur in them

    def json_type(self, source: Any, key: str | None) -> Any:
        """The JSON type of the value ('null' for a missing key or JSON null)."""
        if self.pg:
            return func.coalesce(func.jsonb_typeof(self.pg_value(source, key)), "null")
        return func.coalesce(func.json_type(source, self.sqlite_path(key)), "null")

    def json_empty(self, source: Any, key: str | None) -> Condition:
        kind = self.json_type(source, key)
        if self.pg:
            value = self.pg_value(source, key)
            return or_(
                kind == "null",
                value == type_coerce("", JSONB),
                value == type_coerce([], JSONB),
            )
        path = self.sqlite_path(key)
        return or_(
            kind == "null",
            and_(kind == "text", func.json_extract(source, path) == ""),
            and_(kind == "array", func.json_array_length(source, path) == 0),
        )

    def any_element(self, source: Any, key: str | None, test: Callable[[Any, Any], Condition]) -> Condition:
        """The value, or one element of it when it is a list, passes `test(json_type, value)`."""
        if self.pg:
            value = self.pg_value(source, key)
            listed = case((func.jsonb_typeof(value) == "array", value), else_=func.jsonb_build_array(value))
            elements = func.jsonb_array_elements(type_coerce(listed, JSONB)).table_valued("value")
            element = elements.c.value
            text = element.op("#>>", return_type=String)(literal_column("'{}'::text[]"))
            return exists(
                select(literal(1)).select_from(elements).where(test(func.jsonb_typeof(element), text))
            )
        path = self.sqlite_path(key)
        elements = func.json_each(source, path).table_valued("value", "type")
        found = exists(
            select(literal(1)).select_from(elements).where(test(elements.c.type, elements.c.value))
        )
        # json_each walks an object's members too; only a value or a list's elements count
        return and_(func.json_type(source, path) != "object", found)

    def element_compare(self, json_type: Any, value: Any, op: CompareOp, literal_value: Value) -> Condition:
        if isinstance(literal_value, bool):
            if self.pg:
                return and_(json_type == "boolean", value == ("true" if literal_value else "false"))
            return _compare(json_type, "=", "true" if literal_value else "false")
        if isinstance(literal_value, int | float):
            number = float(_number(literal_value))
            if self.pg:
                numeric = case((json_type == "number", type_coerce(value, String).cast(Float)))
                return and_(json_type == "number", _compare(numeric, op, number))
            return and_(json_type.in_(("integer", "real")), _compare(type_coerce(value, Float), op, number))
        if isinstance(literal_value, date):
            day = self.text(func.substr(value, 1, 10))
            shaped = value.op("~")(_DATE_REGEX) if self.pg else value.op("GLOB")(_DATE_GLOB)
            return and_(json_type == self.text_type, shaped, _compare(day, op, literal_value.isoformat()))
        return and_(json_type == self.text_type, _compare(self.text(value), op, literal_value))
