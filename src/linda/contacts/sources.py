"""Reading contact files as rows of text: CSV with its encoding and delimiter detected, and XLSX sheets.

Encoding rule for CSV: a byte-order mark decides (UTF-8, UTF-16 LE/BE as Excel's "Unicode text" writes it);
without one, the first 64 KiB must decode as UTF-8, otherwise the file is read as Windows-1256 (Arabic Excel's
default). A UTF-8 file that turns out broken further on stops with the line where it broke.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SAMPLE = 64 * 1024
DELIMITERS = ",;\t|"
csv.field_size_limit(1024 * 1024)


class SourceError(ValueError):
    """A file that cannot be read as contacts; the message says what is wrong and where."""


@dataclass
class Source:
    """An open file: its header, an estimate of its data rows, and its data rows as lists of text."""

    path: Path
    kind: str  # csv | xlsx
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    header: list[str]
    estimated_rows: int
    rows: Iterator[list[str]]
    stream: io.TextIOWrapper | None = None

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


def fingerprint(path: Path) -> str:
    """SHA-256 of the file: an interrupted import resumes only on the same bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1256"
    return "utf-8"


def _count_lines(path: Path, encoding: str) -> int:
    newline = "\n".encode("utf-16-le" if encoding == "utf-16" else "ascii")
    count = 0
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            count += block.count(newline)
    return count


def open_csv(path: Path) -> Source:
    with path.open("rb") as file:
        sample = file.read(SAMPLE)
    if not sample.strip():
        raise SourceError(f"{path.name} is empty")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="ignore")
    try:
        delimiter = csv.Sniffer().sniff(text[: 16 * 1024], delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    stream = path.open(encoding=encoding, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader, None)
    except UnicodeDecodeError as exc:
        stream.close()
        raise SourceError(f"{path.name}: the header is not valid {encoding}") from exc
    if header is None or not any(cell.strip() for cell in header):
        stream.close()
        raise SourceError(f"{path.name} has no header row")
    return Source(
        path,
        "csv",
        encoding,
        delimiter,
        None,
        [cell.strip().lstrip("\ufeff") for cell in header],
        max(0, _count_lines(path, encoding) - 1),
        _csv_rows(path, reader, encoding),
        stream,
    )


def _csv_rows(path: Path, reader: Iterator[list[str]], encoding: str) -> Iterator[list[str]]:
    line = 1
    try:
        for line, row in enumerate(reader, start=2):  # noqa: B007  (line is read after the loop)
            yield row
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path.name}: the text after line {line} is not valid {encoding}; save the file as UTF-8"
        ) from exc
    except csv.Error as exc:
        raise SourceError(f"{path.name}: line {line + 1}: {exc}") from exc


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers stored as numbers: 971501234567.0
    return str(value)


def open_xlsx(path: Path, sheet: str | None) -> Source:
    from python_calamine import CalamineWorkbook

    if path.stat().st_size == 0:
        raise SourceError(f"{path.name} is empty")
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own errors for a damaged archive
        raise SourceError(f"{path.name} is not a readable XLSX workbook ({exc})") from exc
    names = workbook.sheet_names
    if sheet is None:
        name = names[0]
    elif sheet in names:
        name = sheet
    elif sheet.isdigit() and 1 <= int(sheet) <= len(names):
        name = names[int(sheet) - 1]
    else:
        raise SourceError(f"{path.name} has no sheet {sheet!r}; its sheets: {', '.join(names)}")
    data = workbook.get_sheet_by_name(name)
    rows = (list(map(_cell, row)) for row in data.iter_rows())
    header = next(rows, None)
    if header is None or not any(cell.strip() for cell in header):
        raise SourceError(f"{path.name}: sheet {name!r} is empty")
    return Source(path, "xlsx", None, None, name, [c.strip() for c in header], max(0, data.height - 1), rows)


def open_source(path: Path, sheet: str | None = None) -> Source:
    """The rows of a CSV or XLSX file (by its content: XLSX files are ZIP archives)."""
    if not path.is_file():
        raise SourceError(f"{path} is not a file")
    with path.open("rb") as file:
        magic = file.read(4)
    if magic == b"PK\x03\x04" or path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        return open_xlsx(path, sheet)
    if sheet is not None:
        raise SourceError(f"{path.name} is a CSV file: it has no sheets")
    return open_csv(path)
