"""`linda search`: full-text search over message texts and contacts."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from linda.cli.common import app, console, with_db
from linda.query.search import MAX_LIMIT, Hit, Scope, reindex, search
from linda.settings import get_settings
from linda.store.db import Database


@app.command("search")
def search_command(
    query: Annotated[
        str, typer.Argument(help='Words to find, all of them, in any of the supported languages; "a phrase".')
    ] = "",
    where: Annotated[
        str | None,
        typer.Option(help='Only contacts this filter selects, and their messages (e.g. "tag = vip").'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="At most this many hits.")] = 20,
    in_: Annotated[
        str, typer.Option("--in", help="What to search: messages, contacts or all.", case_sensitive=False)
    ] = "all",
    rebuild: Annotated[
        bool, typer.Option("--reindex", help="Rebuild the search indexes from the stored rows, then exit.")
    ] = False,
) -> None:
    """Search message texts and contacts' names, phones and attributes; best hits first."""
    from linda.query.compile import where_clause
    from linda.query.filters import FilterError
    from linda.query.segments import resolve_filter

    settings = get_settings()
    if rebuild:

        async def rebuild_all(db: Database) -> int:
            async with db.transaction() as session:
                return await reindex(session)

        console.print(f"Indexed {with_db(settings, rebuild_all)} rows.")
        return
    if in_ not in ("messages", "contacts", "all"):
        raise typer.BadParameter("give messages, contacts or all", param_hint="--in")
    if not query.strip():
        raise typer.BadParameter("give words to search for", param_hint="QUERY")
    scope: Scope = in_  # type: ignore[assignment]

    async def work(db: Database) -> list[Hit]:
        try:
            expr = await resolve_filter(db, where) if where else None  # @segments too
        except FilterError as exc:
            raise typer.BadParameter(str(exc), param_hint="--where") from exc
        condition = where_clause(expr, db.dialect) if expr is not None else None
        async with db.read() as session:
            return await search(session, query, scope=scope, where=condition, limit=limit)

    hits = with_db(settings, work)
    if as_json:
        for hit in hits:
            typer.echo(json.dumps(hit.as_json(), ensure_ascii=False))
        return
    if not hits:
        console.print("No hits.")
        return
    table = Table("kind", "id", "contact", "match")
    for hit in hits:
        who = hit.contact_name or hit.contact_phone or ""
        table.add_row(hit.kind, str(hit.id), Text(who), Text(hit.snippet))
    console.print(table)
