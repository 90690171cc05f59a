"""`linda token create / list / revoke`, through Typer's runner, on a real database file."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from linda.api.tokens import verify_token
from linda.cli import app
from linda.store.db import Database

runner = CliRunner()


def verified(url: str, token: str) -> bool:
    async def check() -> bool:
        db = Database(url)
        try:
            return await verify_token(db, token) is not None
        finally:
            await db.dispose()

    return asyncio.run(check())


def test_create_prints_the_token_alone_on_its_last_line(env: str) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "crm"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    token = lines[-1]
    assert token.startswith("linda_") and len(token) == 49 and " " not in token
    assert "cannot show it again" in result.output
    assert verified(env, token)
    again = runner.invoke(app, ["token", "create", "--name", "crm"])
    assert again.exit_code == 1 and "exists" in again.output and "linda_" not in again.output


def test_list_then_revoke(env: str) -> None:
    token = runner.invoke(app, ["token", "create", "--name", "crm"]).output.strip().splitlines()[-1]
    runner.invoke(app, ["token", "create", "--name", "billing"])
    verified(env, token)  # a use, noted as last used
    listed = runner.invoke(app, ["token", "list"])
    assert listed.exit_code == 0
    rows = {
        line.split()[1]: line for line in listed.output.splitlines() if "crm" in line or "billing" in line
    }
    assert set(rows) == {"crm", "billing"}
    assert "UTC" in rows["crm"] and rows["billing"].count("UTC") == 1  # created, never used
    assert token not in listed.output
    revoked = runner.invoke(app, ["token", "revoke", "crm"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert not verified(env, token)
    assert "already revoked" in runner.invoke(app, ["token", "revoke", "crm"]).output
    unknown = runner.invoke(app, ["token", "revoke", "nobody"])
    assert unknown.exit_code == 1 and "linda token list" in unknown.output
    crm = next(line for line in runner.invoke(app, ["token", "list"]).output.splitlines() if "crm" in line)
    assert crm.count("UTC") == 3  # created, last used, revoked


def test_a_blank_name_is_refused(env: str) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "  "])
    assert result.exit_code == 1 and "1 to 100 characters" in result.output
