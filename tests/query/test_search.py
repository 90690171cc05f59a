"""Full-text search on a multilingual corpus, on SQLite and PostgreSQL: hits per language, ranking, snippets,
the index following updates and deletes, and hostile query strings."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, text, update

from linda.query.compile import where_clause
from linda.query.fold import contact_document, fold, fold_document, needles
from linda.query.grammar import parse
from linda.query.search import Hit, phone_digits, reindex, search
from linda.store.db import Database
from linda.store.migrate import alembic_config
from linda.store.models import Account, Contact, Message

CORPUS = {
    "en": "The apartment in Dubai Marina is available from Monday",
    "en2": "Please send me the brochure of the villa",
    "ar": "مَرْحَبًا، أُرِيدُ شِقَّةً فِي دُبَيّ مَعَ إِطْلَالَةٍ عَلَى البَحْرِ",
    "ar2": "هل المدرسة قريبة من الفيلا؟",
    "hi": "नमस्ते, मुझे दुबई में एक फ्लैट चाहिए",
    "ur": "مجھے کراچی میں ایک گھر چاہیے، قیمت کیا ہے؟",
    "ru": "Здравствуйте! Ищу квартиру в Дубае, ёлка у дома не нужна",
    "zh": "我想在北京买一套公寓",
    "zh2": "东京的房子很贵",
    "ja": "東京駅の近くにマンションがありますか",
}

CASES = [
    ("marina", {"en"}),
    ("BROCHURE", {"en2"}),
    ("send villa", {"en2"}),
    ("شقة", {"ar"}),  # the text has shadda and fatha, and ta marbuta
    ("دبي", {"ar"}),  # دُبَيّ with damma and shadda
    ("اطلاله", {"ar"}),  # إطلالة: alef with hamza below, ta marbuta
    ("المدرسة", {"ar2"}),
    ("फ्लैट", {"hi"}),
    ("दुबई", {"hi"}),
    ("كراچي", {"ur"}),  # Arabic kaf for Urdu keheh
    ("گھر", {"ur"}),
    ("квартиру", {"ru"}),
    ("ЕЛКА", {"ru"}),  # ё folded
    ("дубае", {"ru"}),
    ("北京", {"zh"}),  # two characters
    ("京", {"zh", "zh2", "ja"}),  # one character, in Chinese and Japanese
    ("公寓", {"zh"}),
    ("東京駅", {"ja"}),
    ("マンション", {"ja"}),
    ("東京", {"ja"}),
    ("东京", {"zh2"}),
    ("nothing-like-this", set()),
]


async def _corpus(db: Database) -> dict[int, str]:
    async with db.transaction() as session:
        account = Account(phone_number_id="1", display_phone_number="+97140000001")
        session.add(account)
        await session.flush()
        ids = {}
        for index, (key, body) in enumerate(CORPUS.items()):
            contact = Contact(phone=f"+97150000{index:04d}", name=f"Person {key}", tags=[], attributes={})
            session.add(contact)
            await session.flush()
            message = Message(
                account_id=account.id, contact_id=contact.id, direction="in", type="text", text=body,
                state="received",
            )  # fmt: skip
            session.add(message)
            await session.flush()
            ids[message.id] = key
    return ids


async def _find(db: Database, query: str, **options: object) -> list[Hit]:
    async with db.read() as session:
        return await search(session, query, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("query", "expected"), CASES)
async def test_hits_per_language(db: Database, query: str, expected: set[str]) -> None:
    ids = await _corpus(db)
    hits = await _find(db, query, scope="messages")
    assert {ids[hit.id] for hit in hits} == expected
    for hit in hits:
        assert "[" in hit.snippet and "]" in hit.snippet


async def test_contacts_by_name_and_attributes(db: Database) -> None:
    async with db.transaction() as session:
        session.add_all(
            [
                Contact(
                    phone="+971501111111", name="أحمد إبراهيم", tags=[], attributes={"cluster": "Vardon"}
                ),
                Contact(phone="+971502222222", name="Ahmed Ali", tags=[], attributes={"cluster": "Amazonia"}),
                Contact(phone="+971503333333", name="Алексей", tags=[], attributes={"city": "Москва"}),
            ]
        )
    assert [hit.contact_name for hit in await _find(db, "احمد ابراهيم", scope="contacts")] == ["أحمد إبراهيم"]
    assert [hit.contact_name for hit in await _find(db, "vardon")] == ["أحمد إبراهيم"]
    assert [hit.contact_name for hit in await _find(db, "москва")] == ["Алексей"]
    assert [hit.contact_name for hit in await _find(db, "5022222")] == ["Ahmed Ali"]
    hit = (await _find(db, "amazon"))[0]
    assert hit.kind == "contact" and "[Amazon]ia" in hit.snippet


async def test_a_number_finds_contacts_by_phone_in_any_format(db: Database) -> None:
    """Phones are not in the text index: a query that is a number reads the phone column, and comes before
    contacts whose attribute values hold the same digits."""
    async with db.transaction() as session:
        session.add_all(
            [
                Contact(phone="+971502222222", name="Ahmed Ali", tags=[], attributes={}),
                Contact(phone="+971503333333", name="Omar", tags=["vip"], attributes={}),
                Contact(phone="+447911123456", name="Unit owner", tags=[], attributes={"unit": "2222"}),
            ]
        )
    for query in ("050 222 2222", "00971502222222", "+971 50-222-2222", "(050) 2222222", "٠٥٠٢٢٢٢٢٢٢"):
        hits = await _find(db, query, scope="contacts")
        assert [hit.contact_name for hit in hits] == ["Ahmed Ali"], query
        assert hits[0].snippet.startswith("Ahmed Ali · +") and hits[0].snippet.endswith("502222222]")
    assert [hit.contact_name for hit in await _find(db, "2222", scope="contacts")] == [
        "Ahmed Ali",
        "Unit owner",
    ]
    assert [hit.contact_name for hit in await _find(db, "333", where=Contact.name == "Ahmed Ali")] == []
    assert [hit.contact_name for hit in await _find(db, "+971 50", scope="contacts")] == ["Omar", "Ahmed Ali"]
    assert await _find(db, "omar 3333333", scope="contacts") == []  # a number among words is text


def test_which_queries_are_numbers() -> None:
    assert phone_digits(" +971 (50) 123-4567 ") == "971501234567"
    assert phone_digits("0501234567") == "501234567"
    assert phone_digits("٠٥٠١") == "501"
    assert [phone_digits(q) for q in ("12", "007", "05 1", "ali 123", "123a", "1,234", "")] == [None] * 7


async def test_the_triggers_index_what_a_rebuild_does(db: Database) -> None:
    """The migrations' trigger SQL and linda.query.fold's rebuild SQL make the same contact documents."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL indexes an expression: there is nothing written to compare")
    async with db.transaction() as session:
        session.add(Contact(phone="+971501111111", name="Ali", tags=[], attributes={"area": "JVC", "n": [1]}))
    async with db.transaction() as session:
        await session.execute(update(Contact).values(name="Ali Hassan", phone="+971502222222"))
    query = text("SELECT rowid, body FROM contacts_fts")
    async with db.transaction() as session:
        written = (await session.execute(query)).all()
        await reindex(session)
        assert (await session.execute(query)).all() == written == [(1, " ali hassan jvc 1 ")]


async def test_the_migration_takes_phones_out_of_the_index_and_back(db: Database) -> None:
    """Revision 0009 rebuilds the contacts' documents without their phone numbers; its downgrade puts them back."""

    def migrate(to: str) -> Callable[[Connection], None]:
        def run(connection: Connection) -> None:
            (command.downgrade if to == "0008" else command.upgrade)(alembic_config(connection), to)

        return run

    async with db.transaction() as session:
        session.add(Contact(phone="+971501111111", name="Ali", tags=[], attributes={"area": "JVC"}))
    documents = (
        {"0008": "SELECT body FROM contacts_fts", "head": "SELECT body FROM contacts_fts"}
        if db.is_sqlite
        else {
            "0008": "SELECT linda_contact_doc(name, phone, attributes) FROM contacts",
            "head": "SELECT linda_contact_doc(name, attributes) FROM contacts",
        }
    )
    try:
        for revision, document in (("0008", " ali 971501111111 jvc "), ("head", " ali jvc ")):
            async with db.transaction() as session:
                await (await session.connection()).run_sync(migrate(revision))
            async with db.read() as session:
                assert await session.scalar(text(documents[revision])) == document
    finally:
        await db.upgrade()


async def test_more_and_denser_matches_rank_first(db: Database) -> None:
    texts = [
        "villa " + "with a long description of everything around it " * 4,
        "villa villa villa, the villa",
        "one villa",
    ]
    async with db.transaction() as session:
        session.add(Account(phone_number_id="1", display_phone_number="+97140000001"))
        await session.flush()
        session.add_all(
            [Message(account_id=1, direction="in", type="text", text=t, state="received") for t in texts]
        )
    hits = await _find(db, "villa")
    assert [hit.text for hit in hits] == [texts[1], texts[2], texts[0]]
    assert hits[0].snippet == "[villa] [villa] [villa], the [villa]"
    assert hits[0].rank > hits[1].rank > hits[2].rank
    assert [hit.text for hit in await _find(db, "villa", limit=1, offset=1)] == [texts[2]]


async def test_the_index_follows_updates_and_deletes(db: Database) -> None:
    ids = await _corpus(db)
    first = next(i for i, key in ids.items() if key == "en")
    async with db.transaction() as session:
        await session.execute(
            update(Message).where(Message.id == first).values(text="A penthouse in Abu Dhabi")
        )
        await session.execute(update(Contact).where(Contact.name == "Person zh").values(name="Wang Fang"))
    assert await _find(db, "marina") == []
    assert [hit.id for hit in await _find(db, "penthouse")] == [first]
    assert [hit.contact_name for hit in await _find(db, "wang", scope="contacts")] == ["Wang Fang"]
    async with db.transaction() as session:
        await session.execute(delete(Message).where(Message.id == first))
    assert await _find(db, "penthouse") == []


async def test_a_filter_narrows_the_hits(db: Database) -> None:
    await _corpus(db)
    hits = await _find(db, "京", where=Contact.name == "Person ja")
    assert [hit.text for hit in hits] == [CORPUS["ja"]]
    language = where_clause(parse('messages_count >= 1 AND name CONTAINS "zh"'), db.dialect)
    assert {hit.text for hit in await _find(db, "京", where=language)} == {CORPUS["zh"], CORPUS["zh2"]}
    assert await _find(db, "京", where=where_clause(parse("messages_count > 1"), db.dialect)) == []


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "AND OR NOT",
        'NEAR("a" "b")',
        "^x",
        "col:val",
        "'; DROP TABLE messages; --",
        "%_\\",
        "{x}",
    ],
)
async def test_hostile_queries_are_harmless(db: Database, query: str) -> None:
    await _corpus(db)
    await _find(db, query)
    assert len(await _find(db, "marina")) == 1


def test_folding() -> None:
    assert fold("أَحْمَد") == fold("احمد") == "احمد"
    assert fold("مدرسة") == fold("مدرسه")
    assert fold("مستشفى") == fold("مستشفي")
    assert fold("ﻻ ＡＢＣ") == "لا abc"
    assert fold("Café, ÉTÉ!") == "cafe ete"
    assert fold("नमस्ते") == "नमस्ते"
    assert fold("北京。") == "北 京"
    assert needles('北京 京 ok "a b"') == ["北 京", " 京 ", " ok", "a b"]
    assert fold("Omar +971 50-123 (Damac Hills)") == "omar 971 50 123 damac hills"


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_folds_as_any_text(text: str) -> None:
    """fold's shortcut for ASCII text gives what the general steps give (the same text with one non-ASCII
    letter appended goes the general way)."""
    assert fold(text + " é") == (fold(text) + " e").strip()


_PIECES = st.text(alphabet="aZ0 ,.'-_ÉéΣσςΑ\u0301\u00a0ضأإىة\u064b\u0640北ひカ。ёЁ١ﻻＡ½ﬁ\t")


@given(st.one_of(st.none(), _PIECES), st.lists(st.one_of(_PIECES, st.lists(_PIECES, max_size=3)), max_size=4))
def test_a_contact_document_folds_as_its_whole_text(name: str | None, values: list[str | list[str]]) -> None:
    """The import's documents (folded value by value) equal SQLite's, which folds the joined text at once."""
    attributes = {f"a{i}": value for i, value in enumerate(values)}
    joined = " ".join(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values)
    assert contact_document(name, attributes) == fold_document(f"{name or ''} {joined}")


async def test_reindex_rebuilds_the_index(db: Database) -> None:
    await _corpus(db)
    async with db.transaction() as session:
        assert await reindex(session) == 2 * len(CORPUS)
    assert len(await _find(db, "marina")) == 1
    assert len(await _find(db, "person", scope="contacts", limit=50)) == len(CORPUS)


async def test_postgres_folds_as_python(db: Database) -> None:
    """PostgreSQL's linda_fold (its short way for ASCII text and its general way) gives fold_document's text
    for the corpus and for random mixes of ASCII, punctuation, accents, Arabic marks, CJK and spaces."""
    if not db.is_postgres:
        pytest.skip("SQLite's linda_fold is fold_document itself")
    import random

    from linda.query.fold import fold_document

    rng = random.Random(10)
    alphabet = "aZ09 ,.!?'\"-_()+@#\t\nÉéçÖñ ضصثقأإآىةؤئ ًٌٍَُ ـ  北京ひらカナ。、 ёЁ ‘’“” ١٢ ﻻＡ"
    texts = [*CORPUS.values(), "", "   ", "Omar +971 50-123 (Damac Hills)"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(2000)]
    texts += ["".join(rng.choice(alphabet[:16]) for _ in range(rng.randint(1, 30))) for _ in range(500)]
    async with db.read() as session:
        query = text("SELECT t, linda_fold(t) FROM unnest(CAST(:texts AS text[])) AS t")
        rows = (await session.execute(query, {"texts": texts})).all()
    assert {t: folded for t, folded in rows} == {t: fold_document(t) for t in texts}
