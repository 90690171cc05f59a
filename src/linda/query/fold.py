"""Text folding for full-text search: one function for what is indexed and what is asked.

`fold` is NFKC, lower case, then one character table (Arabic and Urdu letter forms to one form, tashkeel and
tatweel removed, Latin accents and Russian ё dropped, punctuation and every kind of space to a space), then
each Chinese or Japanese character set apart by spaces, so that it is a word of its own. Devanagari, Cyrillic and
the rest are kept. The indexed form is padded with a space at each end: a needle " ok" finds words that begin
with "ok", and " 京 " finds the character 京 anywhere in Chinese text.

SQLite calls `fold` itself from the index triggers (`register_sqlite` adds it to each connection as
`linda_fold`); PostgreSQL runs the same steps in SQL (`pg_fold_sql`), built from the same table.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import Any

# Chinese (Han), Japanese kana: each character is a word.
CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"([{CJK_CLASS}])")
_CJK_SPACE = re.compile(f"(?<=[{CJK_CLASS}]) (?=[{CJK_CLASS}])")

_ARABIC_FORMS = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ى": "ي",
    "ة": "ه",
    "ؤ": "و",
    "ئ": "ي",
    "ک": "ك",  # Urdu/Persian keheh
    "ی": "ي",  # Farsi yeh
    "ۍ": "ي",
    "ہ": "ه",  # Urdu heh goal
    "ۂ": "ه",
    "ە": "ه",
    "ھ": "ه",  # heh doachashmee
}
# tashkeel (fathatan .. sukun and the rarer marks), superscript alef, tatweel
_ARABIC_MARKS = [chr(c) for c in range(0x064B, 0x0660)] + ["\u0670", "\u0640"]
_PUNCTUATION = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¦§«¬¯°±´¶·»¿×÷"
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026"
    "\u2030\u2032\u2033\u2039\u203a\u203c\u2047\u2048\u2049"
    "\u060c\u061b\u061f\u066a\u066b\u066c\u06d4"  # Arabic comma, semicolon, question mark, %, Urdu full stop
    "\u0964\u0965"  # Devanagari danda, double danda
    "\u3001\u3002\u3008\u3009\u300a\u300b\u300c\u300d\u300e\u300f\u3010\u3011\u3014\u3015\u301c\u30fb"
)
_SPACES = "".join(chr(c) for c in range(0x3100) if chr(c).isspace() and chr(c) != " ") + "\u3000\ufeff"


def _latin_accents() -> dict[str, str]:
    plain: dict[str, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        if char != char.lower():
            continue
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            plain[char] = base
    return plain


def _table() -> dict[str, str]:
    table: dict[str, str] = {**_latin_accents(), "ё": "е", **_ARABIC_FORMS}
    table.update(dict.fromkeys(_ARABIC_MARKS, ""))
    table.update(dict.fromkeys(_PUNCTUATION + _SPACES, " "))
    return table


FOLD_TABLE: dict[str, str] = _table()
_TRANSLATE = str.maketrans(FOLD_TABLE)


def _ascii_table() -> bytes:
    """The same folding for ASCII text as a bytes.translate table (NFKC leaves ASCII as it is)."""
    folded = [chr(code).lower().translate(_TRANSLATE) for code in range(128)]
    assert all(len(char) == 1 for char in folded), "ASCII folds one character to one"
    return "".join(folded).encode() + bytes(range(128, 256))


_ASCII = _ascii_table()


def fold(text: str | None) -> str:
    """The searchable form of `text`: folded, words separated by single spaces, no padding."""
    if not text:
        return ""
    if text.isascii():  # most names, phones and attributes: several times faster, same result
        return " ".join(text.encode().translate(_ASCII).decode().split())
    folded = unicodedata.normalize("NFKC", text).lower().translate(_TRANSLATE)
    return " ".join(_CJK.sub(r" \1 ", folded).split())


def fold_document(text: str | None) -> str:
    """The indexed form: `fold(text)` with a space at each end."""
    return f" {fold(text)} "


def is_cjk(char: str) -> bool:
    return _CJK.fullmatch(char) is not None


def _tokens(query: str) -> list[str]:
    """Words of a query; text in double quotes stays one phrase (an unclosed quote runs to the end)."""
    parts = query.split('"')
    tokens: list[str] = []
    for index, part in enumerate(parts):
        tokens.extend([part] if index % 2 else part.split())
    return tokens


def needles(query: str) -> list[str]:
    """What an indexed document must contain, each as a substring, to match `query` (all of them).

    A term of three characters or more is found anywhere; a shorter one is a word (one letter, or a Chinese or
    Japanese character) or the start of a word (two letters). Nothing in a query is syntax but double quotes.
    """
    found: list[str] = []
    for token in _tokens(query):
        term = fold(token)
        if not term:
            continue
        if len(term) >= 3:
            needle = term
        elif len(term) == 2:
            needle = f" {term}"
        else:
            needle = f" {term} "
        if needle not in found:
            found.append(needle)
    return found


def fts5_query(found: list[str]) -> str:
    """An FTS5 MATCH expression (trigram tokenizer) for `needles`: each a quoted string, all required."""
    return " AND ".join('"' + needle.replace('"', '""') + '"' for needle in found)


def like_pattern(needle: str) -> str:
    """A LIKE pattern (escape character backslash) that finds `needle` anywhere."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _pg_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pg_fold_sql(argument: str, *, ascii_only: bool = False) -> str:
    """`fold_document` as a PostgreSQL expression over `argument` (for the migrations' SQL function). With
    `ascii_only`, the same for text that is all ASCII: NFKC and the CJK spacing change nothing there, and only
    the table's ASCII entries can apply (PostgreSQL's translate reads the whole table for every character)."""
    table = {k: v for k, v in FOLD_TABLE.items() if k.isascii() or not ascii_only}
    ones = {k: v for k, v in table.items() if v}
    gone = [k for k, v in table.items() if not v]
    source, target = _pg_literal("".join(ones) + "".join(gone)), _pg_literal("".join(ones.values()))
    if ascii_only:
        folded = f"translate(lower(coalesce({argument}, '')), {source}, {target})"
    else:
        translated = f"translate(lower(normalize(coalesce({argument}, ''), NFKC)), {source}, {target})"
        folded = f"regexp_replace({translated}, '([{CJK_CLASS}])', ' \\1 ', 'g')"
    return f"' ' || btrim(regexp_replace({folded}, ' +', ' ', 'g')) || ' '"


def pg_fold_function_sql(argument: str) -> str:
    """The body of PostgreSQL's linda_fold since revision 0010: ASCII text takes the short way."""
    return (
        f"CASE WHEN {argument} ~ '^[\\x01-\\x7f]*$' THEN {pg_fold_sql(argument, ascii_only=True)} "
        f"ELSE {pg_fold_sql(argument)} END"
    )


# A contact's indexed text: its name and attribute values. Its phone number is not in it: phone searches use the
# phone column's own index (linda.query.search), and digits would make the largest part of this index.
SQLITE_CONTACT_DOCUMENT = (
    "linda_fold(coalesce({r}.name, '') || ' ' || "
    "coalesce((SELECT group_concat(value, ' ') FROM json_each({r}.attributes)), ''))"
)


_fold_value = functools.lru_cache(maxsize=1 << 16)(fold)


def contact_document(name: str | None, attributes: dict[str, Any]) -> str:
    """SQLITE_CONTACT_DOCUMENT computed in Python, for writers that index contacts themselves (imports): the
    same folded text for text attributes and lists of them, the values imports write.

    Folding is done value by value, and remembered: a list repeats its communities, cities and statuses on
    every row. Folding text joined by a space is folding each piece and joining the non-empty results (each
    step works within a character, or within a run that a space ends; a test holds the two equal)."""
    pieces = [_fold_value(name)] if name else []
    for value in attributes.values():
        if value is not None:
            pieces.append(
                _fold_value(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            )
    return f" {' '.join(piece for piece in pieces if piece)} "


SQLITE_REBUILD = (
    "DELETE FROM messages_fts",
    "INSERT INTO messages_fts (rowid, body) SELECT id, linda_fold(text) FROM messages WHERE text IS NOT NULL",
    "DELETE FROM contacts_fts",
    f"INSERT INTO contacts_fts (rowid, body) SELECT id, {SQLITE_CONTACT_DOCUMENT.format(r='contacts')} "
    "FROM contacts",
)


def register_sqlite(dbapi_connection: Any) -> None:
    """Give a SQLite connection `linda_fold(text)`, which the search index triggers call."""
    dbapi_connection.create_function("linda_fold", 1, fold_document, deterministic=True)


# Snippets ---------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    return unicodedata.normalize("NFKC", char).lower().translate(_TRANSLATE)


def _needle_pattern(needle: str) -> re.Pattern[str] | None:
    compact = _CJK_SPACE.sub("", needle.strip())
    if not compact:
        return None
    return re.compile(" +".join(re.escape(word) for word in compact.split(" ")))


def highlight(
    text: str, found: list[str], *, width: int = 80, start: str = "[", end: str = "]"
) -> tuple[str, bool]:
    """A window of about `width` characters of `text` around its first match, the matches between `start` and
    `end`, "…" where text is cut; and whether anything matched."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        piece = _fold_char(char)
        folded.extend(piece)
        origin.extend([index] * len(piece))
    flat = "".join(folded)
    spans: list[tuple[int, int]] = []
    for needle in found:
        pattern = _needle_pattern(needle)
        if pattern is None:
            continue
        for match in pattern.finditer(flat):
            if match.end() > match.start():
                spans.append((origin[match.start()], origin[match.end() - 1] + 1))
    spans = _merge(spans)
    first = spans[0][0] if spans else 0
    lo = max(0, min(first - width // 3, len(text) - width))
    hi = min(len(text), lo + width)
    pieces = ["…" if lo > 0 else ""]
    at = lo
    for a, b in spans:
        if b <= lo or a >= hi:
            continue
        a, b = max(a, lo), min(b, hi)
        pieces += [text[at:a], start, text[a:b], end]
        at = b
    pieces += [text[at:hi], "…" if hi < len(text) else ""]
    return "".join(pieces), bool(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
