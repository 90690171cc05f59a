"""`linda report`: what Linda measured about itself over a period."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linda.cli.common import app, console, with_db
from linda.settings import get_settings


@app.command()
def report(
    since: Annotated[str, typer.Option(help="The period: 90m, 24h, 7d, ... before now.")] = "24h",
    format: Annotated[str, typer.Option("--format", help="text, json or html.")] = "text",
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """Per operation: count, rate, error rate, p50/p95/p99/max and trends; top error codes; charts (html)."""
    from linda.monitoring.collector import MetricsCollector
    from linda.monitoring.monitor import PerformanceMonitor
    from linda.monitoring.report import Report, period
    from linda.store.db import Database
    from linda.store.types import utcnow

    if format not in ("text", "json", "html"):
        console.print(f"[red]Unknown format {format!r}:[/] use text, json or html.")
        raise typer.Exit(2)
    try:
        until = utcnow()
        start = period(since, until)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    settings = get_settings()

    async def build(db: Database) -> Report:
        collector = MetricsCollector(db, PerformanceMonitor(), retention=settings.metrics_retention)
        return await collector.generate_report(start, until)

    built = with_db(settings, build)
    text = {"text": built.to_text, "json": built.to_json, "html": built.to_html}[format]()
    if output is not None:
        output.write_text(text, encoding="utf-8")
        console.print(f"report written to {output}")
    else:
        print(text)
