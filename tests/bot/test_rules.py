"""The rules file: validation with clear errors, the sample, business hours, reloading without a restart."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path

import pytest

from linda.bot.hours import expand_days, parse_ranges
from linda.bot.rules import SAMPLE_RULES, RulesError, load_rules, parse_rules
from linda.bot.source import RulesSource

MENU = {"main": {"text": "Pick one", "options": [{"id": "a", "title": "A", "reply": "You chose A"}]}}


def problems(raw: object) -> list[tuple[str, str]]:
    with pytest.raises(RulesError) as caught:
        parse_rules(raw, "rules.yaml")
    assert str(caught.value).startswith("rules.yaml has")
    return caught.value.problems


def test_the_sample_brokerage_rules_are_valid() -> None:
    rules = load_rules(SAMPLE_RULES)
    assert set(rules.menus) == {"main", "buy_areas"}
    assert [o.id for o in rules.menus["main"].options] == ["buy", "rent", "sell"]
    assert rules.greeting is not None and isinstance(rules.greeting.text, dict)
    assert set(rules.greeting.text) == {"en", "ar"}
    assert rules.lookups[0].attribute == "unit" and rules.lookups[0].allowed_tags == ["agent"]


def test_an_empty_file_is_valid_and_does_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    rules = load_rules(path)
    assert rules.menus == {} and rules.greeting is None and rules.opt_out.stop[0] == "STOP"


@pytest.mark.parametrize(
    ("raw", "place", "says"),
    [
        ({"greting": "hi"}, "greting", "unknown key"),
        ({"menus": {"main": {**MENU["main"], "colour": "red"}}}, "menus.main.colour", "unknown key"),
        ({"greeting": {"text": "hi", "menu": "nope"}}, "greeting.menu", "no menu named 'nope'"),
        (
            {"menus": {"m": {"text": "t", "options": [{"id": "a", "title": "A"}]}}},
            "menus.m.options[0]",
            "needs a reply",
        ),
        (
            {"menus": {"m": {"text": "t", "options": [{"id": "a", "title": "A", "menu": "x"}]}}},
            "menus.m.options[0].menu",
            "no menu named 'x'",
        ),
        (
            {
                "menus": {
                    "m": {
                        "text": "t",
                        "options": [{"id": "a", "title": "Twenty-one characters", "reply": "r"}],
                    }
                }
            },
            "menus.m",
            "at most 20 characters",
        ),
        ({"replies": [{"regex": "(unclosed", "reply": "r"}]}, "replies[0]", "does not compile"),
        ({"replies": [{"equals": "a", "contains": "b", "reply": "r"}]}, "replies[0]", "exactly one of"),
        ({"greeting": "Hello {{ contact.name"}, "greeting.text", "template does not parse"),
        ({"greeting": {"buttons": [{"id": "x", "title": "X"}]}}, "greeting", "need a text"),
        ({"admins": ["+971500000001", "12"]}, "admins[1]", "not a phone number"),
        ({"away": {"reply": "closed"}}, "", "away needs hours"),
        ({"hours": {"timezone": "Mars/Base", "weekly": {}}}, "hours", "unknown time zone 'Mars/Base'"),
        ({"hours": {"timezone": "Asia/Dubai", "weekly": {"mon-xyz": "09:00-17:00"}}}, "hours", "mon-xyz"),
        ({"hours": {"timezone": "Asia/Dubai", "weekly": {"mon": "17:00-09:00"}}}, "hours", "ends before"),
        (
            {"away": {"reply": "x", "every": "soon"}, "hours": {"timezone": "UTC", "weekly": {}}},
            "away.every",
            "not a duration",
        ),
        ({"menus": {"m": MENU["main"], "n": MENU["main"]}}, "", "option id 'a' is in menus m and n"),
        ({"greeting": {"image": {"caption": "c"}}}, "greeting.image", "exactly one of link"),
        ([1, 2], "", "must be a mapping"),
    ],
)
def test_mistakes_are_reported_with_their_place_and_what_is_wrong(raw: object, place: str, says: str) -> None:
    found = problems(raw)
    assert any(where == place and says in message for where, message in found), found


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("greeting: hi\nmenus: [\n", encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.problems[0][0].startswith("line 3")
    assert "not valid YAML" in caught.value.problems[0][1]


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read it"):
        load_rules(tmp_path / "absent.yaml")


def test_limits_are_checked_in_every_language() -> None:
    raw = {"greeting": {"text": {"en": "Hi", "ar": "x" * 5000}}}
    assert problems(raw) == [
        ("greeting", "breaks a WhatsApp limit: text.body: must be at most 4096 characters, got 5000")
    ]


def test_opening_hours_parse_day_ranges_and_split_times() -> None:
    assert expand_days("mon-fri") == ["mon", "tue", "wed", "thu", "fri"]
    assert expand_days("fri-mon") == ["fri", "sat", "sun", "mon"]
    assert parse_ranges("09:00-13:00, 14:00-18:00") == ((time(9), time(13)), (time(14), time(18)))
    assert parse_ranges("closed") == ()
    assert parse_ranges("20:00-24:00") == ((time(20), time.max),)
    with pytest.raises(ValueError, match="not a time"):
        parse_ranges("9am-5pm")
    with pytest.raises(ValueError, match="not a range"):
        parse_ranges("09:00")


def test_an_edit_applies_without_restart_and_a_broken_edit_keeps_the_rules_in_force(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("greeting: Hello\n", encoding="utf-8")
    source = RulesSource(path, check_seconds=0)
    assert source.current(1.0).rules.greeting.text == "Hello"  # type: ignore[union-attr]

    path.write_text("greeting: Welcome back\n", encoding="utf-8")
    os.utime(path, ns=(1, 2_000_000_000))
    assert source.current(2.0).rules.greeting.text == "Welcome back"  # type: ignore[union-attr]

    path.write_text("greeting: [unclosed\n", encoding="utf-8")
    os.utime(path, ns=(1, 3_000_000_000))
    assert source.current(3.0).rules.greeting.text == "Welcome back"  # type: ignore[union-attr]
    assert source.reload_if_changed() is False  # the broken edit is not retried until the file changes


def test_changes_are_looked_for_at_most_every_check_interval(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("greeting: One\n", encoding="utf-8")
    source = RulesSource(path, check_seconds=10)
    source.current(100.0)
    path.write_text("greeting: Two\n", encoding="utf-8")
    os.utime(path, ns=(1, 5_000_000_000))
    assert source.current(105.0).rules.greeting.text == "One"  # type: ignore[union-attr]
    assert source.current(111.0).rules.greeting.text == "Two"  # type: ignore[union-attr]
