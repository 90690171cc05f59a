"""The sample brokerage rules, end to end through the emulator."""

from __future__ import annotations

from pathlib import Path

from linda.bot.rules import SAMPLE_RULES
from tests.bot.chat import Chat, bot_stack, buttons, said


async def test_a_new_contact_is_greeted_with_the_menu_and_a_tap_answers(
    database_url: str, tmp_path: Path
) -> None:
    async with bot_stack(database_url, tmp_path, SAMPLE_RULES.read_text(encoding="utf-8")) as stack:
        chat = Chat(stack)
        first = await chat.says("hi")
        assert "Welcome to Palm Homes" in said(first)[0] and "Ali" in said(first)[0]
        assert said(first)[1] == "How can we help you today?"
        assert buttons(first[1]) == [("buy", "Buy"), ("rent", "Rent"), ("sell", "Sell")]
        rent = await chat.taps("rent", "Rent")
        assert "for rent" in said(rent)[0]
