"""Segments: saved filters, expanded wherever a filter is used, with live counts and samples."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linda.query.filters import FilterError
from linda.query.grammar import parse
from linda.query.segments import (
    SegmentError,
    count_and_sample,
    delete_segment,
    expand,
    list_segments,
    parse_expanded,
    resolve_filter,
    save_segment,
)
from linda.store.db import Database
from linda.store.models import Contact


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        for n in range(12):
            tags = ["owner"] if n % 3 == 0 else ["tenant"]
            session.add(Contact(phone=f"+97155000{n:04d}", name=f"C{n}", tags=tags, attributes={"price": n}))


async def test_a_segment_counts_live_and_combines_with_other_filters(db: Database) -> None:
    await seed(db)
    await save_segment(db, "owners", "tag = owner", "people who own a unit")
    await save_segment(db, "rich-owners", "@owners AND price >= 6")
    total, sample = await count_and_sample(db, "owners", sample=2)
    assert total == 4 and [c.name for c in sample] == ["C0", "C3"]
    assert (await count_and_sample(db, "rich-owners"))[0] == 2
    async with db.transaction() as session:
        session.add(Contact(phone="+971550009999", name="New", tags=["owner"], attributes={"price": 99}))
    assert (await count_and_sample(db, "rich-owners"))[0] == 3  # live: no stored list
    assert [s.name for s in await list_segments(db)] == ["owners", "rich-owners"]

    await save_segment(db, "owners", "tag = owner AND NOT opted_out")  # replaced
    assert (await count_and_sample(db, "owners"))[0] == 5
    assert await delete_segment(db, "rich-owners") and not await delete_segment(db, "rich-owners")


async def test_bad_segments_are_refused_with_the_reason(db: Database) -> None:
    with pytest.raises(SegmentError, match="not a segment name"):
        await save_segment(db, "bad name!", "tag = x")
    with pytest.raises(FilterError, match="there is no segment @nowhere"):
        await save_segment(db, "a", "@nowhere")
    with pytest.raises(FilterError):
        await save_segment(db, "a", "tag = ")
    await save_segment(db, "a", "tag = x")
    await save_segment(db, "b", "@a OR tag = y")
    with pytest.raises(FilterError, match="uses itself"):
        await save_segment(db, "a", "@b")
    with pytest.raises(FilterError, match="there is no segment @ghost"):
        await resolve_filter(db, "@ghost AND tag = x")


async def test_references_inside_quotes_are_text() -> None:
    async def lookup(name: str) -> str | None:
        return {"vip": "tag = vip"}.get(name)

    assert (await expand("@vip AND name = \"@vip\" AND note = 'a\\'@vip'", lookup)).text == (
        "(tag = vip) AND name = \"@vip\" AND note = 'a\\'@vip'"
    )


async def test_an_error_names_its_position_in_the_filter_as_typed(db: Database) -> None:
    await save_segment(db, "hot", 'tag = hot AND cluster IN ["Vardon", "Amazonia"]')
    with pytest.raises(FilterError) as error:
        await resolve_filter(db, "@hot AND price > AND x")
    assert error.value.position == 17 and error.value.message == "Unexpected 'AND'"
    with pytest.raises(FilterError) as error:
        await resolve_filter(db, "@hot AND price >")
    assert error.value.position == 16 and "end of the filter" in error.value.message
    with pytest.raises(FilterError) as error:  # where a segment cannot stand: its @name is the place
        await resolve_filter(db, "price > @hot")
    assert error.value.position == 8


async def test_a_segment_whose_own_filter_broke_is_named(db: Database) -> None:
    await save_segment(db, "a", "tag = a")
    await save_segment(db, "b", "@a OR tag = b")
    await delete_segment(db, "a")
    with pytest.raises(FilterError) as error:
        await resolve_filter(db, "tag = c OR @b")
    assert error.value.position == 11
    assert error.value.message == "in segment @b: there is no segment @a"


_TOKENS = [
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    "price",
    "tag",
    ">",
    "=",
    "IN",
    "[",
    "]",
    ",",
    "3",
    '"a"',
    "TO",
    "@hots",
]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_TOKENS), max_size=8))
def test_positions_after_a_segment_are_those_of_the_text_typed(tail: list[str]) -> None:
    """`@hots` stands for a parenthesized condition: an error is where the same filter, with a parenthesized
    condition of the same length typed in its place, has its error."""

    async def lookup(name: str) -> str | None:
        return "tag = hot AND price > 2"

    typed = "@hots AND " + " ".join(tail)
    plain = typed.replace("@hots", "(x=1)")
    assert _error_position(lambda: parse_expanded(asyncio.run(expand(typed, lookup)))) == _error_position(
        lambda: parse(plain)
    )


def _error_position(parsing: Callable[[], object]) -> int | str | None:
    try:
        parsing()
    except FilterError as error:
        return error.position
    return None
