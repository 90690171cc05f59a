"""`linda segments`: saved filters, usable as `@name` in any filter."""

from __future__ import annotations

from typing import Annotated

import typer

from linda.cli.common import app, console, with_db
from linda.settings import get_settings

segments_app = typer.Typer(help="Segments: saved filters with a name (use them as @name in any filter).")
app.add_typer(segments_app, name="segments")


@segments_app.command("save")
def save(
    name: Annotated[str, typer.Argument(help="The segment's name (letters, digits, _ . -).")],
    where: Annotated[str, typer.Option(help="Its filter, e.g. 'tag = owner AND NOT opted_out'.")],
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Create a segment, or replace its filter."""
    from linda.query.filters import FilterError
    from linda.query.segments import SegmentError, count_and_sample, save_segment
    from linda.store.db import Database

    async def work(db: Database) -> None:
        try:
            await save_segment(db, name, where, description)
        except (FilterError, SegmentError) as exc:
            console.print(f"[red]{exc}[/]", highlight=False, markup=False)
            raise typer.Exit(2) from None
        total, _ = await count_and_sample(db, name, sample=0)
        console.print(f"segment @{name} saved: {total} contact(s) now.", highlight=False)

    with_db(get_settings(), work)


@segments_app.command("list")
def list_() -> None:
    """Every segment with its live count."""
    from rich.table import Table

    from linda.query.segments import count_and_sample, list_segments
    from linda.store.db import Database

    async def work(db: Database) -> None:
        table = Table("segment", "contacts", "filter", "description")
        for segment in await list_segments(db):
            total, _ = await count_and_sample(db, segment.name, sample=0)
            table.add_row("@" + segment.name, str(total), segment.filter, segment.description)
        console.print(table)

    with_db(get_settings(), work)


@segments_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The segment.")],
    sample: Annotated[int, typer.Option(min=0, help="How many of its contacts to show.")] = 5,
) -> None:
    """A segment's filter, live count and a sample of its contacts."""
    from linda.query.segments import count_and_sample, get_segment
    from linda.store.db import Database

    async def work(db: Database) -> None:
        segment = await get_segment(db, name)
        if segment is None:
            console.print(f"[red]There is no segment @{name};[/] `linda segments list` shows them.")
            raise typer.Exit(1)
        total, contacts = await count_and_sample(db, name, sample)
        console.print(f"@{name}: {segment.filter}\n{total} contact(s)", highlight=False, markup=False)
        for contact in contacts:
            console.print(f"  {contact.id}  {contact.phone or '-'}  {contact.name or ''}", highlight=False)

    with_db(get_settings(), work)


@segments_app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="The segment.")]) -> None:
    """Delete a segment (filters that use it stop working)."""
    from linda.query.segments import delete_segment
    from linda.store.db import Database

    async def work(db: Database) -> None:
        if not await delete_segment(db, name):
            console.print(f"[red]There is no segment @{name}.[/]")
            raise typer.Exit(1)
        console.print(f"segment @{name} deleted.")

    with_db(get_settings(), work)
