"""The rules in force: loaded from their file, and reloaded when the file changes, without a restart.

An edit that does not validate is logged with its problems and the previous rules stay in force, so a typo
never silences the bot.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from linda.bot.filters import fold
from linda.bot.hours import BusinessHours
from linda.bot.rules import AutoReply, Rules, RulesError, load_rules
from linda.contacts.phones import to_e164

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compiled:
    """Rules with what is derived from them once per load."""

    rules: Rules
    hours: BusinessHours
    stop_words: frozenset[str]
    start_words: frozenset[str]
    handoff_words: frozenset[str]
    patterns: tuple[re.Pattern[str] | None, ...]  # per auto-reply: its regex, compiled
    admins: frozenset[str]

    @classmethod
    def of(cls, rules: Rules) -> Compiled:
        return cls(
            rules,
            rules.business_hours(),
            frozenset(fold(w) for w in rules.opt_out.stop),
            frozenset(fold(w) for w in rules.opt_out.start),
            frozenset(fold(w) for w in rules.handoff.keywords) if rules.handoff else frozenset(),
            tuple(re.compile(r.regex, re.IGNORECASE) if r.regex else None for r in rules.replies),
            frozenset(to_e164(phone) for phone in rules.admins),
        )

    def auto_reply(self, text: str | None, tags: list[str]) -> tuple[AutoReply, re.Match[str] | None] | None:
        """The first auto-reply whose match holds for `text` from a sender with `tags`."""
        if text is None:
            return None
        folded = fold(text)
        for auto, pattern in zip(self.rules.replies, self.patterns, strict=True):
            if auto.tag is not None and auto.tag not in tags:
                continue
            if pattern is not None:
                if match := pattern.search(text):
                    return auto, match
                continue
            if _matches(auto, text, folded):
                return auto, None
        return None


def _matches(auto: AutoReply, text: str, folded: str) -> bool:
    if auto.equals is not None:
        return folded in {fold(w) for w in auto.equals}
    if auto.contains is not None:
        return any(fold(w) in folded for w in auto.contains)
    return auto.command is not None and _is_command(text, auto.command)


def _is_command(text: str, name: str) -> bool:
    words = text.strip().split(maxsplit=1)
    return bool(words) and fold(words[0]) == fold(name)


class RulesSource:
    """Rules from a file, checked for changes at most every `check_seconds`."""

    def __init__(self, path: str | Path, *, check_seconds: float = 1.0) -> None:
        self.path = Path(path)
        self._signature = self._stat()
        self.compiled = Compiled.of(load_rules(self.path))  # a bad file at start is an error: say so
        self.check_seconds = check_seconds
        self._checked_at = 0.0

    @classmethod
    def fixed(cls, rules: Rules) -> RulesSource:
        """Rules given in code (tests, embedding): never reloaded."""
        source = cls.__new__(cls)
        source.path, source._signature, source.compiled = Path(), None, Compiled.of(rules)
        source.check_seconds, source._checked_at = float("inf"), 0.0
        return source

    def current(self, now: float) -> Compiled:
        if now - self._checked_at >= self.check_seconds:
            self._checked_at = now
            self.reload_if_changed()
        return self.compiled

    def reload_if_changed(self) -> bool:
        signature = self._stat()
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            self.compiled = Compiled.of(load_rules(self.path))
        except RulesError as exc:
            log.error("rules not reloaded, the previous ones stay in force: %s", exc)
            return False
        log.info("rules reloaded from %s", self.path)
        return True

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size
