"""/api/segments and /api/contact-updates: saved filters with live counts, mass updates as jobs, undo."""

from __future__ import annotations

from sqlalchemy import select

from linda.store.models import Contact
from tests.api.conftest import Api
from tests.stack import eventually


async def seed(api: Api) -> None:
    async with api.db.transaction() as session:
        for n in range(8):
            session.add(
                Contact(
                    phone=f"+97150222{n:04d}",
                    name=f"P{n}",
                    tags=["owner"] if n < 5 else [],
                    attributes={"price": n},
                )
            )


async def test_segments_save_count_sample_and_delete(api: Api) -> None:
    await seed(api)
    saved = await api.client.put(
        "/api/segments/owners", json={"filter": "tag = owner", "description": "owners"}
    )
    assert saved.status_code == 200
    body = saved.json()
    assert (body["count"], len(body["sample"]), body["sample"][0]["phone"]) == (5, 5, "+971502220000")
    cheap = await api.client.put("/api/segments/cheap-owners", json={"filter": "@owners AND price < 2"})
    assert cheap.json()["count"] == 2
    listed = await api.client.get("/api/segments")
    assert [(s["name"], s["count"]) for s in listed.json()] == [("cheap-owners", 2), ("owners", 5)]
    one = await api.client.get("/api/segments/owners", params={"sample": 1})
    assert len(one.json()["sample"]) == 1

    bad = await api.client.put("/api/segments/x", json={"filter": "price <"})
    assert (
        bad.status_code == 422 and bad.json()["code"] == "invalid_filter" and bad.json()["field"] == "filter"
    )
    loop = await api.client.put("/api/segments/owners", json={"filter": "@cheap-owners"})
    assert loop.status_code == 422 and "uses itself" in loop.json()["message"]
    extra = await api.client.put("/api/segments/y", json={"filter": "tag = a", "colour": 1})
    assert extra.status_code == 422 and extra.json()["code"] == "unknown_field"
    assert (await api.client.delete("/api/segments/cheap-owners")).status_code == 204
    assert (await api.client.get("/api/segments/cheap-owners")).status_code == 404


async def test_a_mass_update_counts_runs_as_a_job_and_undoes(api: Api) -> None:
    await seed(api)
    dry = await api.client.post(
        "/api/contact-updates", json={"filter": "tag = owner", "add_tags": ["vip"], "dry_run": True}
    )
    assert dry.status_code == 200 and dry.json()["matched"] == 5 and dry.json()["id"] is None

    started = await api.client.post(
        "/api/contact-updates", json={"filter": "tag = owner", "add_tags": ["vip"], "set": {"tier": 2}}
    )
    assert started.status_code == 202
    job = started.json()["id"]

    async def finished() -> bool:
        return (await api.client.get(f"/api/contact-updates/{job}")).json()["state"] == "done"

    await eventually(finished)
    assert (await api.client.get(f"/api/contact-updates/{job}")).json()["changed"] == 5
    async with api.db.read() as session:
        vips = (
            await session.scalars(select(Contact).where(Contact.attributes["tier"].as_integer() == 2))
        ).all()
    assert len(vips) == 5 and all("vip" in c.tags for c in vips)

    undone = await api.client.post(f"/api/contact-updates/{job}/undo")
    assert undone.json() == {"id": job, "state": "undone", "restored": 5, "conflicts": 0}
    again = await api.client.post(f"/api/contact-updates/{job}/undo")
    assert again.status_code == 409 and again.json()["code"] == "not_undoable"
    assert (await api.client.post("/api/contact-updates/999/undo")).status_code == 404

    nothing = await api.client.post("/api/contact-updates", json={"filter": "tag = owner"})
    assert nothing.status_code == 422 and nothing.json()["code"] == "invalid_changes"
    hostile = await api.client.post(
        "/api/contact-updates", json={"filter": "name = '; DROP TABLE contacts; --", "opt_out": True}
    )
    assert hostile.status_code == 422 and hostile.json()["code"] == "invalid_filter"
