"""The `linda` command, through Typer's runner, on a real database file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner, Result

from linda.cli import app
from linda.cli.common import console
from linda.settings import get_settings
from linda.store.migrate import alembic_config

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("serve", "worker", "emulator", "send", "accounts", "inbox", "db", "settings"):
        assert name in result.output


def add_account(throughput: int) -> Result:
    args = ["accounts", "add", "--phone-number-id", "42", "--display-number", "+971 4 123 4567"]
    return runner.invoke(app, [*args, "--throughput", str(throughput), "--name", "Rentals"])


def test_accounts_add_then_list(env: str) -> None:
    added = add_account(20)
    assert added.exit_code == 0, added.output
    again = add_account(80)  # the same number again: updated, not duplicated
    assert again.exit_code == 0
    listed = runner.invoke(app, ["accounts", "list", "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["phone_number_id"], r["throughput_per_second"], r["name"]) for r in rows] == [
        ("42", 80, "Rentals")
    ]


def test_send_queues_a_template_and_refuses_a_cold_text(env: str) -> None:
    runner.invoke(app, ["accounts", "add", "--phone-number-id", "42", "--display-number", "+971 4 123 4567"])
    queued = runner.invoke(app, ["send", "--to", "+971501234567", "--template", "hello:en_US"])
    assert queued.exit_code == 0 and "queued message 1 to 971501234567" in queued.output
    cold = runner.invoke(app, ["send", "--to", "+971501234567", "--text", "hi"])
    assert cold.exit_code == 1 and "outside_service_window" in cold.output
    both = runner.invoke(app, ["send", "--to", "+971501234567", "--text", "hi", "--template", "x:en"])
    assert both.exit_code != 0 and "exactly one" in both.output


def test_send_without_an_account_says_how_to_add_one(env: str) -> None:
    result = runner.invoke(app, ["send", "--to", "+971501234567", "--template", "hello:en_US"])
    assert result.exit_code != 0 and "linda accounts add" in result.output
    other = runner.invoke(
        app, ["send", "--to", "+971501234567", "--template", "hello:en_US", "--account", "7"]
    )
    assert other.exit_code != 0 and "no account 7" in other.output


def test_inbox_status_and_replay(env: str) -> None:
    import asyncio

    from linda.inbox.processor import InboxProcessor
    from linda.store.db import Database
    from linda.store.models import InboxItem

    async def dead_letter() -> None:
        db = Database(env)
        await db.upgrade()
        async with db.transaction() as session:
            session.add(InboxItem(body=b"[]"))
        await InboxProcessor(db).drain()
        await db.dispose()

    asyncio.run(dead_letter())
    status = runner.invoke(app, ["inbox", "status"])
    assert "dead: 1" in status.output and "not a WhatsApp webhook" in status.output
    replayed = runner.invoke(app, ["inbox", "replay"])
    assert "1 dead letter(s) queued again" in replayed.output
    assert "pending: 1" in runner.invoke(app, ["inbox", "status"]).output


def test_db_upgrade_and_settings(env: str) -> None:
    upgraded = runner.invoke(app, ["db", "upgrade"])
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert upgraded.exit_code == 0 and f"revision {head}" in upgraded.output
    settings = runner.invoke(app, ["settings"])
    assert "LINDA_DATABASE_URL" in settings.output


def test_serve_refuses_meta_with_sandbox_secrets(env: str) -> None:
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2 and "LINDA_APP_SECRET" in result.output and "--sandbox" in result.output
    worker = runner.invoke(app, ["worker"])
    assert worker.exit_code == 2 and "LINDA_ACCESS_TOKEN" in worker.output


def test_empty_secret_is_refused_even_against_an_emulator(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINDA_GRAPH_API_URL", "http://127.0.0.1:8100")
    monkeypatch.setenv("LINDA_APP_SECRET", "")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2 and "LINDA_APP_SECRET" in result.output


def test_sandbox_refuses_to_listen_beyond_loopback(env: str) -> None:
    result = runner.invoke(app, ["serve", "--sandbox", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "no authentication" in result.output


async def test_send_wait_and_messages_list_against_a_running_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from tests.conftest import NUMBER
    from tests.stack import running_stack

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    async with running_stack(url) as stack:
        monkeypatch.setenv("LINDA_DATABASE_URL", url)
        monkeypatch.setattr(console, "width", 200)
        get_settings.cache_clear()
        await stack.emulator.user_sends(
            NUMBER.phone_number_id, "971501234567", {"type": "text", "text": {"body": "hi"}}
        )
        await stack.inbox_settled()
        args = ["send", "--to", "+971501234567", "--text", "Hello Ali", "--wait", "--timeout", "20"]
        delivered = await asyncio.to_thread(runner.invoke, app, args)
        stack.emulator.mark_not_on_whatsapp("971501234567")
        failed = await asyncio.to_thread(runner.invoke, app, [*args[:4], "lost", "--wait"])
        listed = await asyncio.to_thread(runner.invoke, app, ["messages", "list", "--json", "--limit", "5"])
        table = await asyncio.to_thread(runner.invoke, app, ["messages", "list"])
    get_settings.cache_clear()
    assert delivered.exit_code == 0 and "read" in delivered.output
    assert failed.exit_code == 1 and "failed (131026" in failed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["direction"], r["text"], r["state"]) for r in rows] == [
        ("out", "lost", "failed"),
        ("out", "Hello Ali", "read"),
        ("in", "hi", "received"),
    ]
    assert rows[0]["contact"] == "+971501234567" and rows[1]["wamid"].startswith("wamid.")
    assert "Hello Ali" in table.output


async def test_send_media_uploads_then_sends_it_by_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from tests.conftest import NUMBER
    from tests.stack import running_stack

    url = f"sqlite:///{tmp_path / 'media.db'}"
    deed = tmp_path / "title-deed.pdf"
    deed.write_bytes(b"%PDF-1.4 not much of a deed")
    async with running_stack(url) as stack:
        for name, value in {
            "LINDA_DATABASE_URL": url,
            "LINDA_GRAPH_API_URL": stack.emulator_url,
            "LINDA_ACCESS_TOKEN": stack.settings.access_token,
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        await stack.emulator.user_sends(
            NUMBER.phone_number_id, "971501234567", {"type": "text", "text": {"body": "hi"}}
        )
        await stack.inbox_settled()
        args = ["send", "--to", "+971501234567", "--media", str(deed), "--caption", "your deed", "--wait"]
        result = await asyncio.to_thread(runner.invoke, app, args)
        [sent] = stack.emulator.sent_messages("971501234567")
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert sent.body["type"] == "document"
    document = sent.body["document"]
    assert (document["filename"], document["caption"]) == ("title-deed.pdf", "your deed")
    assert stack.emulator.media[document["id"]].data == b"%PDF-1.4 not much of a deed"


def test_workers_started_by_the_linda_script_leave_its_module_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as the `linda` script (a main module without a spec), worker processes are told to start as under
    `python -m linda`, which multiprocessing does not import again in them."""
    import multiprocessing.spawn
    import types

    from linda.cli import start_children_as_module

    script = types.ModuleType("__main__")
    script.__file__ = "/usr/local/bin/linda"
    script.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", script)
    start_children_as_module()
    prepared = multiprocessing.spawn.get_preparation_data("worker")
    assert prepared["init_main_from_name"] == "linda.__main__"
    assert "init_main_from_path" not in prepared
