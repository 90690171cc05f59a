"""Bulk import on SQLite and PostgreSQL: formats, mapping, duplicates, do-not-contact, broken files, resume."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from linda.contacts.importer import ImportOptions, import_file
from linda.contacts.sources import SourceError
from linda.query.compile import where_clause
from linda.query.grammar import parse
from linda.query.search import reindex, search
from linda.store.db import Database
from linda.store.models import Contact, ImportJob

HEADER = "Name,Phone,Mobile,Second Mobile,Community,Tags\n"
ROWS = (
    "Ali,0501234567,,,Vardon,owner\n"
    'Sara,+971 55 123 4567,0501234567,,Amazonia,"tenant,vip"\n'
    "Nobody,12,abc,,X,\n"
    "Ali Again,9710501234567,,,Vardon 2,buyer\n"
    "Landline,042345678,,,,\n"
    "Omar,,,00447911123456,,\n"
)


async def contacts_by_phone(db: Database) -> dict[str, Contact]:
    async with db.read() as session:
        return {c.phone: c for c in (await session.scalars(select(Contact))).all() if c.phone}


def rejects_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def test_import_normalizes_merges_and_rejects(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "brokers.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    job = await import_file(db, path, ImportOptions(region="AE", tags=["import"]))
    assert (job.state, job.rows_done, job.created, job.updated) == ("done", 6, 3, 0)
    assert (job.rejected, job.duplicates) == (2, 1)
    stored = await contacts_by_phone(db)
    assert set(stored) == {"+971501234567", "+971551234567", "+447911123456"}
    ali = stored["+971501234567"]
    assert ali.name == "Ali"  # the first non-empty name is kept
    assert ali.tags == ["buyer", "import", "owner"]
    assert ali.attributes == {"Community": "Vardon 2"}  # later values win
    assert stored["+971551234567"].attributes["other_phones"] == ["+971501234567"]
    assert stored["+447911123456"].wa_id is None  # WhatsApp names a contact when it writes
    rejects = rejects_of(Path(job.rejects_path or ""))
    assert [(r["row"], r["column"], r["value"], r["reason"]) for r in rejects] == [
        ("4", "Phone", "12", "impossible"),
        ("4", "Mobile", "abc", "not a number"),
        ("6", "Phone", "042345678", "not mobile"),
    ]


async def test_stored_contacts_keep_their_name_and_consent(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as session:
        session.add(Contact(phone="+971501234567", wa_id="971501234567", name="Ali (own)", tags=["old"],
                            attributes={"Community": "Old", "budget": "1M"}, opted_out=True))  # fmt: skip
        session.add(Contact(phone=None, wa_id="971551234567"))  # known by WhatsApp id only
    path = tmp_path / "list.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    job = await import_file(db, path, ImportOptions(region="AE"))
    assert (job.created, job.updated) == (1, 2)
    stored = await contacts_by_phone(db)
    ali = stored["+971501234567"]
    assert (ali.name, ali.opted_out) == ("Ali (own)", True)
    assert ali.tags == ["old", "buyer", "owner"]
    assert ali.attributes == {"Community": "Vardon 2", "budget": "1M"}
    assert stored["+971551234567"].name == "Sara"
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 3


async def test_do_not_contact_list(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text("mobile\n0501234567\n+447911123456\n", encoding="utf-8")
    await import_file(db, path, ImportOptions(region="AE", do_not_contact=True))
    stored = await contacts_by_phone(db)
    assert {(c.opted_out, c.opt_source) for c in stored.values()} == {(True, "do_not_contact")}
    again = tmp_path / "again.csv"  # a later ordinary import never opts them back in
    again.write_text("phone,name\n0501234567,Ali\n", encoding="utf-8")
    await import_file(db, again, ImportOptions(region="AE"))
    assert (await contacts_by_phone(db))["+971501234567"].opted_out


async def _found(db: Database, query: str) -> set[str]:
    async with db.read() as session:
        return {hit.contact_phone or "" for hit in await search(session, query, scope="contacts")}


async def _search_rows(db: Database) -> list[tuple[int, str]]:
    async with db.read() as session:
        return [
            tuple(row)
            for row in (await session.execute(text("SELECT rowid, body FROM contacts_fts ORDER BY rowid")))
        ]


async def test_imported_contacts_are_searchable_as_written(db: Database, tmp_path: Path) -> None:
    """Chunks of two rows (so several chunks, in a worker process): search finds what each import wrote, the
    second import's changes replacing the first's; on SQLite the import's own index rows are exactly what a
    rebuild from the stored contacts gives."""
    path = tmp_path / "first.csv"
    path.write_text(HEADER + ROWS + "سارة,0521234567,,,مارينا,\n", encoding="utf-8")
    await import_file(db, path, ImportOptions(region="AE", chunk_rows=2))
    assert await _found(db, "vardon") == {"+971501234567"}
    assert await _found(db, "مارينا") == {"+971521234567"}
    assert await _found(db, "سارة") == {"+971521234567"}
    later = tmp_path / "later.csv"
    later.write_text(HEADER + "Ali,0501234567,,,Damac Hills,\n", encoding="utf-8")
    job = await import_file(db, later, ImportOptions(region="AE", chunk_rows=2))
    assert (job.created, job.updated) == (0, 1)
    assert await _found(db, "vardon") == set()
    assert await _found(db, "damac hills") == {"+971501234567"}
    tagged = tmp_path / "tagged.csv"  # a new tag only: the contact changes, its searchable text does not
    tagged.write_text(HEADER + "Ali,0501234567,,,Damac Hills,\n", encoding="utf-8")
    job = await import_file(db, tagged, ImportOptions(region="AE", tags=["called"], chunk_rows=2))
    assert (job.created, job.updated) == (0, 1)
    assert await _found(db, "damac hills") == {"+971501234567"}
    if db.is_sqlite:
        written = await _search_rows(db)
        async with db.transaction() as session:
            await reindex(session)
        assert await _search_rows(db) == written


async def test_parts_of_one_chunk_merge_into_each_other(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of four rows read in parts of up to two (one, then two, then what the chunk has room for): a part
    merges into the contacts that an earlier part of the same (uncommitted) chunk wrote, as into any stored
    contact (so the repeat counts as an update, not as a duplicate row)."""
    monkeypatch.setattr("linda.contacts.importer.PART_ROWS", 2)
    path = tmp_path / "brokers.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    seen: list[int] = []
    job = await import_file(db, path, ImportOptions(region="AE", tags=["import"], chunk_rows=4),
                            progress=lambda done, _total: seen.append(done))  # fmt: skip
    assert seen == [1, 3, 4, 6]  # chunks of rows 1-4 and 5-6
    assert (job.state, job.rows_done, job.created, job.updated, job.duplicates) == ("done", 6, 3, 1, 0)
    ali = (await contacts_by_phone(db))["+971501234567"]  # data rows 1 and 4, in parts 1 and 3 of chunk 1
    assert (ali.name, ali.tags) == ("Ali", ["import", "owner", "buyer"])
    assert ali.attributes == {"Community": "Vardon 2"}
    assert set(await contacts_by_phone(db)) == {"+971501234567", "+971551234567", "+447911123456"}
    assert await _found(db, "vardon 2") == {"+971501234567"}


async def test_a_contact_merged_by_several_parts_of_a_chunk(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One stored contact changed by four parts of one chunk: each change counts, and search (on SQLite, the
    rows the chunk rewrites at its end) finds it by its last values only."""
    monkeypatch.setattr("linda.contacts.importer.PART_ROWS", 2)
    async with db.transaction() as session:
        session.add(Contact(phone="+971501234567", wa_id="971501234567", name="Ali", attributes={}))
    path = tmp_path / "moves.csv"
    communities = ["Vardon", "Marina", "Amazonia", "Damac Hills"]
    path.write_text(
        "name,mobile,community\n"
        + "".join(
            f"Someone {i},052123456{i},x\nAli,0501234567,{place}\n" for i, place in enumerate(communities)
        ),
        encoding="utf-8",
    )  # parts of 1, 2, 2, 2 and 1 rows: Ali is in the last four
    job = await import_file(db, path, ImportOptions(region="AE", chunk_rows=8))
    assert (job.state, job.created, job.updated) == ("done", 4, 4)
    ali = (await contacts_by_phone(db))["+971501234567"]
    assert (ali.name, ali.attributes) == ("Ali", {"community": "Damac Hills"})
    assert await _found(db, "damac hills") == {"+971501234567"}
    assert await _found(db, "vardon") == await _found(db, "marina") == set()
    if db.is_sqlite:
        written = await _search_rows(db)
        async with db.transaction() as session:
            await reindex(session)
        assert await _search_rows(db) == written


async def test_a_whatsapp_id_held_under_another_number(db: Database, tmp_path: Path) -> None:
    """A stored contact holds, under another number, the WhatsApp id a file's number would have: the file's
    contact is created as any other, with no WhatsApp id (WhatsApp gives it; merging is explicit)."""
    async with db.transaction() as session:
        session.add(Contact(phone="+971509999999", wa_id="971501234567", name="Held"))
    path = tmp_path / "list.csv"
    path.write_text("name,mobile\nAli,0501234567\nSara,0551234567\n", encoding="utf-8")
    job = await import_file(db, path, ImportOptions(region="AE"))
    assert (job.state, job.created, job.updated) == ("done", 2, 0)
    stored = await contacts_by_phone(db)
    assert {phone: (c.name, c.wa_id) for phone, c in stored.items()} == {
        "+971509999999": ("Held", "971501234567"),
        "+971501234567": ("Ali", None),
        "+971551234567": ("Sara", None),
    }
    assert await _found(db, "ali") == {"+971501234567"}


async def test_stored_values_written_elsewhere_compare_by_value(db: Database, tmp_path: Path) -> None:
    """Attributes the API stored (JSON with escaped non-ASCII text) equal the same values in a file."""
    async with db.transaction() as session:
        session.add(Contact(phone="+971501234567", wa_id="971501234567", name="علي", tags=["lead"],
                            attributes={"Community": "مارينا", "Floor": "3"}))  # fmt: skip
    path = tmp_path / "again.csv"
    path.write_text("name,mobile,Community,Tags\nعلي,0501234567,مارينا,lead\n", encoding="utf-8")
    job = await import_file(db, path, ImportOptions(region="AE"))
    assert (job.created, job.updated) == (0, 0)
    path.write_text("name,mobile,Community,Tags\nعلي,0501234567,Zürich,lead\n", encoding="utf-8")
    job = await import_file(db, path, ImportOptions(region="AE"))
    assert (job.created, job.updated) == (0, 1)
    ali = (await contacts_by_phone(db))["+971501234567"]
    assert ali.attributes == {"Community": "Zürich", "Floor": "3"}


async def test_filters_find_what_an_import_wrote_beside_what_the_api_wrote(db: Database, tmp_path: Path) -> None:
    """Tags and attributes as the import writes them (raw UTF-8 JSON, merged in SQL) and as the API writes
    them (escaped non-ASCII) are found alike by the filters."""
    async with db.transaction() as session:
        session.add(Contact(phone="+971501234567", tags=["lead", "مالك"], attributes={"Community": "مارينا"}))
    path = tmp_path / "more.csv"
    path.write_text(
        'name,mobile,Community,Tags\nAli,0501234567,,vip\nSara,0551234567,Vardon,"lead,مالك"\n', encoding="utf-8"
    )
    await import_file(db, path, ImportOptions(region="AE"))

    async def phones(text: str) -> list[str | None]:
        async with db.read() as session:
            where = where_clause(parse(text), db.dialect)
            return list((await session.scalars(select(Contact.phone).where(where).order_by(Contact.phone))).all())

    both = ["+971501234567", "+971551234567"]
    assert await phones("tag = lead") == both
    assert await phones('tag = "مالك"') == both
    assert await phones("tag = vip") == ["+971501234567"]
    assert await phones('Community IN ["Vardon", "مارينا"]') == both
    assert await phones("tag IN [vip, nobody]") == ["+971501234567"]


async def test_importing_the_same_file_again_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    await import_file(db, path, ImportOptions(region="AE"))
    before = {
        phone: (c.updated_at, c.attributes, c.tags) for phone, c in (await contacts_by_phone(db)).items()
    }
    copy = tmp_path / "copy.csv"  # other bytes (a new job), the same contacts
    copy.write_text(HEADER + ROWS + "\n", encoding="utf-8")
    job = await import_file(db, copy, ImportOptions(region="AE"))
    assert (job.created, job.updated) == (0, 0)
    after = {
        phone: (c.updated_at, c.attributes, c.tags) for phone, c in (await contacts_by_phone(db)).items()
    }
    assert after == before


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("cp1256", ",")],
)
async def test_encodings_and_delimiters(db: Database, tmp_path: Path, encoding: str, delimiter: str) -> None:
    path = tmp_path / "arabic.csv"
    text = f"الاسم{delimiter}جوال\r\nعلي{delimiter}0501234567\r\nسارة{delimiter}0551234567\r\n"
    path.write_bytes(text.encode(encoding))
    job = await import_file(db, path, ImportOptions(region="AE"))
    assert job.options["detected"]["delimiter"] == delimiter
    stored = await contacts_by_phone(db)
    assert {p: c.name for p, c in stored.items()} == {"+971501234567": "علي", "+971551234567": "سارة"}


async def test_given_mapping(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "owners.csv"
    path.write_text("Owner,Tel A,Tel B,Unit\nAli,,0501234567,B-1203\n", encoding="utf-8")
    options = ImportOptions(
        region="AE", mapping={"phone": ["tel a", "Tel B"], "name": ["Owner"], "unit": ["Unit"]}
    )
    await import_file(db, path, options)
    ali = (await contacts_by_phone(db))["+971501234567"]
    assert (ali.name, ali.attributes) == ("Ali", {"unit": "B-1203"})
    with pytest.raises(SourceError, match="no column 'Nope'"):
        await import_file(db, path, ImportOptions(mapping={"phone": ["Nope"]}))


async def test_xlsx_with_a_chosen_sheet(db: Database, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["nothing here"])
    sheet = workbook.create_sheet("Owners")
    sheet.append(["Name", "Mobile", "Price"])
    sheet.append(["Ali", 971501234567, 750000])  # numbers as Excel keeps them
    sheet.append(["Formula", "=A1&B1", 1])
    workbook.create_sheet("Empty")
    path = tmp_path / "owners.xlsx"
    workbook.save(path)
    job = await import_file(db, path, ImportOptions(region="AE", sheet="Owners"))
    assert (job.created, job.rejected) == (1, 1)
    assert (await contacts_by_phone(db))["+971501234567"].attributes == {"Price": "750000"}
    with pytest.raises(SourceError, match="sheet 'Empty' is empty"):
        await import_file(db, path, ImportOptions(sheet="Empty"))
    with pytest.raises(SourceError, match="no sheet 'Other'"):
        await import_file(db, path, ImportOptions(sheet="Other"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b"name,email\nAli,a@example.com\n", "no phone column"),
        (b"phone\n" + b"0501234567\n" * 7000 + b"\xff\xfe\xfa\n", "not valid utf-8"),
        (b"PK\x03\x04broken", "not a readable XLSX"),
    ],
)
async def test_broken_files_fail_clearly(db: Database, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        await import_file(db, path, ImportOptions(region="AE"))


async def test_ragged_rows_and_formulas_are_rejected(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "name,phone\nAli,0501234567,extra,cells\nShort\n=cmd|'/c calc'!A1,=1+1\nSara,0551234567,\n",
        encoding="utf-8",
    )
    job = await import_file(db, path, ImportOptions(region="AE"))
    reasons = [(r["row"], r["value"], r["reason"]) for r in rejects_of(Path(job.rejects_path or ""))]
    assert reasons == [
        ("2", "", "ragged row: 4 cells, the header has 2"),
        ("3", "", "no phone number"),
        ("4", "'=1+1", "formula, not a number"),  # neutralized for spreadsheets
    ]
    assert list(await contacts_by_phone(db)) == ["+971551234567"]


def write_numbers(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write("name,mobile\n")
        for i in range(count):
            file.write(f"Contact {i},05{'0' if i % 2 else '5'}{i:07d}\n")


async def test_resume_after_a_kill(database_url: str, tmp_path: Path) -> None:
    rows = 40_000
    path = tmp_path / "big.csv"
    write_numbers(path, rows)
    command = [
        sys.executable,
        "-m",
        "linda",
        "contacts",
        "import",
        str(path),
        "--region",
        "AE",
        "--chunk-rows",
        "500",
    ]
    env = {**os.environ, "LINDA_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    db = Database(database_url)
    try:
        done = 0
        for _ in range(600):
            await asyncio.sleep(0.05)
            async with db.read() as session:
                done = await session.scalar(select(func.max(ImportJob.rows_done))) or 0
            if done >= 2000 or process.returncode is not None:
                break
        process.send_signal(signal.SIGKILL)
        await process.wait()
        assert 0 < done < rows, "the import was not caught mid-way"
        again = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await again.communicate()
        assert again.returncode == 0, stderr.decode()
        async with db.read() as session:
            jobs = (await session.scalars(select(ImportJob))).all()
            count = await session.scalar(select(func.count()).select_from(Contact))
        assert [(j.state, j.rows_done, j.created, j.updated) for j in jobs] == [("done", rows, rows, 0)]
        assert count == rows
    finally:
        await db.dispose()


def test_cli_import_reports_counts_and_errors(env: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from linda.cli import app

    runner = CliRunner()
    path = tmp_path / "brokers.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    args = ["contacts", "import", str(path), "--region", "ae", "--tag", "x", "--map", "phone=Phone"]
    result = runner.invoke(app, [*args, "--map", "name=Name", "--rejects", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    assert "6 rows, 2 created, 0 updated, 1 duplicate rows merged, 3 rejected" in result.output
    assert len(rejects_of(tmp_path / "r.csv")) == 3
    bad_map = runner.invoke(app, ["contacts", "import", str(path), "--map", "phone"])
    assert bad_map.exit_code == 2
    assert "field=Column" in bad_map.output
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    failed = runner.invoke(app, ["contacts", "import", str(empty)])
    assert (failed.exit_code, failed.output.strip()) == (1, "empty.csv is empty")
