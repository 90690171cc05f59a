"""`linda search`: a table, JSON lines, --where, --in, --reindex."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from linda.cli import app
from linda.store.db import Database
from linda.store.models import Account, Contact, Message

runner = CliRunner()


async def _corpus(url: str) -> None:
    db = Database(url)
    await db.upgrade()
    async with db.transaction() as session:
        account = Account(phone_number_id="1", display_phone_number="+97140000001")
        vip = Contact(phone="+971501110001", name="Мария", tags=["vip"], attributes={})
        other = Contact(phone="+971501110002", name="Иван", tags=[], attributes={})
        session.add_all([account, vip, other])
        await session.flush()
        for contact in (vip, other):
            session.add(
                Message(account_id=account.id, contact_id=contact.id, direction="in", type="text",
                        text="Ищу квартиру в Дубае", state="received")
            )  # fmt: skip
    await db.dispose()


def test_search_command(env: str) -> None:
    asyncio.run(_corpus(env))
    table = runner.invoke(app, ["search", "квартиру"])
    assert table.exit_code == 0, table.output
    assert "[квартиру]" in table.output and "Мария" in table.output and "Иван" in table.output
    lines = runner.invoke(app, ["search", "квартиру", "--where", "tag = vip", "--json"]).output.splitlines()
    assert [json.loads(line)["contact_name"] for line in lines] == ["Мария"]
    people = runner.invoke(app, ["search", "иван", "--in", "contacts", "--json"]).output.splitlines()
    assert [json.loads(line)["kind"] for line in people] == ["contact"]
    assert "No hits." in runner.invoke(app, ["search", "villa"]).output
    assert runner.invoke(app, ["search", "x", "--where", "tag = = x"]).exit_code == 2
    assert runner.invoke(app, ["segments", "save", "vips", "--where", "tag = vip"]).exit_code == 0
    by_segment = runner.invoke(app, ["search", "квартиру", "--where", "@vips", "--json"]).output.splitlines()
    assert [json.loads(line)["contact_name"] for line in by_segment] == ["Мария"]
    rebuilt = runner.invoke(app, ["search", "--reindex"])
    assert rebuilt.exit_code == 0 and "Indexed 4 rows." in rebuilt.output
    assert len(runner.invoke(app, ["search", "дубае", "--json"]).output.splitlines()) == 2
