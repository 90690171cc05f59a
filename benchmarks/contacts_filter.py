"""The filter language on many contacts: p50/p95 per typical filter, on SQLite (and PostgreSQL).

Generates --filter-contacts contacts (default 1,000,000; deterministic, seed 6) with tags, typed attributes
and, for one in ten, a conversation; then times each filter through Linda's own path (parse, compile,
SQLAlchemy, the async driver), two ways: the first page (`ORDER BY id LIMIT 50`, what `GET /api/contacts?filter=`
and `linda contacts list --limit 50` run) and a count of every match (what a campaign or a mass update
selects). Goal: indexed fields (phone =, id =, tag =, opted_out) under 50 ms at p95.

Run alone: `python -m benchmarks.contacts_filter [--filter-contacts N] [--backends sqlite|postgres|both]`;
benchmarks/contacts.py calls run(args).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.contacts import machine
from benchmarks.harness import ROOT
from linda.query.compile import where_clause
from linda.query.fold import register_sqlite
from linda.query.grammar import parse
from linda.store.db import Database
from linda.store.models import Contact

Row = dict[str, Any]
RESULTS = ROOT / "benchmarks" / "results" / "contacts_filter.json"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
GOAL_MS = 50.0
PAGE = 50
TAGS = ["owner", "buyer", "tenant", "investor", "vip", "agent", "lead", "cold", "hot", "arabic"]
CLUSTERS = [
    "Vardon",
    "Amazonia",
    "Marina",
    "Creek",
    "Hills",
    "Springs",
    "Meadows",
    "Lakes",
    "Palm",
    "Downtown",
]
NAMES = ["Ali", "Fatima", "Omar", "Aisha", "John", "Priya", "Ivan", "Mei", "Yuki", "Sara", "Ahmed", "Zoe"]
START = datetime(2025, 1, 1, tzinfo=UTC)
INDEXED = {"phone =", "id =", "tag =", "opted_out", "NOT opted_out"}
FILTERS = {
    "tag =": "tag = vip",
    "opted_out": "opted_out",
    "NOT opted_out": "NOT opted_out",
    "attribute =": "cluster = Vardon",
    "attribute range": "price 500000 TO 900000",
    "attribute IN": 'cluster IN ["Vardon", "Amazonia"]',
    "name CONTAINS": 'name CONTAINS "ali"',
    "last_inbound_at >": "last_inbound_at > 2026-06-01",
    "in_service_window": "in_service_window",
    "the issue's example": (
        'tag = owner AND cluster IN ["Vardon", "Amazonia"] AND price 500000 TO 900000 '
        'AND last_inbound_at > 2026-06-01 AND NOT opted_out AND name CONTAINS "ali"'
    ),
}


def people(count: int) -> Iterator[tuple[Any, ...]]:
    """(id, phone, wa_id, name, locale, tags, attributes, opted_out, created_at) rows."""
    rng = random.Random(6)
    for number in range(1, count + 1):
        phone = f"+9715{number:08d}"
        tags = [t for t in TAGS if rng.random() < 0.1]
        attributes: Row = {"cluster": rng.choice(CLUSTERS), "price": rng.randrange(100_000, 5_000_000, 1000)}
        if rng.random() < 0.5:
            attributes["bedrooms"] = rng.randint(1, 6)
        if rng.random() < 0.3:
            attributes["moved_in"] = (START + timedelta(days=rng.randint(0, 600))).date().isoformat()
        name = f"{rng.choice(NAMES)} {rng.choice(NAMES)}son"
        created = START + timedelta(seconds=number * 30)
        yield (number, phone, phone[1:], name, rng.choice(["en", "ar", "hi"]), tags, attributes,
               rng.random() < 0.03, created)  # fmt: skip


def conversations(count: int) -> Iterator[tuple[Any, ...]]:
    """(contact_id, last_inbound_at, window_expires_at) for one contact in ten."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    for contact_id in range(1, count + 1, 10):
        inbound = now - timedelta(minutes=rng.randint(0, 600 * 24 * 60))
        yield contact_id, inbound, inbound + timedelta(hours=24)


def _naive(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def fill_sqlite(path: Path, count: int) -> None:
    con = sqlite3.connect(path)
    register_sqlite(con)  # the search index's triggers fold each name as it is written
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("INSERT INTO accounts (id, phone_number_id, display_phone_number, waba_id, name, "
                "throughput_per_second, quality, created_at) VALUES (1, 'bench', '+1', '', '', 80, 'UNKNOWN', ?)",
                (_naive(START),))  # fmt: skip
    con.executemany(
        "INSERT INTO contacts (id, phone, wa_id, name, locale, tags, attributes, opted_out, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (i, p, w, n, lo, json.dumps(t), json.dumps(a), o, _naive(c), _naive(c))
            for i, p, w, n, lo, t, a, o, c in people(count)
        ),
    )
    con.executemany(
        "INSERT INTO conversations (account_id, contact_id, last_inbound_at, window_expires_at, created_at)"
        " VALUES (1, ?, ?, ?, ?)",
        ((c, _naive(i), _naive(w), _naive(i)) for c, i, w in conversations(count)),
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()


async def fill_postgres(url: str, count: int) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO accounts (id, phone_number_id, display_phone_number, waba_id, name, throughput_per_second,"
            " quality, created_at) VALUES (1, 'bench', '+1', '', '', 80, 'UNKNOWN', $1)",
            START.replace(tzinfo=None),
        )
        await conn.copy_records_to_table(
            "contacts",
            columns=[
                "id",
                "phone",
                "wa_id",
                "name",
                "locale",
                "tags",
                "attributes",
                "opted_out",
                "created_at",
                "updated_at",
            ],
            records=[
                (
                    i,
                    p,
                    w,
                    n,
                    lo,
                    json.dumps(t),
                    json.dumps(a),
                    o,
                    c.replace(tzinfo=None),
                    c.replace(tzinfo=None),
                )
                for i, p, w, n, lo, t, a, o, c in people(count)
            ],
        )
        await conn.copy_records_to_table(
            "conversations",
            columns=["account_id", "contact_id", "last_inbound_at", "window_expires_at", "created_at"],
            records=[
                (1, c, i.replace(tzinfo=None), w.replace(tzinfo=None), i.replace(tzinfo=None))
                for c, i, w in conversations(count)
            ],
        )
        await conn.execute("SELECT setval('contacts_id_seq', $1)", count)
        await conn.execute("VACUUM ANALYZE contacts")
        await conn.execute("VACUUM ANALYZE conversations")
    finally:
        await conn.close()


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def time_filters(db: Database, count: int, queries: int) -> Row:
    middle = max(1, count // 2)
    filters = FILTERS | {"phone =": f'phone = "+9715{middle:08d}"', "id =": f"id = {middle}"}
    results: Row = {}
    for label, text in filters.items():
        row: Row = {"filter": text, "indexed": label in INDEXED}
        for shape in ("page", "count"):
            samples: list[float] = []
            matched = 0
            for _ in range(queries if shape == "page" else max(3, queries // 5)):
                started = time.perf_counter()
                condition = where_clause(parse(text), db.dialect)
                async with db.read() as session:
                    if shape == "page":
                        page = select(Contact).where(condition).order_by(Contact.id).limit(PAGE)
                        matched = len((await session.scalars(page)).all())
                    else:
                        counting = select(func.count()).select_from(Contact).where(condition)
                        matched = int(await session.scalar(counting) or 0)
                samples.append((time.perf_counter() - started) * 1000)
            row[shape] = {
                "p50_ms": round(statistics.median(samples), 2),
                "p95_ms": round(_percentile(samples, 0.95), 2),
                "queries": len(samples),
                "rows": matched,
            }
        results[label] = row
    return results


def _verdict(results: Row) -> Row:
    slow = [k for k, r in results.items() if r["indexed"] and r["page"]["p95_ms"] >= GOAL_MS]
    return {"goal": f"indexed filters, first page p95 < {GOAL_MS:g} ms", "met": not slow, "missed_by": slow}


async def bench_sqlite(count: int, queries: int, workdir: Path) -> Row:
    path = workdir / "filters.db"
    db = Database(f"sqlite:///{path}")
    await db.upgrade()
    started = time.perf_counter()
    await asyncio.to_thread(fill_sqlite, path, count)
    filled = time.perf_counter() - started
    try:
        results = await time_filters(db, count, queries)
    finally:
        await db.dispose()
    return {"contacts": count, "fill_seconds": round(filled, 1), "filters": results} | _verdict(results)


async def bench_postgres(count: int, queries: int) -> Row:
    import asyncpg

    name = f"linda_bench_filters_{count}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    db = Database(url)
    try:
        await db.upgrade()
        started = time.perf_counter()
        await fill_postgres(url, count)
        filled = time.perf_counter() - started
        results = await time_filters(db, count, queries)
    finally:
        await db.dispose()
        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    return {"contacts": count, "fill_seconds": round(filled, 1), "filters": results} | _verdict(results)


def run(args: argparse.Namespace) -> Row:
    """Time the filters on the backends of `args.backends` (sqlite, postgres or both)."""
    count = getattr(args, "filter_contacts", None) or 1_000_000
    queries = getattr(args, "filter_queries", None) or 30
    backends = getattr(args, "backends", "sqlite")
    chosen = ["sqlite", "postgres"] if backends == "both" else [backends]
    result: Row = {"contacts": count, "page_size": PAGE}
    with tempfile.TemporaryDirectory(prefix="linda-filters-") as workdir:
        if "sqlite" in chosen:
            started = _now()
            result["sqlite"] = {"started": started, **asyncio.run(bench_sqlite(count, queries, Path(workdir)))}
    if "postgres" in chosen:
        started = _now()
        result["postgres"] = {"started": started, **asyncio.run(bench_postgres(count, queries))}
    return result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--filter-contacts", type=int, default=1_000_000, help="contacts to generate")
    parser.add_argument("--filter-queries", type=int, default=30, help="timed queries per filter (page)")
    parser.add_argument("--backends", default="sqlite", help="sqlite, postgres or both")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON result goes")
    args = parser.parse_args()
    result = {
        "benchmark": "contacts_filter",
        "date": _now(),
        "machine": machine(),
        "command": "python -m benchmarks.contacts_filter " + " ".join(sys.argv[1:]),
        **run(args),
    }
    previous: Row = json.loads(args.output.read_text()) if args.output.exists() else {}
    for backend in ("sqlite", "postgres"):  # a run on one database keeps the other's last results
        if backend not in result and backend in previous:
            result[backend] = previous[backend]
    text = json.dumps(result, indent=2)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
