"""Turning the rules file's replies and menus into WhatsApp messages.

Texts are Jinja2 templates rendered in a sandbox (`{{ contact.name }}`, `{{ match[1] }}`, `{{ found.phone }}`):
a rules file can read the values it is given and nothing else. A text may have one variant per language;
the contact's language picks one (its locale, else the script it writes in, else the default language).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from linda.bot.rules import Menu, ReplySpec, Rules, Text
from linda.whatsapp import messages
from linda.whatsapp.errors import MessageValidationError
from linda.whatsapp.messages import ListRow, ListSection

# Missing values render empty (ChainableUndefined): `{{ found.attributes.unit }}` never fails a reply.
_env = ImmutableSandboxedEnvironment(
    autoescape=False, undefined=ChainableUndefined, finalize=lambda v: "" if v is None else v
)
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_TEXT_FIELDS = frozenset({"text", "title", "description", "button", "caption"})  # the fields typed Text
_DEVANAGARI = re.compile(r"[\u0900-\u097F]")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def language_of(locale: str | None, text: str | None, default: str) -> str:
    """The language to answer in: the contact's locale, else a guess from the script of its message."""
    if locale:
        return locale.replace("-", "_").split("_")[0].lower()
    if text:
        for pattern, code in ((_ARABIC_SCRIPT, "ar"), (_DEVANAGARI, "hi"), (_CYRILLIC, "ru")):
            if pattern.search(text):
                return code
    return default


def pick(text: Text, language: str, default: str) -> str:
    if isinstance(text, str):
        return text
    return text.get(language) or text.get(default) or next(iter(text.values()))


def render(text: Text | None, language: str, default: str, values: Mapping[str, Any]) -> str:
    if text is None:
        return ""
    return _env.from_string(pick(text, language, default)).render(values).strip()


class Composer:
    """Builds the messages of replies and menus for one contact's language, with the template values."""

    def __init__(self, rules: Rules, language: str, values: Mapping[str, Any] | None) -> None:
        self.rules = rules
        self.language = language
        self.values = values  # None: leave templates unrendered (to check the rules file's own texts)

    def text(self, text: Text | None) -> str:
        if self.values is None:
            return pick(text, self.language, self.rules.default_language) if text is not None else ""
        return render(text, self.language, self.rules.default_language, self.values)

    def reply(self, spec: ReplySpec) -> list[dict[str, Any]]:
        """The messages of a reply, in order (a menu it opens is sent by the caller)."""
        out: list[dict[str, Any]] = []
        if spec.text is not None:
            body = self.text(spec.text)
            if spec.buttons:
                buttons = [(b.id, self.text(b.title)) for b in spec.buttons]
                out.append(messages.reply_buttons(body, buttons, header=spec.header, footer=spec.footer))
            elif spec.list_spec:
                sections = [
                    ListSection(
                        s.title, [ListRow(r.id, self.text(r.title), self._opt(r.description)) for r in s.rows]
                    )
                    for s in spec.list_spec.sections
                ]
                out.append(
                    messages.list_message(
                        body,
                        self.text(spec.list_spec.button),
                        sections,
                        header=spec.header,
                        footer=spec.footer,
                    )
                )
            else:
                out.append(messages.text(body))
        for kind in ("image", "video", "document", "audio"):
            media = getattr(spec, kind)
            if media is not None:
                caption = self.text(media.caption) if media.caption is not None and kind != "audio" else None
                out.append(
                    messages.media(
                        kind, id=media.id, link=media.link, caption=caption, filename=media.filename
                    )
                )
        return out

    def menu(self, menu: Menu) -> dict[str, Any]:
        body = self.text(menu.text)
        if menu.as_buttons:
            buttons = [(o.id, self.text(o.title)) for o in menu.options]
            return messages.reply_buttons(body, buttons, header=menu.header, footer=menu.footer)
        rows = [ListRow(o.id, self.text(o.title), self._opt(o.description)) for o in menu.options]
        return messages.list_message(
            body, self.text(menu.button), [ListSection(None, rows)], header=menu.header, footer=menu.footer
        )

    def _opt(self, text: Text | None) -> str | None:
        return self.text(text) if text is not None else None


def check_rules(rules: Rules) -> list[tuple[str, str]]:
    """Problems a schema cannot see: templates that do not parse, references to missing menus, and replies
    or menus that break WhatsApp's limits (checked with their templates unrendered, in every language)."""
    problems: list[tuple[str, str]] = []
    for place, source in _strings(rules.model_dump(), ""):
        try:
            _env.parse(source)
        except TemplateSyntaxError as exc:
            problems.append((place, f"template does not parse: {exc.message} (line {exc.lineno})"))
    if problems:
        return problems
    for place, spec in _replies(rules):
        if spec.menu is not None and spec.menu not in rules.menus:
            problems.append((f"{place}.menu", f"no menu named {spec.menu!r} (menus: {_names(rules)})"))
    for name, menu in rules.menus.items():
        for i, option in enumerate(menu.options):
            if option.menu is not None and option.menu not in rules.menus:
                place = f"menus.{name}.options[{i}].menu"
                problems.append((place, f"no menu named {option.menu!r} (menus: {_names(rules)})"))
    languages = _languages(rules)
    for language in languages:
        composer = Composer(rules, language, None)
        for place, spec in _replies(rules):
            problems += _limits(place, composer.reply, spec)
        for name, menu in rules.menus.items():
            problems += _limits(f"menus.{name}", composer.menu, menu)
    return list(dict.fromkeys(problems))


def _limits(place: str, build: Callable[[Any], object], spec: object) -> list[tuple[str, str]]:
    try:
        build(spec)
    except MessageValidationError as exc:
        return [(place, f"breaks a WhatsApp limit: {exc}")]
    return []


def _replies(rules: Rules) -> Iterator[tuple[str, ReplySpec]]:
    named = {
        "greeting": rules.greeting,
        "fallback": rules.fallback,
        "away.reply": rules.away.reply if rules.away else None,
        "handoff.reply": rules.handoff.reply if rules.handoff else None,
        "opt_out.stopped": rules.opt_out.stopped,
        "opt_out.started": rules.opt_out.started,
    }
    for place, spec in named.items():
        if spec is not None:
            yield place, spec
    for i, auto in enumerate(rules.replies):
        yield f"replies[{i}].reply", auto.reply
    for i, lookup in enumerate(rules.lookups):
        yield f"lookups[{i}].reply", lookup.reply
        yield f"lookups[{i}].not_found", lookup.not_found
    for name, menu in rules.menus.items():
        if menu.expired is not None:
            yield f"menus.{name}.expired", menu.expired
        for i, option in enumerate(menu.options):
            if option.reply is not None:
                yield f"menus.{name}.options[{i}].reply", option.reply


def _strings(value: Any, place: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield place, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{place}.{key}" if place else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{place}[{i}]")


def _languages(rules: Rules) -> list[str]:
    """Every language a text of a reply or menu has a variant in."""
    found = {rules.default_language}
    for model in [spec for _, spec in _replies(rules)] + list(rules.menus.values()):
        found.update(_variants(model))
    return sorted(found)


def _variants(value: Any) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            item = getattr(value, name)
            if name in _TEXT_FIELDS and isinstance(item, dict):
                yield from item
            else:
                yield from _variants(item)
    elif isinstance(value, list):
        for item in value:
            yield from _variants(item)


def _names(rules: Rules) -> str:
    return ", ".join(rules.menus) or "none"
