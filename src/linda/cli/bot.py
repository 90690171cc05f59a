"""`linda bot`: check a rules file before it goes live."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linda.cli.common import app, console
from linda.settings import get_settings

bot_app = typer.Typer(help="The bot's rules file.", no_args_is_help=True)
app.add_typer(bot_app, name="bot")


@bot_app.command("check")
def check(
    path: Annotated[
        Path | None,
        typer.Argument(help="The rules file (default: LINDA_BOT_RULES, or the sample in sandbox mode)."),
    ] = None,
) -> None:
    """Validate a rules file: every problem with its place in the file, or a summary of what it does."""
    from linda.bot import RulesError, load_rules, rules_path

    path = path or rules_path(get_settings())
    if path is None:
        console.print("No rules file: give one, or set LINDA_BOT_RULES.")
        raise typer.Exit(2)
    try:
        rules = load_rules(path)
    except RulesError as exc:
        console.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(1) from None
    parts = [
        f"{len(rules.menus)} menu(s)",
        f"{len(rules.replies)} auto-reply(ies)",
        f"{len(rules.lookups)} lookup(s)",
        f"{len(rules.admins)} admin(s)",
        "a greeting" if rules.greeting else "no greeting",
        "business hours" if rules.hours else "no business hours",
        "hand-off" if rules.handoff else "no hand-off",
    ]
    console.print(f"{path} is valid: {', '.join(parts)}.", highlight=False)
