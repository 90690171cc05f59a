"""`linda contacts update / undo / jobs` and `linda segments`, through Typer's runner on a real database."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from linda.cli import app
from linda.store.db import Database
from linda.store.models import Contact

runner = CliRunner()


def seed(url: str) -> None:
    async def work() -> None:
        db = Database(url)
        await db.upgrade()
        async with db.transaction() as session:
            for n in range(6):
                session.add(
                    Contact(phone=f"+97150111{n:04d}", tags=["owner"] if n < 4 else [], attributes={})
                )
        await db.dispose()

    asyncio.run(work())


def test_update_counts_applies_and_undoes(env: str) -> None:
    seed(env)
    dry = runner.invoke(
        app, ["contacts", "update", "--where", "tag = owner", "--add-tag", "vip", "--dry-run"]
    )
    assert dry.exit_code == 0 and "4 contact(s) match." in dry.output
    done = runner.invoke(
        app, ["contacts", "update", "--where", "tag = owner", "--add-tag", "vip", "--set", "tier=2", "--yes"]
    )
    assert done.exit_code == 0 and "job 1: 4 of 4 contact(s) changed" in done.output
    assert (
        "4 contact(s) match."
        in runner.invoke(
            app, ["contacts", "update", "--where", "tag = vip", "--remove-tag", "x", "--dry-run"]
        ).output
    )
    jobs = runner.invoke(app, ["contacts", "jobs"])
    assert jobs.exit_code == 0 and "tag = owner" in jobs.output
    undone = runner.invoke(app, ["contacts", "undo", "1"])
    assert undone.exit_code == 0 and "4 contact(s) restored" in undone.output
    again = runner.invoke(
        app, ["contacts", "update", "--where", "tag = vip", "--remove-tag", "x", "--dry-run"]
    )
    assert "0 contact(s) match." in again.output


def test_update_refuses_bad_input_with_the_reason(env: str) -> None:
    bad = runner.invoke(app, ["contacts", "update", "--where", "tag = = owner", "--add-tag", "x"])
    assert bad.exit_code == 2 and "Invalid filter" in bad.output and "position" in bad.output
    nothing = runner.invoke(app, ["contacts", "update", "--where", "tag = owner"])
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output
    assert runner.invoke(app, ["contacts", "undo", "99"]).exit_code == 1


def test_segments_save_list_show_and_use(env: str) -> None:
    seed(env)
    saved = runner.invoke(app, ["segments", "save", "owners", "--where", "tag = owner"])
    assert saved.exit_code == 0 and "segment @owners saved: 4 contact(s) now." in saved.output
    listed = runner.invoke(app, ["segments", "list"])
    assert "@owners" in listed.output and "4" in listed.output
    shown = runner.invoke(app, ["segments", "show", "owners", "--sample", "2"])
    assert "4 contact(s)" in shown.output and "+971501110000" in shown.output
    used = runner.invoke(
        app, ["contacts", "update", "--where", "@owners AND NOT opted_out", "--opt-out", "--dry-run"]
    )
    assert "4 contact(s) match." in used.output
    assert runner.invoke(app, ["segments", "save", "loop", "--where", "@loop"]).exit_code == 2
    assert runner.invoke(app, ["segments", "delete", "owners"]).exit_code == 0
    assert runner.invoke(app, ["segments", "show", "owners"]).exit_code == 1
