"""The built-in behaviours of the rules file, each an ordinary handler registered below users' handlers.

In priority order: opt-out (even during hand-off), admin commands, hand-off keywords, lookups, the away
message (then the others go on), the greeting, menus, keyword auto-replies, and the fallback answer.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import String, cast, select

from linda.bot.admin import admin_commands
from linda.bot.context import MessageContext
from linda.bot.filters import Filter, fold
from linda.bot.replies import Composer, language_of
from linda.bot.router import Bot, ContinueHandling, Handler
from linda.bot.rules import Menu, Option, ReplySpec
from linda.bot.source import Compiled, RulesSource
from linda.contacts import consent
from linda.handoff import assign
from linda.store.models import Contact
from linda.store.types import utcnow

OPT_OUT, ADMIN, HANDOFF, LOOKUP, AWAY, GREETING, MENU, AUTO_REPLY, FALLBACK = range(-100, -190, -10)
MAX_LOOKUP_MATCHES = 5


def contact_values(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "phone": contact.phone,
        "locale": contact.locale,
        "tags": list(contact.tags or []),
        "attributes": dict(contact.attributes or {}),
    }


class RulesBehaviours:
    """Registers the handlers; each reads the rules in force when a message arrives."""

    def __init__(self, source: RulesSource) -> None:
        self.source = source

    def install(self, bot: Bot) -> None:
        bot.admin_source = lambda: self.rules().admins
        add = bot.add_message_handler
        add(Handler(self.opt_out, self._when(self._is_consent_word), OPT_OUT, True, "opt-out"))
        for handler in admin_commands(ADMIN):
            add(handler)
        add(Handler(self.handoff, self._when(self._is_handoff_word), HANDOFF, name="hand-off"))
        add(Handler(self.lookup, self._when(self._lookup_of), LOOKUP, name="lookup"))
        add(Handler(self.away, self._when(self._is_closed), AWAY, name="away"))
        add(Handler(self.greeting, self._when(self._greets), GREETING, name="greeting"))
        add(Handler(self.menu_choice, self._when(self._choice), MENU, name="menu"))
        add(Handler(self.auto_reply, self._when(self._auto_reply), AUTO_REPLY, name="auto-reply"))
        add(Handler(self.fallback, self._when(self._falls_back), FALLBACK, name="fallback"))

    def rules(self) -> Compiled:
        return self.source.current(time.monotonic())

    def _when(self, test: Any) -> Filter[MessageContext]:
        return Filter(lambda c: bool(test(c, self.rules())), test.__name__.strip("_"))

    # --- opt-out --------------------------------------------------------------------------------------

    @staticmethod
    def _is_consent_word(c: MessageContext, r: Compiled) -> bool:
        return c.text is not None and fold(c.text) in (r.stop_words | r.start_words)

    async def opt_out(self, c: MessageContext) -> None:
        r = self.rules()
        assert c.text is not None
        if fold(c.text) in r.stop_words:
            if consent.opt_out(c.contact, "keyword"):  # confirmed once; a second STOP changes nothing
                await self.say(c, r.rules.opt_out.stopped)
        elif consent.opt_in(c.contact, "keyword"):
            await self.say(c, r.rules.opt_out.started)

    # --- hand-off and lookups -------------------------------------------------------------------------

    @staticmethod
    def _is_handoff_word(c: MessageContext, r: Compiled) -> bool:
        return c.text is not None and fold(c.text) in r.handoff_words

    async def handoff(self, c: MessageContext) -> None:
        handoff = self.rules().rules.handoff
        assert handoff is not None
        await self.say(c, handoff.reply)
        assign(c.conversation, handoff.assign_to)

    @staticmethod
    def _lookup_of(c: MessageContext, r: Compiled) -> tuple[Any, str] | None:
        if c.text is None:
            return None
        words = c.text.strip().split(maxsplit=1)
        if len(words) != 2:
            return None
        for lookup in r.rules.lookups:
            allowed = c.is_admin or not set(lookup.allowed_tags).isdisjoint(c.contact.tags or ())
            if allowed and fold(words[0]) == fold(lookup.command):
                return lookup, words[1].strip()
        return None

    async def lookup(self, c: MessageContext) -> None:
        found = self._lookup_of(c, self.rules())
        assert found is not None
        lookup, value = found
        stored = cast(Contact.attributes[lookup.attribute].as_string(), String)
        rows = await c.session.scalars(
            select(Contact).where(stored == value).order_by(Contact.id).limit(MAX_LOOKUP_MATCHES)
        )
        matches = [contact_values(contact) for contact in rows]
        if not matches:
            await self.say(c, lookup.not_found, value=value)
            return
        await self.say(c, lookup.reply, value=value, found=matches[0], matches=matches)

    # --- business hours, greeting -------------------------------------------------------------------

    @staticmethod
    def _is_closed(c: MessageContext, r: Compiled) -> bool:
        return r.rules.away is not None and not r.hours.is_open(c.account.phone_number_id, c.message_time)

    async def away(self, c: MessageContext) -> None:
        away = self.rules().rules.away
        assert away is not None
        last = c.conversation.away_sent_at
        if last is None or utcnow() - last >= timedelta(seconds=away.every):
            await self.say(c, away.reply)
            c.conversation.away_sent_at = utcnow()
        raise ContinueHandling  # closed, but what the bot can answer alone it still answers

    @staticmethod
    def _greets(c: MessageContext, r: Compiled) -> bool:
        return r.rules.greeting is not None and c.first_message and c.reply is None

    async def greeting(self, c: MessageContext) -> None:
        greeting = self.rules().rules.greeting
        assert greeting is not None
        await self.say(c, greeting)

    # --- menus ------------------------------------------------------------------------------------------

    @staticmethod
    def _choice(c: MessageContext, r: Compiled) -> tuple[str, Option] | None:
        """The menu option this message picks: a tapped button or row, or, while a menu is open, its title
        or its number typed out."""
        if c.reply is not None:
            return r.rules.option(c.reply.id)
        menu_name = c.conversation.menu
        menu = r.rules.menus.get(menu_name or "")
        if menu is None or c.text is None or not _menu_open(c):
            return None
        typed = fold(c.text)
        for number, option in enumerate(menu.options, start=1):
            titles = [option.title] if isinstance(option.title, str) else list(option.title.values())
            if typed == str(number) or typed in {fold(t) for t in titles}:
                return menu_name or "", option
        return None

    async def menu_choice(self, c: MessageContext) -> None:
        r = self.rules()
        chosen = self._choice(c, r)
        assert chosen is not None
        menu_name, option = chosen
        if not _menu_open(c):  # a tap on a menu that timed out
            menu = r.rules.menus[menu_name]
            await self.say(c, menu.expired or ReplySpec(menu=menu_name))
            return
        _keep_open(c, r.rules.menus[c.conversation.menu or menu_name])
        if option.reply is not None:
            await self.say(c, option.reply)
        if option.menu is not None:
            await self.say(c, ReplySpec(menu=option.menu))
        if option.handoff:
            await self.say(c, ReplySpec(handoff=option.handoff))

    # --- auto-replies and fallback -----------------------------------------------------------------

    @staticmethod
    def _auto_reply(c: MessageContext, r: Compiled) -> bool:
        return r.auto_reply(c.text, list(c.contact.tags or [])) is not None

    async def auto_reply(self, c: MessageContext) -> None:
        found = self.rules().auto_reply(c.text, list(c.contact.tags or []))
        assert found is not None
        auto, match = found
        groups = {"match": [match.group(0), *match.groups()], "groups": match.groupdict()} if match else {}
        await self.say(c, auto.reply, **groups)

    @staticmethod
    def _falls_back(c: MessageContext, r: Compiled) -> bool:
        return r.rules.fallback is not None and c.type not in ("reaction", "unsupported")

    async def fallback(self, c: MessageContext) -> None:
        fallback = self.rules().rules.fallback
        assert fallback is not None
        await self.say(c, fallback)

    # --- saying things ------------------------------------------------------------------------------

    async def say(self, c: MessageContext, spec: ReplySpec, **values: Any) -> None:
        """Send a reply: its messages, then the menu it opens; then hand the conversation over if asked."""
        r = self.rules().rules
        language = language_of(c.contact.locale, c.text, r.default_language)
        composer = Composer(r, language, {**self.values(c), **values})
        for message in composer.reply(spec):
            await c.send(message)
        if spec.menu is not None:
            menu = r.menus[spec.menu]
            await c.send(composer.menu(menu))
            c.conversation.menu = spec.menu
            _keep_open(c, menu)
        if spec.handoff:
            team = r.handoff.assign_to if r.handoff else "team"
            assign(c.conversation, spec.handoff if isinstance(spec.handoff, str) else team)

    @staticmethod
    def values(c: MessageContext) -> dict[str, Any]:
        account = c.account
        return {
            "contact": contact_values(c.contact),
            "account": {
                "phone_number_id": account.phone_number_id,
                "display_phone_number": account.display_phone_number,
                "name": account.name,
            },
            "message": {"text": c.text, "type": c.type},
        }


def _menu_open(c: MessageContext) -> bool:
    expires = c.conversation.menu_expires_at
    return c.conversation.menu is not None and expires is not None and expires > utcnow()


def _keep_open(c: MessageContext, menu: Menu) -> None:
    c.conversation.menu_expires_at = utcnow() + timedelta(seconds=menu.timeout)
