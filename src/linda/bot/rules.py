"""The rules file (`LINDA_BOT_RULES`): the built-in behaviours, configured in YAML without code.

`load_rules(path)` parses and validates a file; every problem comes back in one `RulesError` naming the file,
the place in it (`menus.main.options[1].title`) and what is wrong. See docs/bots.md for the reference.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from linda.bot.hours import BusinessHours, Schedule, expand_days, parse_ranges
from linda.config_file import ConfigFileError
from linda.contacts.phones import InvalidPhone, to_e164

SAMPLE_RULES = Path(__file__).parent / "samples" / "brokerage.yaml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class RulesError(ConfigFileError):
    """A bot rules file that cannot be used."""


def _seconds(value: Any) -> Any:
    """ "90s", "30m", "12h", "1d" or a number of seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration like 90s, 30m, 12h or 1d")
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _text_reply(value: Any) -> Any:
    return {"text": value} if isinstance(value, str) else value


Phone = Annotated[str, AfterValidator(to_e164)]  # any spelling in, E.164 out
Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
Words = Annotated[list[str], BeforeValidator(_listed)]
Text = str | dict[str, str]  # one text, or one per language code: {en: "Hello", ar: "مرحبا"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Button(Strict):
    id: str = Field(min_length=1, max_length=256)
    title: Text


class Row(Strict):
    id: str = Field(min_length=1, max_length=200)
    title: Text
    description: Text | None = None


class Section(Strict):
    title: str | None = None
    rows: list[Row] = Field(min_length=1)


class ListSpec(Strict):
    button: Text
    sections: list[Section] = Field(min_length=1)


class MediaSpec(Strict):
    link: str | None = None
    id: str | None = None
    caption: Text | None = None
    filename: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> MediaSpec:
        if (self.link is None) == (self.id is None):
            raise ValueError("give exactly one of link (a public https URL) or id (an uploaded media id)")
        return self


class ReplySpec(Strict):
    """What to answer. A plain string is a text reply. Parts are sent in order: text (with its buttons or
    list), media, then a menu; `handoff` then assigns the conversation to a person."""

    text: Text | None = None
    header: str | None = None
    footer: str | None = None
    buttons: list[Button] | None = Field(None, min_length=1, max_length=3)
    list_spec: ListSpec | None = Field(None, alias="list")  # `list` in the file
    image: MediaSpec | None = None
    video: MediaSpec | None = None
    document: MediaSpec | None = None
    audio: MediaSpec | None = None
    menu: str | None = None
    handoff: str | bool | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ReplySpec:
        if (self.buttons or self.list_spec) and self.text is None:
            raise ValueError("buttons and lists need a text to go with them")
        media = [self.image, self.video, self.document, self.audio]
        if self.text is None and self.menu is None and all(m is None for m in media) and not self.handoff:
            raise ValueError("says nothing: give text, a media item, a menu or handoff")
        if self.buttons and self.list_spec:
            raise ValueError("give buttons or a list, not both")
        return self


Reply = Annotated[ReplySpec, BeforeValidator(_text_reply)]


class Option(Strict):
    id: str = Field(min_length=1, max_length=200)
    title: Text
    description: Text | None = None
    reply: Reply | None = None
    menu: str | None = None
    handoff: str | bool | None = None

    @model_validator(mode="after")
    def _leads_somewhere(self) -> Option:
        if self.reply is None and self.menu is None and not self.handoff:
            raise ValueError("a menu option needs a reply, a menu to open, or handoff")
        return self


class Menu(Strict):
    text: Text
    header: str | None = None
    footer: str | None = None
    style: Literal["auto", "buttons", "list"] = "auto"  # auto: buttons for up to 3 options, else a list
    button: Text = "Choose"  # the label that opens a list
    options: list[Option] = Field(min_length=1, max_length=10)
    timeout: Seconds = 1800.0
    expired: Reply | None = None  # answer to a tap on a menu that timed out (default: offer it again)

    @property
    def as_buttons(self) -> bool:
        return self.style == "buttons" or (self.style == "auto" and len(self.options) <= 3)


class AutoReply(Strict):
    equals: Words | None = None
    contains: Words | None = None
    regex: str | None = None
    command: str | None = None
    tag: str | None = None  # only for senders with this tag
    reply: Reply

    @model_validator(mode="after")
    def _one_match(self) -> AutoReply:
        given = [m for m in (self.equals, self.contains, self.regex, self.command) if m is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, contains, regex or command")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        return self


class ScheduleSpec(Strict):
    timezone: str
    weekly: dict[str, str]  # "mon-fri": "09:00-18:00", "sat": "10:00-14:00"; days not named are closed
    closed_on: list[date] = []

    def schedule(self) -> Schedule:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {self.timezone!r} (use an IANA name like Asia/Dubai)"
            ) from None
        weekly: dict[str, tuple[Any, ...]] = {}
        for days, ranges in self.weekly.items():
            for day in expand_days(days):
                weekly[day] = weekly.get(day, ()) + parse_ranges(ranges)
        return Schedule(zone, weekly, frozenset(self.closed_on))


class Hours(ScheduleSpec):
    accounts: dict[str, ScheduleSpec] = {}  # phone_number_id -> its own hours


class Away(Strict):
    reply: Reply
    every: Seconds = 43200.0  # at most one away message per conversation this often


class OptOut(Strict):
    stop: Words = ["STOP", "UNSUBSCRIBE", "إلغاء", "توقف"]
    start: Words = ["START"]
    stopped: Reply = ReplySpec(text="You will get no more messages from us. Send START to subscribe again.")
    started: Reply = ReplySpec(text="Welcome back: you will get our messages again. Send STOP to stop them.")


class Handoff(Strict):
    keywords: Words
    assign_to: str = "team"
    reply: Reply = ReplySpec(text="A member of our team will answer you here shortly.")


class Lookup(Strict):
    """`<command> <value>` from an allowed sender finds the contact whose attribute equals the value."""

    command: str = Field(pattern=r"^\S+$")
    attribute: str
    allowed_tags: Words = ["agent"]
    reply: Reply  # {{ found }} is the contact found, {{ value }} what was asked
    not_found: Reply = ReplySpec(text="No contact has {{ value }}.")


class Rules(Strict):
    default_language: str = "en"
    admins: list[Phone] = []
    hours: Hours | None = None
    away: Away | None = None
    greeting: Reply | None = None
    opt_out: OptOut = OptOut()
    handoff: Handoff | None = None
    lookups: list[Lookup] = []
    menus: dict[str, Menu] = {}
    replies: list[AutoReply] = []
    fallback: Reply | None = None  # answer to a message nothing else handled

    @model_validator(mode="after")
    def _references(self) -> Rules:
        if self.away is not None and self.hours is None:
            raise ValueError("away needs hours: say when the business is open")
        seen: dict[str, str] = {}
        for name, menu in self.menus.items():
            for option in menu.options:
                if option.id in seen:
                    raise ValueError(f"option id {option.id!r} is in menus {seen[option.id]} and {name}")
                seen[option.id] = name
        return self

    def business_hours(self) -> BusinessHours:
        if self.hours is None:
            return BusinessHours()
        accounts = {pnid: spec.schedule() for pnid, spec in self.hours.accounts.items()}
        return BusinessHours(self.hours.schedule(), accounts)

    def option(self, option_id: str) -> tuple[str, Option] | None:
        """The menu holding the option with this id, and the option."""
        for name, menu in self.menus.items():
            for option in menu.options:
                if option.id == option_id:
                    return name, option
        return None


def load_rules(path: str | Path) -> Rules:
    """Read and validate a rules file. Raises RulesError with every problem found."""
    source = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(source, [("", f"cannot read it: {exc.strerror or exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesError(source, [(where, f"not valid YAML: {problem}")]) from None
    return parse_rules(raw if raw is not None else {}, source)


def parse_rules(raw: Any, source: str = "rules") -> Rules:
    from linda.bot.replies import check_rules  # replies builds on these models

    if not isinstance(raw, dict):
        raise RulesError(source, [("", f"must be a mapping of sections, got {type(raw).__name__}")])
    try:
        rules = Rules.model_validate(raw)
    except ValidationError as exc:
        raise RulesError(source, [(_place(e["loc"]), _message(e)) for e in exc.errors()]) from None
    problems = check_rules(rules)
    try:
        rules.business_hours()
    except ValueError as exc:
        problems.append(("hours", str(exc)))
    if problems:
        raise RulesError(source, problems)
    return rules


def _place(loc: tuple[Any, ...]) -> str:
    place = ""
    for part in loc:
        if isinstance(part, int):
            place += f"[{part}]"
        elif str(part).startswith(("function-", "str", "dict[")):  # pydantic's union branch names
            continue
        else:
            place += f".{part}" if place else str(part)
    return place


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key (check its spelling against docs/bots.md)"
    return message


__all__ = ["SAMPLE_RULES", "InvalidPhone", "Rules", "RulesError", "load_rules", "parse_rules"]
