"""Users' handlers: a module (a file path or a dotted name) with a `setup(bot)` function, loaded on start.

# mybot.py, loaded by `linda serve --bot mybot.py`
from linda.bot import Bot, MessageContext, filters

def setup(bot: Bot) -> None:
    @bot.on_message(filters.text_equals("ping"))
    async def pong(ctx: MessageContext) -> None:
        await ctx.send_text("pong")
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linda.bot.router import Bot


class PluginError(Exception):
    """A bot module that cannot be loaded; the message says what to fix."""


def load_plugin(bot: Bot, name: str) -> ModuleType:
    module = _import(name)
    setup = getattr(module, "setup", None)
    if not callable(setup):
        raise PluginError(f"{name} has no setup(bot) function; define one that registers your handlers")
    setup(bot)
    return module


def _import(name: str) -> ModuleType:
    path = Path(name)
    if name.endswith(".py") or path.exists():
        if not path.is_file():
            raise PluginError(f"bot module {name} does not exist")
        module_name = f"linda_bot_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise PluginError(f"bot module {name} failed to load: {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise PluginError(f"cannot import bot module {name!r}: {exc}") from exc
