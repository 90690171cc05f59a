"""Full-text search latency on SQLite: N messages in 7 languages, typical queries per language.

Builds a SQLite file with Linda's schema (migrations, so the FTS5 tables and their triggers are the real ones),
writes the messages in bulk through the triggers (each text folded by `linda_fold` as Linda's own connections
do), then times `linda.query.search.search` (top 20, ranked, with snippets) through Linda's Database, as
`linda search` and GET /api/search run it. Words are drawn Zipf-like from a small real vocabulary per language,
plus names and places that are rarer: the queries include common words, rare names, two-word queries, Arabic
spelled with hamza/ta-marbuta variants and diacritics, and one- and two-character Chinese and Japanese queries.

    .venv/bin/python -m benchmarks.contacts_search                       # 1,000,000 messages
    .venv/bin/python -m benchmarks.contacts_search --messages 100000 --repeats 20   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from linda.query.fold import register_sqlite
from linda.query.search import search
from linda.store.db import Database

Row = dict[str, Any]
RESULTS = Path(__file__).parent / "results" / "contacts_search.json"
TARGET_P95_MS = 50.0

# Common words (drawn Zipf-like) and rare words (names, places, drawn uniformly) per language.
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": (
        "the a to is in for of and you we please can have apartment villa price available viewing today "
        "tomorrow bedroom rent sale contract payment call send details location parking pool balcony "
        "furnished deposit agent",
        "Marina Downtown Jumeirah Emaar Sobha Vardon Amazonia Palm Creek Hills Harbour Meadows Springs "
        "Arabella Bluewaters Damac Azizi Nakheel Mirdif Barsha",
    ),
    "ar": (
        "في من على الى هل مع عن هذا هذه نعم لا شكرا السعر الشقة الفيلا متاحة غدا اليوم الايجار البيع العقد "
        "الدفع الموقع غرفة مسبح موقف مفروشة الوكيل مَرْحَبًا أُرِيدُ",
        "دبي أبوظبي الشارقة عجمان مرسى جميرا النخلة الخليج المدرسة المستشفى الجامعة مسجد سوق حديقة "
        "إطلالة البحر البرج الواحة الصحراء",
    ),
    "hi": (
        "है में की के को से और यह वह हम आप कृपया कीमत फ्लैट घर किराया बिक्री आज कल कमरा भुगतान अनुबंध "
        "स्थान पार्किंग नमस्ते धन्यवाद जानकारी उपलब्ध चाहिए",
        "दुबई मुंबई दिल्ली बेंगलुरु पुणे कोलकाता चेन्नई हैदराबाद जयपुर लखनऊ अहमदाबाद सूरत नागपुर इंदौर "
        "भोपाल पटना वडोदरा लुधियाना आगरा नासिक",
    ),
    "ur": (
        "ہے میں کی کے کو سے اور یہ وہ ہم آپ براہ قیمت فلیٹ گھر کرایہ فروخت آج کل کمرہ ادائیگی معاہدہ "
        "جگہ پارکنگ شکریہ معلومات دستیاب چاہیے مکان",
        "کراچی لاہور اسلام آباد پشاور کوئٹہ ملتان فیصل آباد راولپنڈی حیدرآباد سیالکوٹ گوجرانوالہ "
        "بہاولپور سکھر مردان ایبٹ آباد",
    ),
    "ru": (
        "в и не на я что с по это как вы мы пожалуйста цена квартира вилла аренда продажа сегодня завтра "
        "комната оплата договор адрес парковка бассейн балкон мебель залог агент",
        "Дубай Москва Петербург Казань Сочи Марина Джумейра Пальма Даунтаун Эмаар Собха Ёлка Новосибирск "
        "Екатеринбург Самара Омск Ростов Уфа Пермь Воронеж",
    ),
    "zh": (
        "我 你 的 是 在 有 了 不 这 那 请 价格 公寓 别墅 出租 出售 今天 明天 房间 付款 合同 地址 停车 游泳池 "
        "阳台 家具 押金 中介 看房",
        "北京 上海 广州 深圳 迪拜 杭州 成都 南京 武汉 西安 重庆 天津 苏州 香港 澳门 台北 厦门 青岛 大连 长沙",
    ),
    "ja": (
        "は が を に の で と も です ます ください 価格 マンション 一戸建て 賃貸 売買 今日 明日 部屋 支払い "
        "契約 住所 駐車場 プール バルコニー 家具 敷金 不動産",
        "東京 大阪 京都 横浜 名古屋 札幌 福岡 神戸 ドバイ 渋谷 新宿 池袋 品川 六本木 銀座 梅田 難波 博多 仙台 那覇",
    ),
}
# Typical queries per language: a common word, a rare name or place, two words, and the hard cases.
QUERIES: dict[str, list[str]] = {
    "en": ["apartment", "Vardon", "villa Marina", "bluewaters"],
    "ar": ["الشقه", "ابوظبي", "مرحبا اريد", "اطلالة البحر"],
    "hi": ["फ्लैट", "लखनऊ", "किराया मुंबई", "नमस्ते"],
    "ur": ["کراچی", "كراچي", "فلیٹ لاہور", "سیالکوٹ"],
    "ru": ["квартира", "елка", "аренда Дубай", "Екатеринбург"],
    "zh": ["北京", "京", "公寓 上海", "游泳池"],
    "ja": ["東京", "京", "マンション 大阪", "六本木"],
}
CJK_LANGUAGES = {"zh", "ja"}


def _words(language: str) -> tuple[list[str], list[str]]:
    common, rare = LANGUAGES[language]
    return common.split(), rare.split()


def texts(count: int, seed: int) -> Iterator[tuple[int, str]]:
    """(language index, text) for `count` messages, the languages in turn."""
    rng = random.Random(seed)
    vocab = [_words(language) for language in LANGUAGES]
    weights = [[1.0 / (rank + 1) for rank in range(len(common))] for common, _ in vocab]
    for index in range(count):
        which = index % len(vocab)
        common, rare = vocab[which]
        words = rng.choices(common, weights[which], k=rng.randint(4, 14))
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            words.insert(rng.randrange(len(words) + 1), rng.choice(rare))
        separator = "" if list(LANGUAGES)[which] in CJK_LANGUAGES and rng.random() < 0.7 else " "
        yield which, separator.join(words)


def build(path: Path, count: int, seed: int, contacts: int) -> Row:
    asyncio.run(_migrate(f"sqlite:///{path}"))
    connection = sqlite3.connect(path, isolation_level=None)
    register_sqlite(connection)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-200000")
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.execute(
        "INSERT INTO accounts (phone_number_id, display_phone_number, waba_id, name, throughput_per_second, "
        "quality, created_at) VALUES ('1', '+97140000001', '', '', 80, 'UNKNOWN', '2026-11-25 00:00:00')"
    )
    connection.executemany(
        "INSERT INTO contacts (phone, name, tags, attributes, opted_out, created_at, updated_at) "
        "VALUES (?, ?, '[]', '{}', 0, '2026-11-25 00:00:00', '2026-11-25 00:00:00')",
        ((f"+9715{n:08d}", f"Contact {n}") for n in range(contacts)),
    )
    rows = (
        (n % contacts + 1, text, f"2026-11-{1 + n % 24:02d} 12:00:00")
        for n, (_, text) in enumerate(texts(count, seed))
    )
    connection.executemany(
        "INSERT INTO messages (account_id, contact_id, direction, type, text, payload, state, sent_at, "
        "created_at, updated_at) VALUES (1, ?, 'in', 'text', ?, '{}', 'received', NULL, ?3, ?3)",
        rows,
    )
    connection.execute("COMMIT")
    loaded = time.perf_counter() - started
    connection.execute("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return {
        "seconds": round(loaded, 1),
        "rows_per_second": round(count / loaded),
        "bytes": path.stat().st_size,
    }


async def _migrate(url: str) -> None:
    db = Database(url)
    await db.upgrade()
    await db.dispose()


async def measure(url: str, repeats: int, limit: int) -> Row:
    db = Database(url)
    results: Row = {}
    try:
        for language, queries in QUERIES.items():
            for query in queries:
                times: list[float] = []
                hits = 0
                for attempt in range(repeats + 1):
                    started = time.perf_counter()
                    async with db.read() as session:
                        found = await search(session, query, scope="messages", limit=limit)
                    if attempt:  # the first one warms the page cache
                        times.append((time.perf_counter() - started) * 1000)
                    hits = len(found)
                async with db.read() as session:
                    matches = await _count(session, query)
                results[f"{language}: {query}"] = {
                    "language": language,
                    "hits": hits,
                    "matches": matches,
                    "p50_ms": round(statistics.median(times), 2),
                    "p95_ms": round(_quantile(times, 0.95), 2),
                    "times_ms": [round(t, 3) for t in times],
                }
    finally:
        await db.dispose()
    return results


async def _count(session: Any, query: str) -> int:
    from sqlalchemy import text

    from linda.query.fold import fts5_query, needles

    found = needles(query)
    statement = text("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH :q")
    return int((await session.execute(statement, {"q": fts5_query(found)})).scalar_one())


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


DEFAULTS: Row = {
    "messages": 1_000_000,
    "contacts": 10_000,
    "repeats": 50,
    "limit": 20,
    "seed": 20261125,
    "folder": None,
    "keep": False,
}


def options(args: argparse.Namespace) -> Row:
    """This benchmark's options from `args`, which may be another runner's: `search_<name>` first, then
    `<name>`, then the default."""
    given = vars(args)
    chosen = dict(DEFAULTS)
    for name in DEFAULTS:
        for key in (f"search_{name}", name):
            if given.get(key) is not None:
                chosen[name] = given[key]
                break
    return chosen


def run(args: argparse.Namespace) -> Row:
    """Build the corpus, time the queries; every raw time, p50/p95 per query, per language and overall."""
    o = options(args)
    folder = Path(o["folder"]) if o["folder"] else Path(tempfile.mkdtemp(prefix="linda-search-"))
    path = folder / "search.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    messages = int(o["messages"])
    built = build(path, messages, int(o["seed"]), int(o["contacts"]))
    queries = asyncio.run(measure(f"sqlite:///{path}", int(o["repeats"]), int(o["limit"])))
    every = [t for row in queries.values() for t in row["times_ms"]]
    by_language = {
        language: {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(_quantile(times, 0.95), 2),
        }
        for language in QUERIES
        for times in [[t for row in queries.values() if row["language"] == language for t in row["times_ms"]]]
    }
    overall = {"p50_ms": round(statistics.median(every), 2), "p95_ms": round(_quantile(every, 0.95), 2)}
    if not o["keep"]:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if not o["folder"]:
            folder.rmdir()
    return {
        "messages": messages,
        "languages": len(QUERIES),
        "build": built,
        "queries": queries,
        "by_language": by_language,
        "overall": overall,
        "target_p95_ms": TARGET_P95_MS,
        "met": overall["p95_ms"] < TARGET_P95_MS,
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }


def report(results: Row) -> None:
    built = results["build"]
    print(
        f"{results['messages']:,} messages in {results['languages']} languages: built in {built['seconds']} s "
        f"({built['rows_per_second']:,} rows/s, {built['bytes'] / 1e6:.0f} MB)"
    )
    print(f"{'query':<32} {'matches':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for name, row in results["queries"].items():
        print(f"{name:<32} {row['matches']:>8} {row['p50_ms']:>8} {row['p95_ms']:>8}")
    for language, row in results["by_language"].items():
        print(f"{language:<32} {'':>8} {row['p50_ms']:>8} {row['p95_ms']:>8}")
    overall = results["overall"]
    verdict = "met" if results["met"] else "NOT met"
    print(
        f"all: p50 {overall['p50_ms']} ms, p95 {overall['p95_ms']} ms (target p95 < {TARGET_P95_MS} ms: {verdict})"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=DEFAULTS["messages"], help="messages in the corpus")
    parser.add_argument("--contacts", type=int, default=DEFAULTS["contacts"], help="their contacts")
    parser.add_argument("--repeats", type=int, default=DEFAULTS["repeats"], help="timed searches per query")
    parser.add_argument("--limit", type=int, default=DEFAULTS["limit"], help="hits per search")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="random seed")
    parser.add_argument("--folder", help="where the SQLite file goes (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args()
    results = run(args)
    report(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
