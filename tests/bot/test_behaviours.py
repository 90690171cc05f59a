"""Every built-in behaviour of the rules file, end to end: a simulated user writes through the emulator,
Linda stores and routes the message, and the answers reach the emulator's Graph API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from linda.handoff import release
from linda.sending.outbox import SendRefused, enqueue
from linda.store.models import Contact, Conversation, Message
from linda.store.types import utcnow
from linda.whatsapp import messages
from tests.bot.chat import USER, Chat, bot_stack, buttons, said
from tests.stack import Stack

RULES = """
admins: ["+971500000001"]
greeting:
  text: {en: "Hello {{ contact.name }}!", ar: "أهلاً {{ contact.name }}!"}
  menu: main
handoff:
  keywords: [agent, وكيل]
  assign_to: sales
  reply: "An agent will answer you here."
lookups:
  - command: unit
    attribute: unit
    reply: "Unit {{ value }}: {{ found.name }} {{ found.phone }}"
    not_found: "Nobody owns unit {{ value }}."
menus:
  main:
    text: "How can we help?"
    options:
      - {id: buy, title: Buy, menu: areas}
      - {id: rent, title: Rent, reply: "Apartments for rent, {{ contact.name }}."}
      - {id: sell, title: Sell, reply: "We will value it.", handoff: true}
  areas:
    text: "Which area?"
    button: Areas
    timeout: 10m
    expired: "That menu has closed; say hi to start again."
    options:
      - {id: marina, title: Dubai Marina, description: Waterfront, reply: "Marina starts at AED 1.1M."}
      - {id: downtown, title: Downtown, reply: "Downtown starts at AED 1.4M."}
      - {id: hills, title: DAMAC Hills 2, reply: "Hills start at AED 1.2M."}
      - {id: jvc, title: JVC, reply: "JVC starts at AED 0.6M."}
replies:
  - equals: [hi, مرحبا]
    reply: {menu: main}
  - regex: '(\\d+)\\s*(?:br|bed)'
    reply: "Noted: {{ match[1] }} bedrooms."
  - contains: brochure
    reply:
      text: "Our brochure"
      document: {link: "https://example.com/b.pdf", filename: b.pdf}
  - command: vip
    tag: owner
    reply: "Hello, valued owner."
fallback: "Sorry, I did not get that. Say hi for the menu."
"""


async def add_contact(stack: Stack, phone: str, **values: object) -> None:
    async with stack.db.transaction() as session:
        session.add(Contact(phone=phone, wa_id=phone.lstrip("+"), **values))


async def test_greeting_menus_sub_menus_typed_choices_and_timeouts(database_url: str, tmp_path: Path) -> None:
    async with bot_stack(database_url, tmp_path, RULES) as stack:
        chat = Chat(stack)
        first = await chat.says("good morning")
        assert said(first) == ["Hello Ali!", "How can we help?"]
        assert buttons(first[1]) == [("buy", "Buy"), ("rent", "Rent"), ("sell", "Sell")]
        assert first[0]["context"]["message_id"].startswith("wamid.")  # answers quote the user's message

        assert said(await chat.taps("rent", "Rent")) == ["Apartments for rent, Ali."]
        areas = await chat.taps("buy", "Buy")
        assert said(areas) == ["Which area?"] and areas[0]["interactive"]["type"] == "list"
        assert buttons(areas[0])[0] == ("marina", "Dubai Marina")
        assert said(await chat.taps("marina", "Dubai Marina", kind="list_reply")) == [
            "Marina starts at AED 1.1M."
        ]
        assert said(await chat.says("4")) == ["JVC starts at AED 0.6M."]  # the open menu's 4th option
        assert said(await chat.says("downtown")) == ["Downtown starts at AED 1.4M."]  # or its title

        conversation = await chat.conversation()
        assert conversation.menu == "areas" and conversation.menu_expires_at is not None
        async with stack.db.transaction() as session:  # ten minutes later: the menu has timed out
            held = await session.get_one(Conversation, conversation.id)
            assert held.menu_expires_at is not None
            held.menu_expires_at = held.menu_expires_at - timedelta(minutes=10, seconds=1)
        assert said(await chat.taps("hills", "DAMAC Hills 2", kind="list_reply")) == [
            "That menu has closed; say hi to start again."
        ]
        assert said(await chat.says("4")) == ["Sorry, I did not get that. Say hi for the menu."]
        assert said(await chat.says("hi")) == ["How can we help?"]  # no second greeting


async def test_keyword_regex_media_and_tagged_replies_and_language(database_url: str, tmp_path: Path) -> None:
    async with bot_stack(database_url, tmp_path, RULES) as stack:
        arabic = Chat(stack, user="971509999999", name="سارة")
        assert said(await arabic.says("مرحبا"))[0] == "أهلاً سارة!"  # Arabic script: the Arabic greeting

        chat = Chat(stack)
        await chat.says("hello")
        assert said(await chat.says("a villa with 3 BR please")) == ["Noted: 3 bedrooms."]
        brochure = await chat.says("can I get the brochure?")
        assert [b["type"] for b in brochure] == ["text", "document"]
        assert brochure[1]["document"] == {"link": "https://example.com/b.pdf", "filename": "b.pdf"}
        assert said(await chat.says("vip")) == ["Sorry, I did not get that. Say hi for the menu."]

        await add_contact(stack, "+971502222222", name="Omar", tags=["owner"], attributes={})
        owner = Chat(stack, user="971502222222", name="Omar")
        await owner.says("hello")
        assert said(await owner.says("VIP")) == ["Hello, valued owner."]


async def test_stop_opts_out_once_refuses_later_sends_and_start_opts_back_in(
    database_url: str, tmp_path: Path
) -> None:
    async with bot_stack(database_url, tmp_path, RULES) as stack:
        chat = Chat(stack)
        await chat.says("hi")
        queued_before = await queue_text(stack, "A campaign message queued earlier", due_in=0.5)

        stopped = await chat.says("Stop")
        assert said(stopped) == ["You will get no more messages from us. Send START to subscribe again."]
        contact = await chat.contact()
        assert contact.opted_out and contact.opt_source == "keyword" and contact.opted_out_at is not None
        assert await chat.says("STOP") == []  # confirmed once

        with pytest.raises(SendRefused) as refused:
            await queue_text(stack, "New offer!")
        assert refused.value.code == "opted_out" and refused.value.field == "to"
        await asyncio.sleep(0.6)
        await chat.settled()
        async with stack.db.read() as session:
            earlier = await session.get_one(Message, queued_before)
        assert earlier.state == "failed" and "opted_out" in (earlier.error_title or "")

        assert said(await chat.says("وكيل")) == ["An agent will answer you here."]  # replies still go
        started = await chat.says("إلغاء")  # Arabic STOP while held by an agent: still honoured, once
        assert started == []  # already opted out
        assert said(await chat.says("START")) == [
            "Welcome back: you will get our messages again. Send STOP to stop them."
        ]
        assert not (await chat.contact()).opted_out
        await queue_text(stack, "New offer!")


async def queue_text(stack: Stack, text: str, due_in: float = 0.0) -> int:
    account = await stack.account()
    async with stack.db.transaction() as session:
        item = await enqueue(
            session,
            account=account,
            to="+" + USER,
            message=messages.text(text),
            due_at=utcnow() + timedelta(seconds=due_in),
        )
    stack.app.state.runtime.notify_outbox()
    return item.message_id


async def test_hand_off_pauses_the_bot_until_released(database_url: str, tmp_path: Path) -> None:
    async with bot_stack(database_url, tmp_path, RULES) as stack:
        chat = Chat(stack)
        await chat.says("hi")
        assert said(await chat.says("Agent")) == ["An agent will answer you here."]
        conversation = await chat.conversation()
        assert conversation.assigned_to == "sales" and conversation.assigned_at is not None
        assert await chat.says("hi") == []  # a person has it now
        assert await chat.says("what about the price?") == []

        async with stack.db.transaction() as session:
            held = await session.get_one(Conversation, conversation.id)
            assert release(held)
        assert said(await chat.says("hi")) == ["How can we help?"]

        sold = await chat.taps("sell", "Sell")  # a menu option can hand off too, to the default team
        assert said(sold) == ["We will value it."]
        assert (await chat.conversation()).assigned_to == "sales"


async def test_agents_look_up_owners_and_others_cannot(database_url: str, tmp_path: Path) -> None:
    async with bot_stack(database_url, tmp_path, RULES) as stack:
        await add_contact(stack, "+971503333333", name="Huda", tags=[], attributes={"unit": 1234})
        await add_contact(stack, "+971504444444", name="Sam", tags=["agent"], attributes={})
        agent = Chat(stack, user="971504444444", name="Sam")
        await agent.says("hello")
        assert said(await agent.says("unit 1234")) == ["Unit 1234: Huda +971503333333"]
        assert said(await agent.says("UNIT 99")) == ["Nobody owns unit 99."]

        stranger = Chat(stack)
        await stranger.says("hello")
        assert said(await stranger.says("unit 1234")) == ["Sorry, I did not get that. Say hi for the menu."]


async def test_admin_commands_answer_admins_only(database_url: str, tmp_path: Path) -> None:
    async with bot_stack(database_url, tmp_path, RULES) as stack:
        admin = Chat(stack, user="971500000001", name="Boss")
        await admin.says("hello")
        status = said(await admin.says("!status"))[0]
        assert status.startswith("Linda status")
        assert "Outbox: 0 waiting" in status and ", 0 dead letters" in status
        assert "!status" in said(await admin.says("!help"))[0]

        user = Chat(stack)
        await user.says("hello")
        assert said(await user.says("!status")) == ["Sorry, I did not get that. Say hi for the menu."]


async def test_outside_business_hours_the_away_message_comes_once_and_the_menu_still_works(
    database_url: str, tmp_path: Path
) -> None:
    closed = (
        RULES
        + """
hours:
  timezone: Asia/Dubai
  weekly: {}
away:
  reply: "We are closed; an agent will follow up."
  every: 1h
"""
    )
    async with bot_stack(database_url, tmp_path, closed) as stack:
        chat = Chat(stack)
        first = said(await chat.says("hi"))
        assert first == ["We are closed; an agent will follow up.", "Hello Ali!", "How can we help?"]
        assert said(await chat.says("hi")) == ["How can we help?"]  # not repeated within the hour


async def test_a_rules_edit_applies_to_the_next_message(database_url: str, tmp_path: Path) -> None:
    async with bot_stack(database_url, tmp_path, "fallback: One\n") as stack:
        chat = Chat(stack)
        assert said(await chat.says("x")) == ["One"]
        (tmp_path / "rules.yaml").write_text("fallback: Two and more\n", encoding="utf-8")
        await asyncio.sleep(1.1)  # rules files are looked at once a second
        assert said(await chat.says("x")) == ["Two and more"]
        async with stack.db.read() as session:
            stored = (await session.scalars(select(Message).where(Message.direction == "in"))).all()
        assert len(stored) == 2
