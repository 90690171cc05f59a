"""A message's state depends on which statuses arrived, never on their order or repetition."""

from __future__ import annotations

from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from linda.store.message_state import RANK, advance

STATUSES = ["sent", "delivered", "read", "failed", "played", "deleted"]
statuses = st.lists(st.sampled_from(STATUSES), max_size=8)


def final(sequence: list[str]) -> str:
    return reduce(advance, sequence, "accepted")


@given(statuses, st.randoms())
def test_order_and_duplicates_do_not_matter(sequence: list[str], random: object) -> None:
    shuffled = list(sequence) * 2
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert final(shuffled) == final(sequence)


@given(statuses)
def test_state_never_moves_back_except_to_failed(sequence: list[str]) -> None:
    state = "accepted"
    for status in sequence:
        after = advance(state, status)
        if after != "failed" and state != "failed":
            assert RANK[after] >= RANK[state]
        state = after


def test_examples_from_the_cloud_api() -> None:
    assert final(["read"]) == "read"  # read without delivered
    assert final(["failed", "delivered"]) == "delivered"  # a later delivery proves it arrived
    assert final(["delivered", "failed"]) == "delivered"
    assert final(["sent", "failed"]) == "failed"
    assert final(["read", "sent"]) == "read"  # a late sent
    assert final(["deleted"]) == "accepted"  # unknown statuses are events, not states
