"""POST /api/imports: an upload becomes a background import; its progress and rejects, on both backends."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from linda.store.models import Contact
from tests.api.conftest import Api

CSV = "Name,Mobile,Community\nAli,0501234567,Vardon\nBad,12,X\nSara,+971 55 123 4567,Marina\n"


async def wait_done(api: Api, import_id: int) -> dict[str, object]:
    for _ in range(200):
        body: dict[str, object] = (await api.client.get(f"/api/imports/{import_id}")).json()
        if body["state"] != "running":
            return body
        await asyncio.sleep(0.02)
    raise AssertionError("the import did not finish")


async def test_upload_import_progress_and_rejects(api: Api) -> None:
    files = {"file": ("brokers.csv", CSV.encode(), "text/csv")}
    data = {"region": "ae", "tag": ["api", "brokers"]}
    started = await api.client.post("/api/imports", files=files, data=data)
    assert started.status_code == 202, started.text
    assert started.json()["source"] == "brokers.csv"
    done = await wait_done(api, started.json()["id"])
    assert (done["state"], done["rows_done"], done["created"], done["rejected"]) == ("done", 3, 2, 1)
    async with api.db.read() as session:
        stored = {c.phone: c.tags for c in (await session.scalars(select(Contact))).all()}
    assert stored == {"+971501234567": ["api", "brokers"], "+971551234567": ["api", "brokers"]}
    rejects = await api.client.get(f"/api/imports/{done['id']}/rejects")
    assert rejects.status_code == 200
    assert rejects.text.splitlines() == ["row,column,value,reason", "3,Mobile,12,impossible"]


async def test_bad_uploads_answer_in_the_error_shape(api: Api) -> None:
    empty = await api.client.post("/api/imports", files={"file": ("empty.csv", b"", "text/csv")})
    assert empty.status_code == 422
    assert empty.json() == {
        "status": 422,
        "code": "invalid_file",
        "message": "empty.csv is empty",
        "field": "file",
    }
    no_phone = await api.client.post("/api/imports", files={"file": ("x.csv", b"name\nAli\n", "text/csv")})
    assert no_phone.json()["code"] == "invalid_file"
    assert "no phone column" in no_phone.json()["message"]
    missing = await api.client.get("/api/imports/999999")
    assert missing.status_code == 404
    assert (await api.client.get("/api/imports/999999/rejects")).status_code == 404
    async with api.anonymous() as anonymous:
        assert (await anonymous.get("/api/imports/1")).status_code == 401
