"""The `linda` command."""

from __future__ import annotations

import importlib

from linda.cli.common import app

__all__ = ["app", "main"]

# Each module registers its commands on `app`; this order is the order of `linda --help`.
for _module in (
    "serving",
    "messages",
    "admin",
    "tokens",
    "bot",
    "contacts",
    "contact_updates",
    "segments",
    "search",
    "report",
):
    importlib.import_module(f"linda.cli.{_module}")


def main() -> None:
    app()
