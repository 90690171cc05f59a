"""Sandbox mode: Linda and the emulator in one server, talking over real HTTP on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from linda.accounts import SANDBOX_ACCOUNT
from linda.app import create_app
from linda.sending.outbox import enqueue
from linda.store.models import Account, Message
from linda.whatsapp import messages
from tests.servers import free_port, serve
from tests.stack import eventually, sandbox_test_settings


async def test_a_user_says_hi_and_gets_an_answer_with_read_ticks(tmp_path: Path) -> None:
    port = free_port()
    settings = sandbox_test_settings(tmp_path / "sandbox.db", port)
    app = create_app(settings)
    db = app.state.db
    async with serve(app, port=port) as url, httpx.AsyncClient(base_url=url) as client:
        said = await client.post(
            "/emulator/_emulator/inbound",
            json={"from": "971501234567", "type": "text", "text": {"body": "hi"}, "profile_name": "Ali"},
        )
        assert said.status_code == 200

        async def processed() -> bool:
            return (await client.get("/health")).json()["inbox"] == {"done": 1}

        await eventually(processed)
        async with db.transaction() as session:
            account = (await session.scalars(select(Account))).one()
            item = await enqueue(
                session, account=account, to="+971501234567", message=messages.text("Hello Ali")
            )

        async def read() -> bool:
            async with db.read() as session:
                return (await session.get_one(Message, item.message_id)).state == "read"

        await eventually(read)
        sent = (await client.get("/emulator/_emulator/sent")).json()
    assert account.phone_number_id == SANDBOX_ACCOUNT.phone_number_id
    # the sample rules greet a new contact with the main menu first
    texts = [(s["to"], s["payload"].get("text", {}).get("body")) for s in sent]
    assert texts[-1] == ("971501234567", "Hello Ali")
    assert "Welcome to Palm Homes" in str(texts[0][1])
