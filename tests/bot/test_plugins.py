"""Users' handler modules: loaded by `--bot`, routed by priority with explicit flow control, isolated from
each other's failures, and told about statuses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from linda.bot import Bot, PluginError
from linda.bot.plugins import load_plugin
from linda.cli import app
from linda.settings import get_settings
from linda.store.models import Message
from tests.bot.chat import Chat, bot_stack, said
from tests.stack import eventually

LOCAL_GRAPH = "http://127.0.0.1:9"  # not Meta: sandbox secrets are accepted
MODULE = """
from linda.bot import Bot, ContinueHandling, MessageContext, StatusContext, StopHandling, filters

seen_statuses = []


def setup(bot: Bot) -> None:
    @bot.on_message(filters.text_equals("ping"))
    async def pong(ctx: MessageContext) -> None:
        await ctx.send_text("pong")

    @bot.on_message(filters.text_contains("both"), priority=5)
    async def first(ctx: MessageContext) -> None:
        await ctx.send_text("first")
        raise ContinueHandling

    @bot.on_message(filters.text_contains("both"))
    async def second(ctx: MessageContext) -> None:
        await ctx.send_text("second")

    @bot.on_message(filters.text_equals("quiet"), priority=9)
    async def hush(ctx: MessageContext) -> None:
        raise StopHandling

    @bot.on_message(filters.text_equals("boom"), priority=9)
    async def boom(ctx: MessageContext) -> None:
        await ctx.send_text("this reply is rolled back with the failure")
        ctx.contact.name = "changed by a failing handler"
        raise RuntimeError("handler bug")

    @bot.on_status(filters.status("read"))
    async def on_read(ctx: StatusContext) -> None:
        assert ctx.message is not None
        seen_statuses.append((ctx.status.status, ctx.message.text))
"""


async def test_a_bot_module_answers_before_the_rules_and_controls_the_flow(
    database_url: str, tmp_path: Path
) -> None:
    module = tmp_path / "mybot.py"
    module.write_text(MODULE, encoding="utf-8")
    rules = "fallback: Sorry?\n"
    async with bot_stack(database_url, tmp_path, rules, bot_modules=[str(module)]) as stack:
        chat = Chat(stack)
        assert said(await chat.says("PING")) == ["pong"]  # a user's handler comes before the rules' fallback
        assert said(await chat.says("both please")) == ["first", "second"]
        assert await chat.says("quiet") == []  # stopped before the fallback
        assert said(await chat.says("hello")) == ["Sorry?"]

        assert await chat.says("boom") == []  # the failure is rolled back alone, and handling stops
        bot: Bot = stack.app.state.runtime.bot
        assert bot.errors[-1].handler.endswith("boom") and "handler bug" in bot.errors[-1].error
        assert (await chat.contact()).name == "Ali"
        async with stack.db.read() as session:
            texts = (await session.scalars(select(Message.text).where(Message.direction == "in"))).all()
        assert "boom" in texts  # the message itself is kept

        plugin = __import__("sys").modules["linda_bot_mybot"]

        async def pong_was_read() -> bool:
            return ("read", "pong") in plugin.seen_statuses

        await eventually(pong_was_read)


def test_a_module_without_setup_or_with_errors_is_refused_with_what_to_fix(tmp_path: Path) -> None:
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(PluginError, match=r"has no setup\(bot\) function"):
        load_plugin(Bot(), str(empty))
    broken = tmp_path / "broken.py"
    broken.write_text("import nowhere_to_be_found\n", encoding="utf-8")
    with pytest.raises(PluginError, match="failed to load: ModuleNotFoundError"):
        load_plugin(Bot(), str(broken))
    with pytest.raises(PluginError, match="does not exist"):
        load_plugin(Bot(), str(tmp_path / "absent.py"))
    with pytest.raises(PluginError, match=r"cannot import bot module 'no\.such\.module'"):
        load_plugin(Bot(), "no.such.module")


def test_a_dotted_module_name_loads_too() -> None:
    bot = Bot()
    load_plugin(bot, "tests.bot.sample_plugin")
    assert [h.label for h in bot.message_handlers] == ["setup.<locals>.hello"]


@pytest.fixture
def linda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Run `linda ARGS` with these LINDA_* settings only (no .env, no cached settings)."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, **settings: str) -> Result:
        for name in ("LINDA_SANDBOX", "LINDA_BOT_RULES", "LINDA_BOT_MODULES"):
            monkeypatch.delenv(name, raising=False)
        for name, value in settings.items():
            monkeypatch.setenv(f"LINDA_{name.upper()}", value)
        get_settings.cache_clear()
        return CliRunner().invoke(app, list(args))

    yield invoke
    get_settings.cache_clear()


def test_linda_bot_check_reports_problems_or_a_summary(tmp_path: Path, linda: Callable[..., Result]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("greeting: {text: hi, menu: nowhere}\n", encoding="utf-8")
    result = linda("bot", "check", str(bad))
    assert result.exit_code == 1
    assert "greeting.menu: no menu named 'nowhere'" in result.output

    result = linda("bot", "check", sandbox="true")
    assert result.exit_code == 0 and "is valid: 2 menu(s)" in result.output

    result = linda("bot", "check")
    assert result.exit_code == 2 and "No rules file" in result.output


def test_a_worker_with_a_broken_bot_module_stops_with_the_reason(
    tmp_path: Path, linda: Callable[..., Result]
) -> None:
    result = linda(
        "worker",
        "--bot",
        str(tmp_path / "absent.py"),
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        graph_api_url=LOCAL_GRAPH,
    )
    assert result.exit_code == 1
    assert "Cannot start:" in result.output and "absent.py does not exist" in result.output


def test_a_worker_refuses_a_broken_rules_file(tmp_path: Path, linda: Callable[..., Result]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("greeting: {text: hi, colour: red}\n", encoding="utf-8")
    result = linda(
        "worker",
        bot_rules=str(rules),
        database_url=f"sqlite:///{tmp_path / 'w.db'}",
        graph_api_url=LOCAL_GRAPH,
    )
    assert result.exit_code == 1 and "greeting.colour: unknown key" in result.output
