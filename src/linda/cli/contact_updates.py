"""`linda contacts update / undo / jobs`: mass updates of the contacts a filter selects, and undoing them."""

from __future__ import annotations

from typing import Annotated

import typer

from linda.cli.common import console, with_db
from linda.cli.contacts import contacts_app
from linda.settings import get_settings


@contacts_app.command("update")
def update(
    where: Annotated[
        str, typer.Option(help="The contacts to change, e.g. 'tag = owner AND cluster = \"Vardon\"'.")
    ],
    add_tag: Annotated[list[str] | None, typer.Option(help="Add this tag (repeatable).")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option(help="Remove this tag (repeatable).")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="attr=value: a number, true/false or null (removes it) is typed (repeatable)."
        ),
    ] = None,
    opt_out: Annotated[bool, typer.Option("--opt-out", help="Opt the contacts out of messages.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count the contacts it would change.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Change every contact a filter selects, in chunks, with a journal (`linda contacts undo JOB` reverts it)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from linda.contacts.mass_update import Changes, JobError, count_matching, parse_assignment, run_update
    from linda.query.filters import FilterError
    from linda.query.segments import resolve_filter
    from linda.store.db import Database

    try:
        changes = Changes(
            tuple(add_tag or ()),
            tuple(remove_tag or ()),
            dict(parse_assignment(item) for item in set_ or ()),
            opt_out,
        )
    except JobError as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from None

    async def work(db: Database) -> None:
        try:
            expr = await resolve_filter(db, where)
        except FilterError as exc:
            console.print(f"[red]Invalid filter:[/] {exc}", highlight=False, markup=False)
            raise typer.Exit(2) from None
        matched = await count_matching(db, expr)
        console.print(f"{matched} contact(s) match.", highlight=False)
        if dry_run or matched == 0:
            return
        if not yes and not typer.confirm(f"Change {matched} contact(s)?"):
            raise typer.Exit(1)
        columns = (TextColumn("updating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("update", total=matched)
            job = await run_update(
                db, where, expr, changes, progress=lambda done, _: bar.update(task, completed=done)
            )
        console.print(
            f"job {job.id}: {job.changed} of {job.matched} contact(s) changed; "
            f"`linda contacts undo {job.id}` reverts it.",
            highlight=False,
        )

    with_db(get_settings(), work)


@contacts_app.command("undo")
def undo_job(
    job: Annotated[int, typer.Argument(help="The job number `linda contacts update` printed.")],
) -> None:
    """Revert a mass update; contacts changed since it are left as they are (and counted)."""
    from linda.contacts.mass_update import JobError, undo
    from linda.store.db import Database

    async def work(db: Database) -> None:
        try:
            _, restored, conflicts = await undo(db, job)
        except JobError as exc:
            console.print(f"[red]{exc}[/]", highlight=False)
            raise typer.Exit(1) from None
        note = f"; {conflicts} changed since, left as they are" if conflicts else ""
        console.print(f"job {job} undone: {restored} contact(s) restored{note}.", highlight=False)

    with_db(get_settings(), work)


@contacts_app.command("jobs")
def jobs() -> None:
    """Recent mass updates: their filter, changes, counts and state."""
    from rich.table import Table

    from linda.contacts.mass_update import list_jobs
    from linda.store.db import Database

    async def work(db: Database) -> None:
        table = Table("job", "state", "matched", "changed", "filter", "changes", "at")
        for job in await list_jobs(db):
            table.add_row(
                str(job.id),
                job.state,
                str(job.matched),
                str(job.changed),
                job.filter,
                ", ".join(f"{k}={v}" for k, v in job.changes.items() if v),
                f"{job.created_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)

    with_db(get_settings(), work)
