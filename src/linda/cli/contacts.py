"""`linda contacts`: import contacts in bulk (and, beside it, list and update them)."""

from __future__ import annotations

import typer

from linda.cli.common import app

contacts_app = typer.Typer(help="Contacts: bulk import, listing and mass updates.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")
