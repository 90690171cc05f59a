"""The bot: a router of handlers over inbound messages and statuses, the rules file's built-in behaviours,
and users' own handler modules."""

from __future__ import annotations

from pathlib import Path

from linda.bot import filters
from linda.bot.behaviours import RulesBehaviours
from linda.bot.context import MessageContext, StatusContext
from linda.bot.plugins import PluginError, load_plugin
from linda.bot.router import Bot, ContinueHandling, Handler, StopHandling
from linda.bot.rules import SAMPLE_RULES, RulesError, load_rules
from linda.bot.source import RulesSource
from linda.settings import Settings

__all__ = [
    "Bot",
    "ContinueHandling",
    "Handler",
    "MessageContext",
    "PluginError",
    "RulesError",
    "StatusContext",
    "StopHandling",
    "build_bot",
    "filters",
    "load_rules",
    "rules_path",
]


def rules_path(settings: Settings) -> Path | None:
    """The rules file in force: LINDA_BOT_RULES, else the sample in sandbox mode, else none."""
    if settings.bot_rules:
        return Path(settings.bot_rules)
    return SAMPLE_RULES if settings.sandbox else None


def build_bot(settings: Settings) -> Bot:
    """The bot of these settings: the rules file's behaviours, then each bot module's handlers.
    Raises RulesError or PluginError with what to fix."""
    bot = Bot()
    path = rules_path(settings)
    if path is not None:
        RulesBehaviours(RulesSource(path)).install(bot)
    for name in settings.bot_modules:
        load_plugin(bot, name)
    return bot
