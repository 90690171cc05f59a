"""The filter language's two forms, read into one tree (see docs/filters.md).

String form, by precedence from loose to tight: `OR`, `AND`, `NOT`, then a predicate or a parenthesized filter.
A predicate is `field = value` (also `!= < <= > >=`), `field IN [v, ...]`, `field low TO high`,
`field CONTAINS "text"`, `field STARTS WITH "text"`, `field EXISTS`, `field IS [NOT] NULL`,
`field IS [NOT] EMPTY`, or a bare field (true when the field is true). Keywords are case-insensitive.

JSON form: `{"$and": [...]}`, `{"$or": [...]}`, `{"$not": {...}}`, `{"field": value}` (equality) and
`{"field": {"$eq|$ne|$lt|$lte|$gt|$gte": v, "$in": [...], "$nin": [...], "$between": [lo, hi],
"$contains": "t", "$startsWith": "t", "$exists": bool, "$isNull": bool, "$isEmpty": bool}}`; several keys in
one object are all required. Dates are `{"$date": "2026-10-01"}` (plain strings are dates on date fields).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from linda.query.filters import (
    And,
    Between,
    Compare,
    CompareOp,
    Contains,
    Exists,
    Expr,
    FilterError,
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
    normalize_field,
)

KEYWORDS = frozenset(
    {
        "AND",
        "OR",
        "NOT",
        "IN",
        "TO",
        "CONTAINS",
        "STARTS",
        "WITH",
        "EXISTS",
        "IS",
        "NULL",
        "EMPTY",
        "TRUE",
        "FALSE",
    }
)
MAX_LENGTH = 10_000
MAX_DEPTH = 50
_OPS: frozenset[str] = frozenset({"=", "!=", "<", "<=", ">", ">="})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<word>[^\W\d][\w.\-]*)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<punct>[()\[\],])
    """,
    re.VERBOSE,
)
_FIELD_NAME = re.compile(r"[^\W\d][\w.\-]*")  # the same as a word of the string form
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str  # datetime, date, number, string, word, keyword, op, punct, end
    text: str
    position: int
    value: Value | None = None


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            what = "an unterminated string" if text[position] in "\"'" else f"unexpected {text[position]!r}"
            raise FilterError(what.capitalize(), position, "a field, a value, an operator or a parenthesis")
        kind = match.lastgroup or ""
        raw = match.group()
        end = match.end()
        if kind != "space":
            if (
                kind in ("number", "date", "datetime")
                and end < len(text)
                and (text[end].isalnum() or text[end] == "_")
            ):
                raise FilterError(f"Malformed {kind} {raw + text[end]!r}", position, f"a {kind}")
            tokens.append(_token(kind, raw, position))
        position = end
    tokens.append(Token("end", "", len(text)))
    return tokens


def _token(kind: str, raw: str, position: int) -> Token:
    if kind == "word" and raw.upper() in KEYWORDS:
        upper = raw.upper()
        if upper in ("TRUE", "FALSE"):
            return Token("value", raw, position, upper == "TRUE")
        return Token("keyword", upper, position)
    if kind == "number":
        number = float(raw) if any(c in raw for c in ".eE") else int(raw)
        if not math.isfinite(number):
            raise FilterError(f"Number {raw} is too large", position, "a number")
        return Token("value", raw, position, number)
    if kind == "string":
        return Token("value", raw, position, _unquote(raw[1:-1]))
    if kind in ("date", "datetime"):
        return Token("value", raw, position, _date(raw, position))
    return Token(kind, raw, position)


def _unquote(body: str) -> str:
    """JSON's escapes (\\n, \\u0041, ...); a backslash before any other character keeps that character."""
    return _ESCAPE.sub(_unescape, body)


def _unescape(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if len(escaped) == 5:
        return chr(int(escaped[1:], 16))
    return _ESCAPES.get(escaped, escaped)


def _date(raw: str, position: int | str) -> date | datetime:
    try:
        if "T" not in raw:
            return date.fromisoformat(raw)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise FilterError(
            f"Invalid date {raw!r}", position, "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def keyword(self, *words: str) -> bool:
        if self.token.kind == "keyword" and self.token.text in words:
            self.index += 1
            return True
        return False

    def fail(self, expected: str) -> FilterError:
        token = self.token
        found = "end of the filter" if token.kind == "end" else repr(token.text)
        return FilterError(f"Unexpected {found}", token.position, expected)

    def parse(self) -> Expr:
        if self.token.kind == "end":
            raise self.fail("a filter")
        expr = self.parse_or()
        if self.token.kind != "end":
            raise self.fail("AND, OR or the end of the filter")
        return expr

    def parse_or(self) -> Expr:
        parts = [self.parse_and()]
        while self.keyword("OR"):
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self) -> Expr:
        parts = [self.parse_not()]
        while self.keyword("AND"):
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self) -> Expr:
        if self.keyword("NOT"):
            return Not(self.nested(self.parse_not))
        if self.token.kind == "punct" and self.token.text == "(":
            self.advance()
            expr = self.nested(self.parse_or)
            if not (self.token.kind == "punct" and self.token.text == ")"):
                raise self.fail("')', AND or OR")
            self.advance()
            return expr
        return self.parse_predicate()

    def nested(self, parse: Any) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"at most {MAX_DEPTH} levels of NOT and parentheses")
        expr: Expr = parse()
        self.depth -= 1
        return expr

    def parse_predicate(self) -> Expr:
        token = self.token
        if token.kind != "word":
            raise self.fail("a field name, NOT or '('")
        self.advance()
        name = normalize_field(token.text)
        at = self.token
        if at.kind == "op":
            self.advance()
            return check(Compare(name, cast(CompareOp, at.text), self.value()), at.position)
        if self.keyword("IN"):
            return check(In(name, self.values()), at.position)
        if self.keyword("CONTAINS"):
            return check(Contains(name, self.text()), at.position)
        if self.keyword("STARTS"):
            if not self.keyword("WITH"):
                raise self.fail("WITH")
            return check(StartsWith(name, self.text()), at.position)
        if self.keyword("EXISTS"):
            return check(Exists(name), at.position)
        if self.keyword("IS"):
            negated = self.keyword("NOT")
            if self.keyword("NULL"):
                expr: Expr = check(IsNull(name), at.position)
            elif self.keyword("EMPTY"):
                expr = check(IsEmpty(name), at.position)
            else:
                raise self.fail("NULL, EMPTY or NOT")
            return Not(expr) if negated else expr
        if at.kind in ("value", "word"):
            low = self.value()
            if not self.keyword("TO"):
                raise self.fail("TO")
            return check(Between(name, low, self.value()), at.position)
        if at.kind == "end" or at.text in ("AND", "OR", ")"):
            return check(IsTrue(name), token.position)
        raise self.fail("an operator (= != < <= > >= IN TO CONTAINS STARTS WITH EXISTS IS), AND, OR or ')'")

    def value(self) -> Value:
        token = self.token
        if token.kind == "value" and token.value is not None:
            self.advance()
            return token.value
        if token.kind == "word":  # a bare word is text: tag = owner
            self.advance()
            return token.text
        raise self.fail("a value (a number, a date, true, false, a word or a quoted text)")

    def text(self) -> str:
        token = self.token
        value = self.value()
        if not isinstance(value, str):
            raise FilterError(f"Unexpected {token.text!r}", token.position, "a quoted text")
        return value

    def values(self) -> tuple[Value, ...]:
        if not (self.token.kind == "punct" and self.token.text == "["):
            raise self.fail("'[' opening a list of values")
        self.advance()
        values = [self.value()]
        while self.token.kind == "punct" and self.token.text == ",":
            self.advance()
            values.append(self.value())
        if not (self.token.kind == "punct" and self.token.text == "]"):
            raise self.fail("',' or ']'")
        self.advance()
        return tuple(values)


def parse(text: str) -> Expr:
    """The tree of a filter in the string form; FilterError with the position of the first mistake."""
    return _Parser(text).parse()


def check(expr: Expr, position: int | str) -> Expr:
    """The predicate if its field can take its operator and values; FilterError otherwise."""
    match expr:
        case Compare(name, op, value):
            _check_values(name, (value,), position, ordered=op not in ("=", "!="))
        case In(name, values):
            _check_values(name, values, position, ordered=False)
        case Between(name, low, high):
            _check_values(name, (low, high), position, ordered=True)
            if _family(low) != _family(high):
                raise FilterError(
                    "The ends of a range differ in type", position, "two numbers, dates or texts"
                )
        case Contains(name, _) | StartsWith(name, _):
            if kind_of(name) not in (Kind.TEXT, Kind.LIST, Kind.ANY):
                raise FilterError(f"`{name}` is not a text", position, _expected(name))
        case IsTrue(name):
            if kind_of(name) not in (Kind.BOOL, Kind.ANY):
                raise FilterError(f"`{name}` is not true or false", position, "an operator after the field")
    return expr


_FAMILY_OF_KIND = {
    Kind.TEXT: "text",
    Kind.LIST: "text",
    Kind.NUMBER: "number",
    Kind.DATETIME: "date",
    Kind.BOOL: "bool",
}


def _family(value: Value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return "text"


def _expected(name: str) -> str:
    return {
        Kind.TEXT: "a text",
        Kind.LIST: "a text",
        Kind.NUMBER: "a number",
        Kind.DATETIME: "a date",
        Kind.BOOL: "true or false",
        Kind.ANY: "a number, a date, a text, true or false",
    }[kind_of(name)]


def _check_values(name: str, values: tuple[Value, ...], position: int | str, *, ordered: bool) -> None:
    kind = kind_of(name)
    for value in values:
        family = _family(value)
        if kind is Kind.ANY:
            ok = family != "datetime" and not (ordered and family == "bool")
        elif kind is Kind.DATETIME:
            ok = family in ("date", "datetime")
        else:
            ok = family == _FAMILY_OF_KIND[kind] and not (ordered and family == "bool")
        if not ok:
            message = f"{format_value_kind(family)} cannot be compared with `{name}`"
            if ordered and family == "bool" and kind in (Kind.BOOL, Kind.ANY):
                message = "true and false have no order"
            raise FilterError(message, position, _expected(name))


def format_value_kind(family: str) -> str:
    return {"bool": "true/false", "number": "A number", "date": "A date", "datetime": "A date and time"}.get(
        family, "A text"
    )


# --- the JSON form -----------------------------------------------------------------------------------------

_JSON_OPS: dict[str, CompareOp] = {
    "$eq": "=",
    "$ne": "!=",
    "$lt": "<",
    "$lte": "<=",
    "$gt": ">",
    "$gte": ">=",
}


def parse_json(obj: Any) -> Expr:
    """The tree of a filter in the JSON form; FilterError naming the JSON path of the first mistake."""
    return _json_expr(obj, "$", 0)


def _json_expr(obj: Any, path: str, depth: int) -> Expr:
    if depth > MAX_DEPTH:
        raise FilterError("Too deeply nested", path, f"at most {MAX_DEPTH} levels")
    if not isinstance(obj, dict) or not obj:
        raise FilterError("Not a filter", path, 'an object such as {"tag": "owner"}')
    parts = [_json_entry(key, value, f"{path}.{key}", depth) for key, value in obj.items()]
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _json_entry(key: Any, value: Any, path: str, depth: int) -> Expr:
    if key in ("$and", "$or"):
        if not isinstance(value, list) or not value:
            raise FilterError(f"{key} takes a list", path, "a non-empty list of filters")
        parts = tuple(_json_expr(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        if len(parts) == 1:
            return parts[0]
        return And(parts) if key == "$and" else Or(parts)
    if key == "$not":
        return Not(_json_expr(value, path, depth + 1))
    if not isinstance(key, str) or key.startswith("$") or not key:
        raise FilterError(f"Unknown operator {key!r}", path, "$and, $or, $not or a field name")
    if not _FIELD_NAME.fullmatch(key):
        raise FilterError(f"Not a field name: {key!r}", path, "letters, digits, _, - and . (not first)")
    name = normalize_field(key)
    if not isinstance(value, dict) or "$date" in value:
        return check(Compare(name, "=", _json_value(name, value, path)), path)
    if not value:
        raise FilterError("Empty condition", path, "an operator such as $eq")
    conditions = [_json_condition(name, op, arg, f"{path}.{op}") for op, arg in value.items()]
    return conditions[0] if len(conditions) == 1 else And(tuple(conditions))


def _json_condition(name: str, op: str, arg: Any, path: str) -> Expr:
    if op in _JSON_OPS:
        return check(Compare(name, _JSON_OPS[op], _json_value(name, arg, path)), path)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list) or not arg:
            raise FilterError(f"{op} takes a list", path, "a non-empty list of values")
        expr = check(In(name, tuple(_json_value(name, v, f"{path}[{i}]") for i, v in enumerate(arg))), path)
        return Not(expr) if op == "$nin" else expr
    if op == "$between":
        if not isinstance(arg, list) or len(arg) != 2:
            raise FilterError("$between takes two values", path, "[low, high]")
        low, high = (_json_value(name, v, f"{path}[{i}]") for i, v in enumerate(arg))
        return check(Between(name, low, high), path)
    if op in ("$contains", "$startsWith"):
        if not isinstance(arg, str):
            raise FilterError(f"{op} takes a text", path, "a text")
        return check(Contains(name, arg) if op == "$contains" else StartsWith(name, arg), path)
    if op in ("$exists", "$isNull", "$isEmpty"):
        if not isinstance(arg, bool):
            raise FilterError(f"{op} takes true or false", path, "true or false")
        test: Expr = Exists(name) if op == "$exists" else IsNull(name) if op == "$isNull" else IsEmpty(name)
        return test if arg else Not(test)
    raise FilterError(
        f"Unknown operator {op!r}",
        path,
        "$eq $ne $lt $lte $gt $gte $in $nin $between $contains $startsWith $exists $isNull $isEmpty",
    )


def _json_value(name: str, value: Any, path: str) -> Value:
    if isinstance(value, dict) and set(value) == {"$date"} and isinstance(value["$date"], str):
        return _date(value["$date"], path)
    if isinstance(value, str) and kind_of(name) is Kind.DATETIME:
        return _date(value, path)
    if isinstance(value, bool | int | float | str):
        if isinstance(value, float) and not math.isfinite(value):
            raise FilterError(f"{value} is not a value", path, "a number")
        return value
    raise FilterError("Not a value", path, 'a number, a text, true, false or {"$date": "YYYY-MM-DD"}')
