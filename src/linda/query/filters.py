"""The filter language's tree: frozen dataclasses that both forms (string and JSON) parse into.

Fields are normalized: `tag` becomes `tags`, a name that is not a known field becomes `attributes.<name>`.
`format_filter` writes a tree back in the string form (parse(format_filter(e)) == e).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Literal

Value = str | int | float | bool | date | datetime
CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]


class FilterError(ValueError):
    """A filter that cannot be read or compiled: what went wrong, where (a character offset in the string form,
    a JSON path in the JSON form), and what was expected there."""

    def __init__(self, message: str, position: int | str, expected: str = "") -> None:
        where = f"at position {position}" if isinstance(position, int) else f"at {position}"
        text = f"{message} {where}" + (f"; expected {expected}" if expected else "")
        super().__init__(text)
        self.message = message
        self.position = position
        self.expected = expected


class Kind(Enum):
    TEXT = "text"
    NUMBER = "number"
    DATETIME = "datetime"
    BOOL = "bool"
    LIST = "list"  # a JSON list of texts (tags)
    ANY = "any"  # an attribute: typed by the literal it is compared with


FIELDS: dict[str, Kind] = {
    "id": Kind.NUMBER,
    "phone": Kind.TEXT,
    "name": Kind.TEXT,
    "locale": Kind.TEXT,
    "opted_out": Kind.BOOL,
    "created_at": Kind.DATETIME,
    "updated_at": Kind.DATETIME,
    "tags": Kind.LIST,
    "messages_count": Kind.NUMBER,
    "last_inbound_at": Kind.DATETIME,
    "last_outbound_at": Kind.DATETIME,
    "has_conversation": Kind.BOOL,
    "in_service_window": Kind.BOOL,
}
ALIASES = {"tag": "tags"}
ATTRIBUTE_PREFIX = "attributes."


def normalize_field(name: str) -> str:
    """`tag` -> `tags`, `price` -> `attributes.price`; known fields and `attributes.x` stay."""
    name = ALIASES.get(name, name)
    if name in FIELDS or name.startswith(ATTRIBUTE_PREFIX):
        return name
    return ATTRIBUTE_PREFIX + name


def kind_of(name: str) -> Kind:
    return FIELDS.get(name, Kind.ANY)


@dataclass(frozen=True)
class Compare:
    field: str
    op: CompareOp
    value: Value


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Between:
    """`field low TO high`, both ends included."""

    field: str
    low: Value
    high: Value


@dataclass(frozen=True)
class Contains:
    field: str
    text: str


@dataclass(frozen=True)
class StartsWith:
    field: str
    text: str


@dataclass(frozen=True)
class Exists:
    field: str


@dataclass(frozen=True)
class IsNull:
    field: str


@dataclass(frozen=True)
class IsEmpty:
    field: str


@dataclass(frozen=True)
class IsTrue:
    """A bare field: `opted_out`, `vip` (an attribute that is JSON true)."""

    field: str


@dataclass(frozen=True)
class And:
    parts: tuple[Expr, ...] = field(default=())


@dataclass(frozen=True)
class Or:
    parts: tuple[Expr, ...] = field(default=())


@dataclass(frozen=True)
class Not:
    part: Expr


Predicate = Compare | In | Between | Contains | StartsWith | Exists | IsNull | IsEmpty | IsTrue
Expr = Predicate | And | Or | Not


def format_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _field_text(name: str) -> str:
    if name.startswith(ATTRIBUTE_PREFIX):
        bare = name.removeprefix(ATTRIBUTE_PREFIX)
        # a bare name reads back as the same attribute unless it is a field, an alias or a keyword
        from linda.query.grammar import KEYWORDS

        if bare in FIELDS or bare in ALIASES or bare.upper() in KEYWORDS:
            return name
        return bare
    return name


def format_filter(expr: Expr) -> str:
    """The string form of a tree, fully parenthesized where precedence needs it."""
    match expr:
        case And(parts):
            return " AND ".join(_group(p, (And, Or)) for p in parts)
        case Or(parts):
            return " OR ".join(_group(p, Or) for p in parts)
        case Not(part):
            return "NOT " + _group(part, (And, Or))
        case Compare(name, op, value):
            return f"{_field_text(name)} {op} {format_value(value)}"
        case In(name, values):
            return f"{_field_text(name)} IN [{', '.join(format_value(v) for v in values)}]"
        case Between(name, low, high):
            return f"{_field_text(name)} {format_value(low)} TO {format_value(high)}"
        case Contains(name, text):
            return f"{_field_text(name)} CONTAINS {format_value(text)}"
        case StartsWith(name, text):
            return f"{_field_text(name)} STARTS WITH {format_value(text)}"
        case Exists(name):
            return f"{_field_text(name)} EXISTS"
        case IsNull(name):
            return f"{_field_text(name)} IS NULL"
        case IsEmpty(name):
            return f"{_field_text(name)} IS EMPTY"
        case IsTrue(name):
            return _field_text(name)
    raise TypeError(f"not a filter: {expr!r}")


def _group(expr: Expr, wrap: type | tuple[type, ...]) -> str:
    text = format_filter(expr)
    return f"({text})" if isinstance(expr, wrap) else text
