"""Turning a file's rows into contacts, a part at a time: phones normalized, rows of one number merged, rejects
with reasons, and the contacts encoded as the JSON array that the database statements read (writing.py).

This is the import's CPU-bound half. The importer runs a `PartReader` in a worker process beside the database
writes (see importer.py); a part crosses over as one string, and this module imports nothing from the database
layer, which keeps that process quick to start.

Each row yields one contact: its first valid mobile number; its other valid mobiles go to the `other_phones`
attribute. A row without a valid mobile is rejected, with each value's reason. Within a part, rows with the
same number are one contact: the first non-empty name and locale are kept, tags are unioned, attributes are
merged with later values winning.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import multiprocessing.connection
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from linda.contacts.mapping import Mapping
from linda.contacts.phones import InvalidPhone, to_mobile_e164
from linda.contacts.sources import open_source
from linda.query.fold import contact_document

WORKER_NICENESS = 5
FORMULA_START = "=@"  # a cell's first character that makes it a spreadsheet formula

Reject = tuple[int, str, str, str]  # row, column, value, reason


# One number's contact: name, locale, tags, attributes (a plain tuple: a part builds one per row).
Record = tuple[str | None, str | None, frozenset[str], dict[str, Any]]


def _merged(first: Record, later: Record) -> Record:
    """Rows of one number: the first non-empty name and locale, tags unioned, later attributes winning."""
    name, locale, tags, attributes = first
    attributes.update(later[3])
    return name or later[0], locale or later[1], tags | later[2], attributes


@dataclass
class Part:
    """Rows read; their contacts as a JSON array (UTF-8) of [phone, name, locale, tags, attributes] in phone
    order, and when asked for, their search documents as a JSON array in the same order; the rejects, and how
    many rows merged into an earlier one."""

    rows: int
    contacts: bytes
    documents: bytes = b"[]"
    rejects: list[Reject] = field(default_factory=list)
    duplicates: int = 0


@dataclass(frozen=True)
class RowReader:
    """What reading a row needs: the header, which column holds what, the default region, the import's tags,
    and whether contacts carry their search document (SQLite's index is written by the import)."""

    header: list[str]
    mapping: Mapping
    region: str | None
    tags: frozenset[str]
    documents: bool = False


def normalize(reader: RowReader, first: int, rows: list[list[str]]) -> Part:
    """`rows` as a part; `first` is the file row number of `rows[0]` (1 is the header)."""
    header, mapping, region, base_tags = reader.header, reader.mapping, reader.region, reader.tags
    phone_columns, attribute_columns, tags_at = mapping.phones, mapping.attributes, mapping.tags
    width = len(header)
    tag_sets: dict[str, frozenset[str]] = {}
    records: dict[str, Record] = {}
    rejects: list[Reject] = []
    duplicates = 0
    for number, row in enumerate(rows, start=first):
        if len(row) != width:
            if len(row) > width and any(cell.strip() for cell in row[width:]):
                rejects.append((number, "", "", f"ragged row: {len(row)} cells, the header has {width}"))
                continue
            row = (row + [""] * width)[:width]
        phones: list[str] = []
        failures: list[Reject] = []
        for index in phone_columns:
            raw = row[index]
            if not raw or raw.isspace():
                continue
            if raw[0] in FORMULA_START:
                failures.append((number, header[index], raw, "formula, not a number"))
                continue
            try:
                phone = to_mobile_e164(raw, region)
            except InvalidPhone as exc:
                failures.append((number, header[index], raw, exc.reason))
                continue
            if phone not in phones:
                phones.append(phone)
        if not phones:
            rejects.extend(failures or [(number, "", "", "no phone number")])
            continue
        tags = base_tags
        if tags_at is not None:
            text = row[tags_at]
            found = tag_sets.get(text)
            if found is None:
                found = tag_sets[text] = base_tags | _split_tags(text)
            tags = found
        attributes: dict[str, Any] = {}
        for index, attribute in attribute_columns:
            value = row[index]
            if value and value[0] not in FORMULA_START:
                value = value.strip()
                if value:
                    attributes[attribute] = value
        if len(phones) > 1:
            attributes["other_phones"] = phones[1:]
        record = (_text(row, mapping.name), _text(row, mapping.locale), tags, attributes)
        known = records.get(phones[0])
        if known is None:
            records[phones[0]] = record
        else:
            duplicates += 1
            records[phones[0]] = _merged(known, record)
    part = Part(len(rows), *_encode(records, reader.documents), rejects, duplicates)
    # Free the part's objects now. When phonenumbers.parse handles an exception of its own, its frame keeps
    # that exception in a variable, a reference cycle which holds the callers' frames (this one included) until
    # the cyclic collector runs; that would have to walk every row and record held here.
    records.clear()
    rows.clear()
    return part


def _encode(records: dict[str, Record], documents: bool) -> tuple[bytes, bytes]:
    """The contacts and their documents, as bytes all the way to the database (never decoded, pickled as text
    or encoded again)."""
    tag_lists: dict[frozenset[str], list[str]] = {}  # a part's rows share a few sets of tags
    contacts: list[list[Any]] = []
    folded: list[str] = []
    for phone, (name, locale, tag_set, attributes) in sorted(records.items()):  # phones are unique: by phone
        tags = tag_lists.get(tag_set)
        if tags is None:
            tags = tag_lists[tag_set] = sorted(tag_set)
        contacts.append([phone, name, locale, tags, attributes])
        if documents:
            folded.append(contact_document(name, attributes))
    return orjson.dumps(contacts), orjson.dumps(folded)


def _split_tags(text: str) -> frozenset[str]:
    return frozenset(tag.strip() for tag in text.replace(";", ",").split(",") if tag.strip())


def _text(row: list[str], index: int | None) -> str | None:
    if index is None:
        return None
    value = row[index].strip()
    return value if value and value[0] not in FORMULA_START else None


class PartReader:
    """A file's rows, read and normalized a part at a time, each part named by its first data row (0 is the
    first after the header). Parts are asked for in the file's order: a reader only moves forward, skipping
    what other readers normalize (reading a CSV row costs far less than normalizing it)."""

    def __init__(self, path: Path, sheet: str | None, reader: RowReader) -> None:
        self.source = open_source(path, sheet)
        self.rows = iter(self.source.rows)
        self.at = 0  # the data row `rows` yields next
        self.reader = reader

    def read(self, first: int, size: int) -> Part:
        assert first >= self.at, "parts are read in the file's order"
        for _ in itertools.islice(self.rows, first - self.at):
            pass
        part = normalize(self.reader, first + 2, list(itertools.islice(self.rows, size)))
        self.at = first + part.rows
        return part

    def close(self) -> None:
        self.source.close()


# In a worker process: the one reader that process serves.
_worker: PartReader | None = None


def start_worker(path: Path, sheet: str | None, reader: RowReader) -> None:
    """A worker process's initializer. Workers run at a lower priority than the process that writes what
    they read: they use what processor time the writes leave, and never slow them (nor a server beside
    them). The cyclic garbage collector waits for the end of each part: run by allocation counts, it would walk
    a part's live objects again and again while they are built."""
    global _worker
    os.nice(WORKER_NICENESS)
    gc.disable()
    gc.freeze()  # what the process has loaded: never garbage
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), daemon=True).start()
    _worker = PartReader(path, sheet, reader)


def _end_with(parent: int) -> None:
    """End this worker when the importing process ends, even killed: it would wait for work forever, holding
    on to the pipes it inherited."""
    multiprocessing.connection.wait([parent])
    os._exit(1)


def worker_part(first: int, size: int) -> Part:
    """The part of the worker process's file from data row `first`."""
    assert _worker is not None, "start_worker runs first"
    part = _worker.read(first, size)
    gc.collect()  # the few cycles a part leaves (caught exceptions hold their frames)
    return part
