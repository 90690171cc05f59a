"""Messages out through the outbox, the senders and the emulator: states, retries, failures, the window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from linda.inbox.apply import Received
from linda.sending.outbox import SendRefused, enqueue, reply
from linda.store.models import Contact, Conversation, Message, OutboxItem, StatusEvent
from linda.store.types import utcnow
from linda.whatsapp import messages
from tests.conftest import NUMBER, SECOND_NUMBER
from tests.stack import Stack, eventually, running_stack

USER = "971501234567"
PHONE = "+971501234567"


async def say_hi(stack: Stack, number: str = NUMBER.phone_number_id, user: str = USER) -> None:
    """The user writes first, which opens the 24 h window on both sides."""
    await stack.emulator.user_sends(
        number, user, {"type": "text", "text": {"body": "hi"}}, profile_name="Ali"
    )
    await stack.inbox_settled()


async def queue(stack: Stack, message: Mapping[str, Any], to: str = PHONE, **options: Any) -> OutboxItem:
    account = await stack.account(options.pop("phone_number_id", NUMBER.phone_number_id))
    options.setdefault("fallback_template", stack.settings.fallback_template)
    async with stack.db.transaction() as session:
        item = await enqueue(session, account=account, to=to, message=message, **options)
    stack.app.state.runtime.notify_outbox()
    return item


async def message_of(stack: Stack, item: OutboxItem) -> Message:
    async with stack.db.read() as session:
        return await session.get_one(Message, item.message_id)


async def outbox_row(stack: Stack, item: OutboxItem) -> OutboxItem:
    async with stack.db.read() as session:
        return await session.get_one(OutboxItem, item.id)


async def reaches(stack: Stack, item: OutboxItem, state: str, timeout: float = 10) -> Message:
    async def arrived() -> bool:
        return (await message_of(stack, item)).state == state

    await eventually(arrived, timeout)
    return await message_of(stack, item)


@pytest.fixture
async def stack(database_url: str):  # type: ignore[no-untyped-def]
    async with running_stack(database_url, accounts=(NUMBER, SECOND_NUMBER)) as running:
        yield running


async def test_text_in_window_is_sent_and_moves_to_read(stack: Stack) -> None:
    await say_hi(stack)
    item = await queue(stack, messages.text("Yes, the villa is available."))
    message = await reaches(stack, item, "read")
    [sent] = stack.emulator.sent_messages(USER)
    assert message.wamid == sent.wamid and message.text == "Yes, the villa is available."
    assert sent.body["biz_opaque_callback_data"] == item.idempotency_key
    row = await outbox_row(stack, item)
    assert (row.state, row.attempts, row.wamid) == ("sent", 1, sent.wamid)
    async with stack.db.read() as session:
        events = (
            await session.scalars(select(StatusEvent.status).where(StatusEvent.wamid == sent.wamid))
        ).all()
    assert sorted(events) == ["delivered", "read", "sent"]


async def test_duplicated_and_reordered_statuses_end_in_the_right_state(stack: Stack) -> None:
    stack.emulator.duplicate_statuses = True
    stack.emulator.reorder_statuses = True
    await say_hi(stack)
    item = await queue(stack, messages.text("hello"))
    await reaches(stack, item, "read")
    await stack.inbox_settled()
    message = await message_of(stack, item)
    assert message.state == "read"  # a late "sent" after "read" never moves it back
    async with stack.db.read() as session:
        events = (
            await session.scalars(select(StatusEvent.status).where(StatusEvent.wamid == message.wamid))
        ).all()
    assert sorted(events) == ["delivered", "read", "sent"]  # each raw status kept once


async def test_transient_failures_are_retried_until_sent(stack: Stack) -> None:
    await say_hi(stack)
    stack.emulator.fail_next(131000, times=2)
    item = await queue(stack, messages.text("retry me"))
    await reaches(stack, item, "read")
    row = await outbox_row(stack, item)
    assert (row.state, row.attempts) == ("sent", 3)
    attempts = [r.error_code for r in stack.emulator.requests if r.body.get("to") == USER]
    assert attempts == [131000, 131000, None]


async def test_retries_give_up_after_max_attempts(database_url: str) -> None:
    async with running_stack(database_url, outbox_max_attempts=3) as stack:
        await say_hi(stack)
        stack.emulator.fail_next(131000, times=10)
        item = await queue(stack, messages.text("never"))
        message = await reaches(stack, item, "failed")
        row = await outbox_row(stack, item)
    assert (row.state, row.attempts, row.error_code) == ("failed", 3, 131000)
    assert message.error_code == 131000


async def test_permanent_failure_is_recorded_with_metas_code_and_title(stack: Stack) -> None:
    await say_hi(stack)
    stack.emulator.mark_not_on_whatsapp(USER)
    item = await queue(stack, messages.text("lost"))
    message = await reaches(stack, item, "failed")
    row = await outbox_row(stack, item)
    assert (row.state, row.attempts, row.error_code) == ("failed", 1, 131026)
    assert message.error_code == 131026 and "Message Undeliverable" in (message.error_title or "")


async def test_template_with_wrong_parameter_count_fails_for_good(stack: Stack) -> None:
    body = {"type": "body", "parameters": [{"type": "text", "text": "Ali"}]}
    item = await queue(stack, messages.template("order_update", "en_US", [body]))
    message = await reaches(stack, item, "failed")
    assert message.error_code == 132000


async def test_an_imported_contact_is_written_to_by_number_until_it_writes(stack: Stack) -> None:
    """An import stores a number, not a WhatsApp id: a template goes to the number; when the contact writes,
    its message joins that contact, whose WhatsApp id is then known and used."""
    async with stack.db.transaction() as session:
        session.add(Contact(phone=PHONE, name="Ali", tags=["owner"], attributes={"Community": "Vardon"}))
    first = await queue(stack, messages.template("hello", "en_US"))
    await reaches(stack, first, "read")
    assert (await outbox_row(stack, first)).body["to"] == USER
    await say_hi(stack)
    async with stack.db.read() as session:
        contact = (await session.scalars(select(Contact))).one()
        senders = set((await session.scalars(select(Message.contact_id))).all())
    assert (contact.phone, contact.wa_id, contact.tags) == (PHONE, USER, ["owner"])
    assert senders == {contact.id}  # one contact: the template's and the reply's
    second = await queue(stack, messages.text("Thanks for your answer"))
    await reaches(stack, second, "read")
    assert len(stack.emulator.sent_messages(USER)) == 2


async def test_template_needs_no_window(stack: Stack) -> None:
    item = await queue(stack, messages.template("hello", "en_US"))
    assert (await reaches(stack, item, "read")).type == "template"


async def test_free_form_outside_the_window_is_refused_at_once(stack: Stack) -> None:
    with pytest.raises(SendRefused) as refused:
        await queue(stack, messages.text("cold message"))
    assert refused.value.code == "outside_service_window" and "template" in str(refused.value)
    async with stack.db.read() as session:
        assert (await session.scalars(select(OutboxItem))).all() == []
    assert stack.emulator.sent_messages() == []


async def test_window_closing_while_queued_fails_before_reaching_meta(stack: Stack) -> None:
    await say_hi(stack)
    item = await queue(stack, messages.text("too late"), due_at=utcnow() + timedelta(seconds=0.3))
    async with stack.db.transaction() as session:
        await session.execute(update(Conversation).values(window_expires_at=utcnow() - timedelta(seconds=1)))
    message = await reaches(stack, item, "failed")
    assert message.error_code == 131047
    assert stack.emulator.sent_messages() == []


async def test_fallback_template_replaces_free_form_outside_the_window(database_url: str) -> None:
    async with running_stack(database_url, fallback_template="hello:en_US") as stack:
        item = await queue(stack, messages.text("cold message"))
        message = await reaches(stack, item, "read")
        [sent] = stack.emulator.sent_messages(USER)
    assert sent.body["type"] == "template" and sent.body["template"]["name"] == "hello"
    assert message.type == "template"


async def test_same_idempotency_key_queues_once(stack: Stack) -> None:
    first = await queue(stack, messages.template("hello", "en_US"), idempotency_key="campaign-7:971501234567")
    again = await queue(stack, messages.template("hello", "en_US"), idempotency_key="campaign-7:971501234567")
    assert again.id == first.id
    await reaches(stack, first, "read")
    assert len(stack.emulator.sent_messages(USER)) == 1


async def test_a_send_that_reached_meta_before_a_timeout_is_not_sent_again(stack: Stack) -> None:
    item = await queue(stack, messages.template("hello", "en_US"), due_at=utcnow() + timedelta(hours=1))
    async with stack.db.transaction() as session:  # as left by an attempt whose answer timed out
        session.add(
            StatusEvent(
                wamid="wamid.EARLIER",
                status="delivered",
                timestamp=utcnow(),
                callback_data=item.idempotency_key,
                raw={},
            )
        )
        await session.execute(
            update(OutboxItem).where(OutboxItem.id == item.id).values(attempts=1, due_at=utcnow())
        )
    stack.app.state.runtime.notify_outbox()
    message = await reaches(stack, item, "delivered")
    assert message.wamid == "wamid.EARLIER"
    assert stack.emulator.sent_messages() == []


async def test_bad_recipients_and_bad_messages_are_refused_with_a_reason(stack: Stack) -> None:
    with pytest.raises(SendRefused) as phone:
        await queue(stack, messages.template("hello", "en_US"), to="12345")
    assert (phone.value.code, phone.value.field) == ("invalid_phone", "to")
    await say_hi(stack)
    with pytest.raises(SendRefused) as body:
        await queue(stack, {"type": "text", "text": {"body": "x" * 4097}})
    assert body.value.code == "invalid_message" and body.value.field == "text.body"
    assert "4096" in str(body.value)


async def test_replies_leave_from_the_receiving_number_before_campaign_sends(database_url: str) -> None:
    async def echo(received: Received) -> None:
        await reply(received, messages.text(f"you said: {received.inbound.text}"))

    async with running_stack(database_url, accounts=(NUMBER, SECOND_NUMBER)) as stack:
        stack.app.state.runtime.inbox.hooks.append(echo)
        asked = await stack.emulator.user_sends(
            SECOND_NUMBER.phone_number_id, USER, {"type": "text", "text": {"body": "rent?"}}
        )

        async def answered() -> bool:
            return len(stack.emulator.sent_messages(USER)) == 1

        await eventually(answered)
        [sent] = stack.emulator.sent_messages(USER)
    assert sent.phone_number_id == SECOND_NUMBER.phone_number_id
    assert sent.body["text"]["body"] == "you said: rent?"
    assert sent.body["context"] == {"message_id": asked}


async def test_several_numbers_route_inbound_by_phone_number_id(stack: Stack) -> None:
    await say_hi(stack, NUMBER.phone_number_id)
    await say_hi(stack, SECOND_NUMBER.phone_number_id)
    async with stack.db.read() as session:
        rows = (
            await session.execute(
                select(Message.account_id, Conversation.account_id).join(
                    Conversation, Message.conversation_id == Conversation.id
                )
            )
        ).all()
    assert len(rows) == 2 and all(message == conversation for message, conversation in rows)
    assert len({message for message, _ in rows}) == 2


async def test_higher_priority_is_sent_first(database_url: str) -> None:
    async with running_stack(database_url, senders=1) as stack:
        await say_hi(stack)
        later = utcnow() + timedelta(milliseconds=300)
        await queue(stack, messages.text("campaign"), priority=0, due_at=later)
        await queue(stack, messages.text("reply"), priority=10, due_at=later)

        async def both_sent() -> bool:
            return len(stack.emulator.sent_messages(USER)) == 2

        await eventually(both_sent)
        order = [r.body["text"]["body"] for r in stack.emulator.sent_messages(USER)]
    assert order == ["reply", "campaign"]
