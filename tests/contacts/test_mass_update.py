"""Mass updates on SQLite and PostgreSQL: counted first, applied in chunks, journaled, undone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from linda.contacts.mass_update import Changes, JobError, count_matching, parse_assignment, run_update, undo
from linda.query.grammar import parse
from linda.store.db import Database
from linda.store.models import Contact, ContactChange


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(25):
            session.add(
                Contact(
                    phone=f"+97150000{n:04d}",
                    name=f"Owner {n}",
                    tags=["owner"] if n % 2 == 0 else ["tenant"],
                    attributes={"cluster": "Vardon" if n < 10 else "Amazonia", "price": 100_000 * n},
                )
            )


async def contacts(db: Database) -> dict[str, Contact]:
    async with db.read() as session:
        return {c.phone or "": c for c in (await session.scalars(select(Contact))).all()}


async def test_an_update_changes_exactly_the_selected_contacts_and_undo_restores_them(db: Database) -> None:
    await seed(db)
    text = 'tag = owner AND cluster = "Vardon"'
    expr = parse(text)
    assert await count_matching(db, expr) == 5  # a dry run counts first
    before = await contacts(db)
    seen: list[tuple[int, int]] = []
    changes = Changes(add_tags=("vip",), remove_tags=("owner",), set={"agent": "Sara"}, opt_out=True)
    job = await run_update(
        db, text, expr, changes, chunk=2, progress=lambda done, total: seen.append((done, total))
    )
    assert (job.state, job.matched, job.changed) == ("done", 5, 5)
    assert seen == [(2, 5), (4, 5), (5, 5)]  # chunk by chunk
    after = await contacts(db)
    changed = {p for p in after if after[p].tags != before[p].tags}
    assert len(changed) == 5
    for phone in changed:
        assert after[phone].tags == ["vip"] and after[phone].attributes["agent"] == "Sara"
        assert after[phone].opted_out and after[phone].opt_source == "mass_update"
    assert all(after[p].tags == before[p].tags for p in after if p not in changed)

    _, restored, conflicts = await undo(db, job.id)
    assert (restored, conflicts) == (5, 0)
    again = await contacts(db)
    for phone, contact in again.items():
        assert (contact.tags, contact.attributes, contact.opted_out) == (
            before[phone].tags,
            before[phone].attributes,
            before[phone].opted_out,
        )
    with pytest.raises(JobError, match="is undone"):
        await undo(db, job.id)


async def test_undo_leaves_contacts_changed_since_the_job(db: Database) -> None:
    await seed(db)
    job = await run_update(db, "price >= 2000000", parse("price >= 2000000"), Changes(add_tags=("premium",)))
    assert job.changed == 5
    async with db.transaction() as session:
        later = await session.scalar(select(Contact).where(Contact.phone == "+971500000024"))
        assert later is not None
        later.tags = [*later.tags, "called"]  # someone worked on this contact after the job
    _, restored, conflicts = await undo(db, job.id)
    assert (restored, conflicts) == (4, 1)
    now = await contacts(db)
    assert now["+971500000024"].tags == ["owner", "premium", "called"]
    assert now["+971500000023"].tags == ["tenant"]


async def test_contacts_already_as_asked_are_not_journaled(db: Database) -> None:
    await seed(db)
    job = await run_update(db, "tag = owner", parse("tag = owner"), Changes(add_tags=("owner",)))
    assert (job.matched, job.changed) == (13, 0)
    async with db.read() as session:
        assert (await session.scalars(select(ContactChange))).all() == []


def test_assignments_and_changes_are_checked() -> None:
    assert parse_assignment("price=750000") == ("price", 750000)
    assert parse_assignment("vip=true") == ("vip", True)
    assert parse_assignment("cluster=Vardon Gardens") == ("cluster", "Vardon Gardens")
    assert parse_assignment("note=") == ("note", "")
    assert parse_assignment("gone=null") == ("gone", None)
    with pytest.raises(JobError, match="attribute=value"):
        parse_assignment("novalue")
    with pytest.raises(JobError, match="nothing to change"):
        Changes()
    with pytest.raises(JobError, match="both added and removed"):
        Changes(add_tags=("a",), remove_tags=("a",))
