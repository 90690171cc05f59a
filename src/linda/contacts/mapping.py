"""Which column holds what: a mapping given as `field=Column`, or detected from the header."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from linda.contacts.sources import SourceError

FIELDS = ("phone", "name", "locale", "tags")
_PHONE = {
    "phone", "phonenumber", "mobile", "mobilenumber", "mobileno", "mobile1", "mobile2", "secondmobile",
    "mobile2nd", "othermobile", "whatsapp", "whatsappnumber", "tel", "telephone", "cell", "cellphone",
    "msisdn", "contactnumber", "number", "phone1", "phone2", "هاتف", "الهاتف", "جوال", "الجوال", "موبايل",
    "رقمالهاتف", "رقمالجوال", "رقمالموبايل",
}  # fmt: skip
_NAME = {"name", "fullname", "contactname", "clientname", "customername", "ownername", "الاسم", "اسم"}
_LOCALE = {"locale", "language", "lang"}
_TAGS = {"tags", "tag", "labels"}


def _key(header: str) -> str:
    return re.sub(r"[\W_]+", "", header.casefold())


@dataclass
class Mapping:
    """Column indexes per field; `attributes` pairs a column with its attribute name."""

    phones: list[int]
    name: int | None = None
    locale: int | None = None
    tags: int | None = None
    attributes: list[tuple[int, str]] = field(default_factory=list)

    def describe(self, header: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"phone": [header[i] for i in self.phones]}
        for name in ("name", "locale", "tags"):
            index = getattr(self, name)
            if index is not None:
                out[name] = [header[index]]
        for index, attribute in self.attributes:
            out[f"attributes.{attribute}"] = [header[index]]
        return out


def parse_map_options(items: list[str]) -> dict[str, list[str]]:
    """`["phone=Mobile", "phone=Mobile 2", "name=Owner"]` as `{"phone": ["Mobile", "Mobile 2"], ...}`."""
    given: dict[str, list[str]] = {}
    for item in items:
        target, sep, column = item.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise SourceError(f"--map {item!r}: write it as field=Column, e.g. phone=Mobile")
        given.setdefault(target.strip(), []).append(column.strip())
    return given


def resolve(header: list[str], given: dict[str, list[str]] | None) -> Mapping:
    """The mapping for `header`: `given` (only the columns it names are read) or detected (every other
    non-empty column becomes an attribute of that name)."""
    if given:
        return _given(header, given)
    mapping = Mapping(phones=[])
    for index, title in enumerate(header):
        key = _key(title)
        if not key:
            continue
        if key in _PHONE or key.startswith(("phone", "mobile", "tel")):
            mapping.phones.append(index)
        elif key in _NAME and mapping.name is None:
            mapping.name = index
        elif key in _LOCALE and mapping.locale is None:
            mapping.locale = index
        elif key in _TAGS and mapping.tags is None:
            mapping.tags = index
        else:
            mapping.attributes.append((index, title))
    if not mapping.phones:
        raise SourceError(
            f"no phone column found among {', '.join(map(repr, header))}; name it with --map phone=COLUMN"
        )
    return mapping


def _given(header: list[str], given: dict[str, list[str]]) -> Mapping:
    by_title = {title.casefold(): index for index, title in enumerate(header)}

    def column(name: str) -> int:
        index = by_title.get(name.casefold())
        if index is None:
            raise SourceError(f"no column {name!r}; the columns are {', '.join(map(repr, header))}")
        return index

    mapping = Mapping(phones=[column(name) for name in given.get("phone", [])])
    if not mapping.phones:
        raise SourceError("the mapping names no phone column: add --map phone=COLUMN")
    for target, columns in given.items():
        if target == "phone":
            continue
        if target in ("name", "locale", "tags"):
            if len(columns) > 1:
                raise SourceError(f"{target} can come from one column only, not {columns}")
            setattr(mapping, target, column(columns[0]))
        else:
            attribute = target.removeprefix("attributes.").removeprefix("attr.")
            mapping.attributes.extend((column(name), attribute) for name in columns)
    return mapping
