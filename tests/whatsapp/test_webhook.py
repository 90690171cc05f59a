from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linda.whatsapp.webhook import (
    Change,
    InboundMessage,
    Location,
    Media,
    Reaction,
    Reply,
    WebhookPayloadError,
    parse_webhook,
)

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
USER = "16505551234"
TS = "1749416383"
WHEN = datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)


def value(**fields: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
        **fields,
    }


def envelope(*values: dict[str, Any], waba_id: str = WABA_ID) -> dict[str, Any]:
    changes = [{"value": v, "field": "messages"} for v in values]
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": changes}]}


def inbound(message_type: str, body: Any, **extra: Any) -> dict[str, Any]:
    message = {"from": USER, "id": f"wamid.{message_type}", "timestamp": TS, "type": message_type}
    if body is not None:
        message[message_type] = body
    message.update(extra)
    return message


def parse_one(message: dict[str, Any]) -> InboundMessage:
    contacts = [{"profile": {"name": "Sheena Nelson"}, "wa_id": USER}]
    (change,) = parse_webhook(envelope(value(contacts=contacts, messages=[message])))
    assert change.unparsed == ()
    (parsed,) = change.messages
    return parsed


def test_text_message_with_routing_and_profile() -> None:
    payload = envelope(
        value(
            contacts=[{"profile": {"name": "Sheena Nelson"}, "wa_id": USER}],
            messages=[inbound("text", {"body": "Does it come in another color?"})],
        )
    )
    (change,) = parse_webhook(json.loads(json.dumps(payload)))
    assert change.field == "messages"
    assert change.waba_id == WABA_ID
    assert change.phone_number_id == PHONE_NUMBER_ID
    assert change.display_phone_number == DISPLAY_NUMBER
    (message,) = change.messages
    assert message.id == "wamid.text"
    assert message.type == "text"
    assert message.timestamp == WHEN
    assert message.timestamp.tzinfo is UTC
    assert message.from_wa_id == USER
    assert message.from_user_id is None
    assert message.text == "Does it come in another color?"
    assert message.content == {"body": "Does it come in another color?"}
    assert message.context is None
    assert message.referral is None
    assert message.reply is message.media is message.location is message.reaction is None
    assert message.shared_contacts == ()
    profile = change.profile_for(message.from_wa_id, message.from_user_id)
    assert profile is not None
    assert profile.name == "Sheena Nelson"
    assert profile.wa_id == USER


@pytest.mark.parametrize(
    ("kind", "body", "expected_text", "expected"),
    [
        (
            "image",
            {"caption": "Look", "mime_type": "image/jpeg", "sha256": "abc=", "id": "1003383421387256"},
            "Look",
            Media("image", "1003383421387256", "image/jpeg", "abc=", "Look", None, False, False),
        ),
        (
            "video",
            {"mime_type": "video/mp4", "sha256": "v=", "id": "v1"},
            None,
            Media("video", "v1", "video/mp4", "v=", None, None, False, False),
        ),
        (
            "audio",
            {"mime_type": "audio/ogg; codecs=opus", "sha256": "a=", "id": "a1", "voice": True},
            None,
            Media("audio", "a1", "audio/ogg; codecs=opus", "a=", None, None, True, False),
        ),
        (
            "document",
            {"caption": "Q3", "filename": "report.pdf", "mime_type": "application/pdf", "id": "d1"},
            "Q3",
            Media("document", "d1", "application/pdf", None, "Q3", "report.pdf", False, False),
        ),
        (
            "sticker",
            {"mime_type": "image/webp", "sha256": "s=", "id": "s1", "animated": True},
            None,
            Media("sticker", "s1", "image/webp", "s=", None, None, False, True),
        ),
    ],
)
def test_media_messages(kind: str, body: dict[str, Any], expected_text: str | None, expected: Media) -> None:
    message = parse_one(inbound(kind, body))
    assert message.type == kind
    assert message.media == expected
    assert message.text == expected_text
    assert message.reply is None


def test_location_message() -> None:
    body = {
        "latitude": 37.44216251868683,
        "longitude": -122.16153582049394,
        "name": "Philz Coffee",
        "address": "101 Forest Ave, Palo Alto, CA 94301",
        "url": "https://philzcoffee.com",
    }
    message = parse_one(inbound("location", body))
    assert message.location == Location(
        37.44216251868683,
        -122.16153582049394,
        "Philz Coffee",
        "101 Forest Ave, Palo Alto, CA 94301",
        "https://philzcoffee.com",
    )
    assert message.text == "Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301"
    assert message.media is None


def test_bare_location_has_no_text_and_bad_coordinates_no_view() -> None:
    bare = parse_one(inbound("location", {"latitude": 1, "longitude": 2}))
    assert bare.location == Location(1.0, 2.0, None, None, None)
    assert bare.text is None
    for latitude in ("north", 10**400, None, [1]):
        broken = parse_one(inbound("location", {"latitude": latitude, "longitude": 2}))
        assert broken.location is None


def test_contacts_message() -> None:
    cards = [
        {
            "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"},
            "phones": [{"phone": "+1 (940) 555-1234", "type": "HOME", "wa_id": "19405551234"}],
        },
        {"name": {"formatted_name": "Ann"}},
    ]
    message = parse_one(inbound("contacts", cards))
    assert message.shared_contacts == tuple(cards)
    assert message.content == {"contacts": cards}
    assert message.text == "Barbara J. Johnson, Ann"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message_id": "wamid.target", "emoji": "\U0001f44d"}, Reaction("wamid.target", "\U0001f44d")),
        ({"message_id": "wamid.target", "emoji": ""}, Reaction("wamid.target", None)),
        ({"message_id": "wamid.target"}, Reaction("wamid.target", None)),
    ],
)
def test_reaction_and_its_removal(body: dict[str, Any], expected: Reaction) -> None:
    message = parse_one(inbound("reaction", body))
    assert message.reaction == expected
    assert message.text == expected.emoji


def test_interactive_button_reply() -> None:
    body = {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes, please"}}
    message = parse_one(inbound("interactive", body, context={"from": DISPLAY_NUMBER, "id": "wamid.ours"}))
    assert message.reply == Reply("button", "yes", "Yes, please", None)
    assert message.text == "Yes, please"
    assert message.context is not None
    assert message.context.id == "wamid.ours"
    assert message.context.from_wa_id == DISPLAY_NUMBER


def test_interactive_list_reply() -> None:
    body = {
        "type": "list_reply",
        "list_reply": {"id": "priority_express", "title": "Express", "description": "Next day"},
    }
    message = parse_one(inbound("interactive", body))
    assert message.reply == Reply("list", "priority_express", "Express", "Next day")
    assert message.text == "Express"


def test_interactive_of_another_kind_has_no_reply_view() -> None:
    body = {"type": "nfm_reply", "nfm_reply": {"name": "flow", "response_json": "{}"}}
    message = parse_one(inbound("interactive", body))
    assert message.reply is None
    assert message.content == body


def test_template_quick_reply_button() -> None:
    body = {"payload": "STOP_PROMOS", "text": "Stop promotions"}
    message = parse_one(inbound("button", body, context={"from": DISPLAY_NUMBER, "id": "wamid.template"}))
    assert message.reply == Reply("quick_reply", "STOP_PROMOS", "Stop promotions", None)
    assert message.text == "Stop promotions"


def test_button_without_payload_has_no_reply_view() -> None:
    message = parse_one(inbound("button", {"text": "Stop promotions"}))
    assert message.reply is None
    assert message.text == "Stop promotions"


def test_order_message() -> None:
    body = {
        "catalog_id": "194836987003835",
        "text": "Please deliver before noon",
        "product_items": [
            {"product_retailer_id": "di9ozbzfi4", "quantity": 2, "item_price": 30, "currency": "USD"}
        ],
    }
    message = parse_one(inbound("order", body))
    assert message.content == body
    assert message.text == "Please deliver before noon"
    assert message.reply is None


def test_system_message_without_contacts() -> None:
    body = {
        "body": "User Sheena Nelson changed from 16505551234 to 12195555358",
        "wa_id": "12195555358",
        "type": "user_changed_number",
    }
    (change,) = parse_webhook(envelope(value(messages=[inbound("system", body)])))
    (message,) = change.messages
    assert change.profiles == ()
    assert change.profile_for(message.from_wa_id, None) is None
    assert message.content["wa_id"] == "12195555358"
    assert message.text == "User Sheena Nelson changed from 16505551234 to 12195555358"


def test_unsupported_message_with_errors() -> None:
    errors = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    message = parse_one(inbound("unsupported", None, errors=errors))
    assert message.content == {}
    assert message.text is None
    (error,) = message.errors
    assert error.code == 131051
    assert error.title == "Message type unknown"
    assert error.details == "Message type is currently not supported."
    assert error.raw == errors[0]


def test_unknown_type_and_unknown_fields_are_kept() -> None:
    item = inbound(
        "mystery_new_type",
        {"body": "from the future", "shape": "hexagon"},
        group_id="120363",
        sparkle={"level": 9},
    )
    message = parse_one(copy.deepcopy(item))
    assert message.type == "mystery_new_type"
    assert message.content == {"body": "from the future", "shape": "hexagon"}
    assert message.text == "from the future"
    assert message.raw == item
    assert message.raw["sparkle"] == {"level": 9}
    assert message.media is message.reply is message.location is message.reaction is None


def test_forwarded_context_and_referral() -> None:
    referral = {
        "source_url": "https://fb.me/abc",
        "source_id": "120200",
        "source_type": "ad",
        "headline": "Summer sale",
        "body": "Up to 50% off",
        "media_type": "image",
        "image_url": "https://example.com/ad.jpg",
        "ctwa_clid": "ARAkLk",
    }
    message = parse_one(
        inbound("text", {"body": "hi"}, context={"frequently_forwarded": True}, referral=referral)
    )
    assert message.context is not None
    assert message.context.frequently_forwarded is True
    assert message.context.forwarded is False
    assert message.context.id is None
    assert message.referral == referral
    forwarded = parse_one(inbound("text", {"body": "hi"}, context={"forwarded": True}))
    assert forwarded.context is not None
    assert forwarded.context.forwarded is True


def test_user_id_only_sender() -> None:
    message = inbound("text", {"body": "no phone here"})
    del message["from"]
    message["from_user_id"] = "US.13491208655302741918"
    contacts = [{"profile": {"name": "Anon"}, "user_id": "US.13491208655302741918"}]
    (change,) = parse_webhook(envelope(value(contacts=contacts, messages=[message])))
    (parsed,) = change.messages
    assert parsed.from_wa_id is None
    assert parsed.from_user_id == "US.13491208655302741918"
    profile = change.profile_for(parsed.from_wa_id, parsed.from_user_id)
    assert profile is not None
    assert profile.name == "Anon"
    assert profile.wa_id is None


def test_profile_for_prefers_user_id_and_falls_back_to_phone() -> None:
    contacts = [
        {"profile": {"name": "Phone only"}, "wa_id": "111"},
        {"profile": {"name": "Both"}, "wa_id": "222", "user_id": "US.2"},
    ]
    (change,) = parse_webhook(envelope(value(contacts=contacts)))
    assert [p.name for p in change.profiles] == ["Phone only", "Both"]
    assert change.profile_for("111", "US.2") == change.profiles[1]
    assert change.profile_for("111", "US.unknown") == change.profiles[0]
    assert change.profile_for(None, None) is None
    assert change.profile_for("999", None) is None


def test_integer_timestamp_is_accepted() -> None:
    message = parse_one(inbound("text", {"body": "x"}, timestamp=int(TS)))
    assert message.timestamp == WHEN


def test_batched_entries_changes_messages_and_statuses_keep_order() -> None:
    first = value(
        messages=[inbound("text", {"body": str(i)}, id=f"wamid.in{i}") for i in range(3)],
    )
    second = value(
        statuses=[
            {"id": f"wamid.out{i}", "status": s, "timestamp": TS, "recipient_id": USER}
            for i, s in enumerate(["sent", "delivered", "read"])
        ]
    )
    payload = envelope(first, second)
    other = envelope(value(messages=[inbound("text", {"body": "other"}, id="wamid.other")]), waba_id="9")
    payload["entry"].extend(other["entry"])
    changes = parse_webhook(payload)
    assert [c.waba_id for c in changes] == [WABA_ID, WABA_ID, "9"]
    assert [m.text for m in changes[0].messages] == ["0", "1", "2"]
    assert [(s.id, s.status) for s in changes[1].statuses] == [
        ("wamid.out0", "sent"),
        ("wamid.out1", "delivered"),
        ("wamid.out2", "read"),
    ]
    assert changes[1].messages == ()
    assert [m.id for m in changes[2].messages] == ["wamid.other"]


def test_status_with_conversation_pricing_and_callback_data() -> None:
    status = {
        "id": "wamid.out",
        "status": "delivered",
        "timestamp": TS,
        "recipient_id": USER,
        "recipient_user_id": "US.1",
        "biz_opaque_callback_data": "campaign=42",
        "conversation": {
            "id": "6ceb9d929c0aa6d7a6d4b5d6f5a8b7c1",
            "expiration_timestamp": "1749502783",
            "origin": {"type": "marketing"},
        },
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "marketing"},
    }
    (change,) = parse_webhook(envelope(value(statuses=[status])))
    (parsed,) = change.statuses
    assert parsed.id == "wamid.out"
    assert parsed.status == "delivered"
    assert parsed.timestamp == WHEN
    assert parsed.recipient_id == USER
    assert parsed.recipient_user_id == "US.1"
    assert parsed.biz_opaque_callback_data == "campaign=42"
    assert parsed.conversation == status["conversation"]
    assert parsed.pricing == status["pricing"]
    assert parsed.errors == ()
    assert parsed.raw == status


def test_failed_status_with_errors_and_unknown_status_kept() -> None:
    failed = {
        "id": "wamid.failed",
        "status": "failed",
        "timestamp": TS,
        "recipient_id": USER,
        "errors": [
            {
                "code": 131047,
                "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {"details": "More than 24 hours have passed since the recipient last replied."},
            },
            "not an error object",
        ],
    }
    odd = {"id": "wamid.odd", "status": "teleported", "timestamp": TS}
    (change,) = parse_webhook(envelope(value(statuses=[failed, odd])))
    first, second = change.statuses
    (error,) = first.errors
    assert (error.code, error.title) == (131047, "Re-engagement message")
    assert error.details == "More than 24 hours have passed since the recipient last replied."
    assert second.status == "teleported"
    assert second.recipient_id is None
    assert second.conversation is None
    assert second.pricing is None


def test_value_level_errors() -> None:
    errors = [{"code": 131000, "title": "Something went wrong", "message": "Something went wrong"}]
    (change,) = parse_webhook(envelope(value(errors=errors)))
    assert [(e.code, e.title) for e in change.errors] == [(131000, "Something went wrong")]
    assert change.messages == change.statuses == ()


def test_error_with_string_code_or_without_title() -> None:
    errors = [{"code": "130429", "message": "Rate limit hit"}, {"title": "No code"}]
    (change,) = parse_webhook(envelope(value(errors=errors)))
    first, second = change.errors
    assert (first.code, first.title, first.message) == (130429, "Rate limit hit", "Rate limit hit")
    assert (second.code, second.title, second.message) == (0, "No code", None)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("just a string", "message is not an object"),
        ({"from": USER, "timestamp": TS, "type": "text", "text": {"body": "x"}}, "message has no 'id'"),
        ({"from": USER, "id": "wamid.x", "timestamp": TS}, "message has no 'type'"),
        ({"id": "wamid.x", "type": "text", "timestamp": "yesterday"}, "timestamp"),
        ({"id": "wamid.x", "type": "text", "timestamp": "-5"}, "timestamp"),
        ({"id": "wamid.x", "type": "text", "timestamp": True}, "timestamp"),
        ({"id": "wamid.x", "type": "text"}, "timestamp"),
        ({"id": "wamid.x", "type": "text", "timestamp": "9" * 30}, "timestamp"),
    ],
)
def test_malformed_message_is_unparsed_and_siblings_survive(bad: Any, reason: str) -> None:
    good_before = inbound("text", {"body": "before"}, id="wamid.before")
    good_after = inbound("text", {"body": "after"}, id="wamid.after")
    (change,) = parse_webhook(envelope(value(messages=[good_before, bad, good_after])))
    assert [m.id for m in change.messages] == ["wamid.before", "wamid.after"]
    (unparsed,) = change.unparsed
    assert unparsed.kind == "message"
    assert reason in unparsed.reason
    assert unparsed.raw == bad


def test_malformed_status_is_unparsed_and_siblings_survive() -> None:
    good = {"id": "wamid.ok", "status": "read", "timestamp": TS}
    bad = [
        {"status": "read", "timestamp": TS},
        {"id": "wamid.nostatus", "timestamp": TS},
        {"id": "wamid.badtime", "status": "sent", "timestamp": "soon"},
        42,
    ]
    (change,) = parse_webhook(envelope(value(statuses=[*bad, good])))
    assert [s.id for s in change.statuses] == ["wamid.ok"]
    assert [u.kind for u in change.unparsed] == ["status"] * 4
    assert [u.raw for u in change.unparsed] == bad
    assert "status has no 'id'" in change.unparsed[0].reason
    assert "status has no 'status'" in change.unparsed[1].reason


def test_messages_that_is_not_a_list_is_unparsed() -> None:
    (change,) = parse_webhook(envelope(value(messages={"id": "wamid.x"}, statuses=[])))
    (unparsed,) = change.unparsed
    assert (unparsed.kind, unparsed.reason) == ("message", "value.messages is not a list")
    assert unparsed.raw == {"id": "wamid.x"}


def test_malformed_changes_and_entries_are_kept_as_unparsed_changes() -> None:
    good = {"field": "messages", "value": value(messages=[inbound("text", {"body": "ok"})])}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": WABA_ID, "changes": ["garbage", {"field": "messages", "value": None}, good]},
            "not an entry",
            {"id": "777", "changes": "nope"},
        ],
    }
    changes = parse_webhook(payload)
    assert len(changes) == 5
    garbage, no_value, parsed, not_entry, no_changes = changes
    assert [u.reason for u in garbage.unparsed] == ["change is not an object"]
    assert garbage.unparsed[0].raw == "garbage"
    assert no_value.field == "messages"
    assert no_value.unparsed[0].reason == "change.value is not an object"
    assert [m.text for m in parsed.messages] == ["ok"]
    assert parsed.unparsed == ()
    assert not_entry.unparsed[0].reason == "entry is not an object"
    assert not_entry.waba_id is None
    assert no_changes.waba_id == "777"
    assert no_changes.unparsed[0].reason == "entry.changes is not a list"
    assert all(u.kind == "change" for c in changes if c is not parsed for u in c.unparsed)


def test_other_fields_are_kept() -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {"event": "APPROVED", "message_template_name": "order_update"},
                    }
                ],
            }
        ],
    }
    (change,) = parse_webhook(payload)
    assert change.field == "message_template_status_update"
    assert change.phone_number_id is None
    assert change.messages == change.statuses == change.unparsed == ()
    assert change.raw["value"]["event"] == "APPROVED"


def test_empty_entry_list_gives_no_changes() -> None:
    assert parse_webhook({"object": "whatsapp_business_account", "entry": []}) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "payload must be a JSON object, got list"),
        ("text", "payload must be a JSON object, got str"),
        (None, "payload must be a JSON object, got NoneType"),
        ({"entry": []}, "payload has no 'object' field"),
        ({"object": "page", "entry": []}, "object is 'page', expected 'whatsapp_business_account'"),
        ({"object": "whatsapp_business_account"}, "entry must be a list, got NoneType"),
        ({"object": "whatsapp_business_account", "entry": {}}, "entry must be a list, got dict"),
    ],
)
def test_unusable_envelope_raises(payload: Any, message: str) -> None:
    with pytest.raises(WebhookPayloadError) as raised:
        parse_webhook(payload)
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_parsed_objects_are_frozen() -> None:
    (change,) = parse_webhook(envelope(value(messages=[inbound("text", {"body": "x"})])))
    assert isinstance(change, Change)
    with pytest.raises(AttributeError):
        change.messages[0].text = "changed"  # type: ignore[misc]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
MESSAGE_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON | st.just("wamid.x"),
        "type": JSON | st.sampled_from(["text", "image", "interactive", "button", "location", "contacts"]),
        "timestamp": JSON | st.just(TS),
        "from": JSON,
        "context": JSON,
        "referral": JSON,
        "errors": JSON,
        "text": JSON,
        "image": JSON,
        "interactive": JSON,
        "button": JSON,
        "location": JSON,
        "contacts": JSON,
    },
)


@given(st.lists(MESSAGE_FIELDS | JSON, max_size=4), st.lists(JSON, max_size=3), JSON)
def test_arbitrary_inner_items_never_raise(messages: list[Any], statuses: list[Any], contacts: Any) -> None:
    (change,) = parse_webhook(envelope(value(messages=messages, statuses=statuses, contacts=contacts)))
    assert len(change.messages) + sum(u.kind == "message" for u in change.unparsed) == len(messages)
    assert len(change.statuses) + sum(u.kind == "status" for u in change.unparsed) == len(statuses)
    for message in change.messages:
        # Every typed view is total: it answers or says None, whatever the content.
        assert message.text is None or isinstance(message.text, str)
        assert message.reply is None or isinstance(message.reply.id, str)
        assert message.location is None or isinstance(message.location.latitude, float)
        assert (message.media is not None) == (
            message.type in {"image", "video", "audio", "document", "sticker"}
        )
        assert (message.reaction is not None) == (message.type == "reaction")
        assert all(isinstance(card, dict) for card in message.shared_contacts)
