"""The `linda` command."""

from __future__ import annotations

import importlib
import importlib.util
import sys

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
    start_children_as_module()
    app()


def start_children_as_module() -> None:
    """Run as the `linda` script, have worker processes (a contact import's) start as under `python -m linda`:
    multiprocessing then leaves the main module alone, where it would run the script again in each worker and
    import the whole command line there (about half a second and 40 MB each)."""
    main_module = sys.modules["__main__"]
    if getattr(main_module, "__spec__", None) is None:
        main_module.__spec__ = importlib.util.find_spec("linda.__main__")
