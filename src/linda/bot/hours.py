"""Business hours: weekly opening times in a time zone, per number, with closed days (holidays)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_ranges(spec: str) -> tuple[tuple[time, time], ...]:
    """ "09:00-13:00, 14:00-18:00" -> ((09:00, 13:00), (14:00, 18:00)); "closed" or "" -> (); an end of
    24:00 means midnight. Raises ValueError saying what is wrong."""
    spec = spec.strip().lower()
    if spec in ("", "closed"):
        return ()
    ranges = []
    for part in spec.split(","):
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise ValueError(f"{part.strip()!r} is not a range like 09:00-18:00")
        opens, closes = _clock(start), _clock(end)
        if closes != time.max and closes <= opens:
            raise ValueError(f"{part.strip()!r} ends before it starts (split ranges that cross midnight)")
        ranges.append((opens, closes))
    return tuple(ranges)


def _clock(value: str) -> time:
    value = value.strip()
    if value == "24:00":
        return time.max
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time like 09:00") from None


def expand_days(key: str) -> list[str]:
    """ "mon-fri" -> [mon, tue, wed, thu, fri]; "sat" -> [sat]; wraps around ("fri-sun")."""
    first, sep, last = key.strip().lower().partition("-")
    if first not in DAYS or (sep and last not in DAYS):
        raise ValueError(f"{key!r} is not a day or a day range like mon-fri (days: {', '.join(DAYS)})")
    if not sep:
        return [first]
    start, end = DAYS.index(first), DAYS.index(last)
    return [DAYS[(start + i) % 7] for i in range((end - start) % 7 + 1)]


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    weekly: Mapping[str, tuple[tuple[time, time], ...]]  # day name -> opening ranges
    closed_on: frozenset[date] = frozenset()

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.timezone)
        if local.date() in self.closed_on:
            return False
        now = local.time().replace(tzinfo=None)
        return any(
            opens <= now < closes or (closes == time.max and now >= opens)
            for opens, closes in self.weekly.get(DAYS[local.weekday()], ())
        )


@dataclass(frozen=True)
class BusinessHours:
    """The default schedule, and schedules of numbers (by phone_number_id) that keep other hours.
    No schedule at all means always open."""

    default: Schedule | None = None
    accounts: Mapping[str, Schedule] = field(default_factory=dict)

    def is_open(self, phone_number_id: str, at: datetime) -> bool:
        schedule = self.accounts.get(phone_number_id, self.default)
        return schedule is None or schedule.is_open(at)
