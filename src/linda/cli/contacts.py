"""`linda contacts`: import contacts in bulk (and, beside it, list and update them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linda.cli.common import app, console, with_db
from linda.settings import get_settings

contacts_app = typer.Typer(help="Contacts: bulk import, listing and mass updates.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")


DUPLICATE_POLICY = (
    "Duplicates: rows with the same number are one contact (first non-empty name and locale kept, tags unioned, "
    "attributes merged, later values win). A stored name or locale is never overwritten, only filled; tags are "
    "unioned; attributes merged, the file's values win. An import never opts a contact back in."
)


IMPORT_HELP = (
    "Import contacts from a CSV or XLSX file, in chunks; run it again to resume an interrupted import.\n\n"
    "Numbers become E.164 mobiles (national forms are read in --region); rows without a valid mobile go to the "
    "rejects file with a reason.\n\n" + DUPLICATE_POLICY
)


@contacts_app.command("import", help=IMPORT_HELP)
def import_(
    file: Annotated[
        Path, typer.Argument(help="A CSV (any delimiter; UTF-8, UTF-16 or Windows-1256) or XLSX file.")
    ],
    region: Annotated[
        str | None, typer.Option(help="Region of numbers written without a country code, e.g. AE.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="A tag for every imported contact (repeatable).")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="field=Column (phone may repeat; other names become attributes)."),
    ] = None,
    rejects: Annotated[Path | None, typer.Option(help="The rejects CSV (default: FILE.rejects.csv).")] = None,
    sheet: Annotated[
        str | None, typer.Option(help="XLSX: the sheet's name or number (default: first).")
    ] = None,
    do_not_contact: Annotated[
        bool,
        typer.Option("--do-not-contact", help="The file is a do-not-contact list: opt every number out."),
    ] = False,
    chunk_rows: Annotated[
        int | None, typer.Option(min=1, help="Rows per committed chunk (default 200,000).", show_default=False)
    ] = None,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from linda.contacts.importer import CHUNK_ROWS, ImportOptions, import_file
    from linda.contacts.mapping import parse_map_options
    from linda.contacts.sources import SourceError

    try:
        options = ImportOptions(
            region=region.upper() if region else None,
            tags=tag or [],
            mapping=parse_map_options(map_ or []),
            sheet=sheet,
            do_not_contact=do_not_contact,
            chunk_rows=chunk_rows or CHUNK_ROWS,
        )
    except SourceError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"Importing {file.name}", total=None, rate=0.0)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            speed = bar.tasks[task].speed
            bar.update(task, rate=speed or 0.0)

        try:
            job = with_db(get_settings(), lambda db: import_file(db, file, options, rejects, progress))
        except SourceError as exc:
            error = str(exc)
        else:
            error = ""
    if error:
        console.print(f"[red]{error}[/]", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"Import {job.id}: {job.rows_done:,} rows, {job.created:,} created, {job.updated:,} updated, "
        f"{job.duplicates:,} duplicate rows merged, {job.rejected:,} rejected"
        + (f" (see {job.rejects_path})" if job.rejected else "")
        + ".",
        highlight=False,
    )


@contacts_app.command("list")
def list_(
    where: Annotated[
        str | None,
        typer.Option(
            help="A filter (docs/filters.md), e.g. 'tag = owner AND NOT opted_out'; @segment works."
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per line for each contact.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many contacts.")] = None,
) -> None:
    """List contacts in the order they were created: all, or those a filter selects."""
    import json

    from rich.table import Table
    from rich.text import Text
    from sqlalchemy import select

    from linda.query.compile import where_clause
    from linda.query.filters import FilterError
    from linda.query.segments import resolve_filter
    from linda.store.db import Database
    from linda.store.models import Contact

    table = Table("id", "phone", "name", "locale", "tags", "attributes", "opted out")

    async def run(db: Database) -> int:
        statement = select(Contact).order_by(Contact.id).limit(limit).execution_options(yield_per=1000)
        if where is not None:
            statement = statement.where(where_clause(await resolve_filter(db, where), db.dialect))
        count = 0
        async with db.read() as session:
            async for contact in await session.stream_scalars(statement):
                count += 1
                row = {
                    "id": contact.id,
                    "phone": contact.phone,
                    "name": contact.name,
                    "locale": contact.locale,
                    "tags": contact.tags,
                    "attributes": contact.attributes,
                    "opted_out": contact.opted_out,
                }
                if json_:
                    typer.echo(json.dumps(row, ensure_ascii=False, default=str))
                else:
                    shown = (json.dumps(row[k], ensure_ascii=False) for k in ("tags", "attributes"))
                    cells = (str(contact.id), contact.phone, contact.name, contact.locale, *shown)
                    # Text(): names are data, never rich markup
                    table.add_row(*(Text(c or "") for c in cells), "yes" if contact.opted_out else "")
        return count

    try:
        count = with_db(get_settings(), run)
    except FilterError as exc:
        console.print(f"[red]Invalid filter: {exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    if not json_:
        console.print(table)
        console.print(f"{count:,} contacts", highlight=False)
