from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linda.whatsapp import limits
from linda.whatsapp import messages as m
from linda.whatsapp.errors import MessageValidationError

TO = "16505551234"


def send(message: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO, **message}


def buttons_body(count: int = 2) -> dict[str, Any]:
    return send(
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "text", "text": "Order 1234"},
                "body": {"text": "Confirm the delivery?"},
                "footer": {"text": "Reply within 24 h"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": f"btn-{i}", "title": f"Option {i}"}}
                        for i in range(count)
                    ]
                },
            },
        }
    )


def list_body(rows_per_section: tuple[int, ...] = (2, 1)) -> dict[str, Any]:
    sections = [
        {
            "title": f"Section {s}",
            "rows": [
                {"id": f"row-{s}-{r}", "title": f"Row {r}", "description": "A row"} for r in range(count)
            ],
        }
        for s, count in enumerate(rows_per_section)
    ]
    return send(
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "header": {"type": "text", "text": "Menu"},
                "body": {"text": "Pick a delivery slot"},
                "action": {"button": "Choose", "sections": sections},
            },
        }
    )


def template_body(components: list[Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "order_update",
        "language": {"code": "en_US", "policy": "deterministic"},
    }
    if components is not None:
        payload["components"] = components
    return send({"type": "template", "template": payload})


def invalid(body: Any) -> MessageValidationError:
    with pytest.raises(MessageValidationError) as raised:
        m.validate_message(body)
    return raised.value


# --- the envelope ------------------------------------------------------------------------------------------


def test_valid_send_passes() -> None:
    m.validate_message(send({"type": "text", "text": {"body": "hi", "preview_url": True}}))


def test_messaging_product_must_be_whatsapp_if_present() -> None:
    body = send({"type": "text", "text": {"body": "hi"}})
    del body["messaging_product"]
    m.validate_message(body)
    body["messaging_product"] = "instagram"
    error = invalid(body)
    assert error.field == "messaging_product"
    assert "'whatsapp'" in str(error)


@pytest.mark.parametrize("to", [None, "", 16505551234])
def test_to_is_a_required_non_empty_string(to: Any) -> None:
    body = send({"type": "text", "text": {"body": "hi"}})
    if to is None:
        del body["to"]
    else:
        body["to"] = to
    assert invalid(body).field == "to"


def test_body_must_be_an_object() -> None:
    assert invalid(["not", "a", "body"]).field == "body"


def test_recipient_type() -> None:
    body = send({"type": "text", "text": {"body": "hi"}})
    body["recipient_type"] = "broadcast"
    assert invalid(body).field == "recipient_type"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({}, "type"),
        ({"type": "carrier_pigeon", "carrier_pigeon": {}}, "type"),
        ({"type": "text"}, "text"),
        ({"type": "text", "text": "hi"}, "text"),
        ({"type": "image", "image": ["x"]}, "image"),
    ],
)
def test_type_and_its_object(message: dict[str, Any], field: str) -> None:
    error = invalid(send(message))
    assert error.field == field


def test_context_message_id() -> None:
    body = send({"type": "text", "text": {"body": "hi"}, "context": {"message_id": "wamid.abc"}})
    m.validate_message(body)
    body["context"] = {"message_id": 12}
    assert invalid(body).field == "context.message_id"
    body["context"] = "wamid.abc"
    assert invalid(body).field == "context"


def test_biz_opaque_callback_data_is_limited_in_utf8_bytes() -> None:
    body = send({"type": "text", "text": {"body": "hi"}})
    body["biz_opaque_callback_data"] = "x" * limits.BIZ_OPAQUE_CALLBACK_DATA_MAX_BYTES
    m.validate_message(body)
    body["biz_opaque_callback_data"] = "é" * 257  # 257 characters, 514 bytes
    error = invalid(body)
    assert error.field == "biz_opaque_callback_data"
    assert "must be at most 512 bytes (UTF-8), got 514" in str(error)


def test_mark_as_read() -> None:
    m.validate_message({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"})
    assert invalid({"messaging_product": "whatsapp", "status": "read"}).field == "message_id"
    assert invalid({"messaging_product": "whatsapp", "status": "seen", "message_id": "w"}).field == "status"


# --- text --------------------------------------------------------------------------------------------------


def test_text_body_boundary() -> None:
    m.validate_message(send({"type": "text", "text": {"body": "a" * limits.TEXT_BODY_MAX}}))
    error = invalid(send({"type": "text", "text": {"body": "a" * (limits.TEXT_BODY_MAX + 1)}}))
    assert error.field == "text.body"
    assert str(error) == "text.body: must be at most 4096 characters, got 4097"


@given(st.integers(min_value=1, max_value=limits.TEXT_BODY_MAX + 200), st.sampled_from("aé\U0001f600"))
def test_text_length_is_counted_in_characters(length: int, char: str) -> None:
    body = send({"type": "text", "text": {"body": char * length}})
    if length <= limits.TEXT_BODY_MAX:
        m.validate_message(body)
    else:
        assert invalid(body).field == "text.body"


@pytest.mark.parametrize(("text", "field"), [("", "text.body"), (None, "text.body"), (5, "text.body")])
def test_text_body_required_non_empty_string(text: Any, field: str) -> None:
    payload = {} if text is None else {"body": text}
    assert invalid(send({"type": "text", "text": payload})).field == field


def test_preview_url_must_be_boolean() -> None:
    assert invalid(send({"type": "text", "text": {"body": "x", "preview_url": "yes"}})).field == (
        "text.preview_url"
    )


# --- media -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", m.MEDIA_KINDS)
def test_media_needs_exactly_one_of_id_or_link(kind: str) -> None:
    m.validate_message(send({"type": kind, kind: {"id": "1234"}}))
    m.validate_message(send({"type": kind, kind: {"link": "https://example.com/f"}}))
    both = invalid(send({"type": kind, kind: {"id": "1", "link": "https://example.com/f"}}))
    assert both.field == kind
    assert "got id and link" in str(both)
    neither = invalid(send({"type": kind, kind: {}}))
    assert neither.field == kind
    assert "got neither" in str(neither)
    assert invalid(send({"type": kind, kind: {"id": ""}})).field == f"{kind}.id"


@pytest.mark.parametrize("kind", ["image", "video", "document"])
def test_caption_boundary(kind: str) -> None:
    ok = {"id": "1", "caption": "c" * limits.CAPTION_MAX}
    m.validate_message(send({"type": kind, kind: ok}))
    error = invalid(send({"type": kind, kind: {**ok, "caption": "c" * (limits.CAPTION_MAX + 1)}}))
    assert error.field == f"{kind}.caption"
    assert "must be at most 1024 characters, got 1025" in str(error)


@pytest.mark.parametrize("kind", ["audio", "sticker"])
def test_caption_not_allowed_on_audio_and_sticker(kind: str) -> None:
    assert invalid(send({"type": kind, kind: {"id": "1", "caption": "x"}})).field == f"{kind}.caption"


def test_filename_only_on_documents() -> None:
    m.validate_message(send({"type": "document", "document": {"id": "1", "filename": "a.pdf"}}))
    assert (
        invalid(send({"type": "image", "image": {"id": "1", "filename": "a.png"}})).field == "image.filename"
    )


# --- interactive buttons -----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3])
def test_one_to_three_buttons_are_valid(count: int) -> None:
    m.validate_message(buttons_body(count))


def test_four_buttons_names_the_fourth() -> None:
    error = invalid(buttons_body(4))
    assert error.field == "interactive.action.buttons[3]"
    assert "must have at most 3 buttons, got 4" in str(error)


def test_zero_buttons() -> None:
    assert invalid(buttons_body(0)).field == "interactive.action.buttons"


def _set(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


BUTTON = ("interactive", "action", "buttons", 0, "reply")
LIST_ROW = ("interactive", "action", "sections", 0, "rows", 0)


@pytest.mark.parametrize(
    ("make", "path", "maximum", "field"),
    [
        (buttons_body, ("interactive", "body", "text"), 1024, "interactive.body.text"),
        (buttons_body, ("interactive", "footer", "text"), 60, "interactive.footer.text"),
        (buttons_body, ("interactive", "header", "text"), 60, "interactive.header.text"),
        (buttons_body, (*BUTTON, "id"), 256, "interactive.action.buttons[0].reply.id"),
        (buttons_body, (*BUTTON, "title"), 20, "interactive.action.buttons[0].reply.title"),
        (list_body, ("interactive", "body", "text"), 1024, "interactive.body.text"),
        (list_body, ("interactive", "header", "text"), 60, "interactive.header.text"),
        (list_body, ("interactive", "action", "button"), 20, "interactive.action.button"),
        (
            list_body,
            ("interactive", "action", "sections", 1, "title"),
            24,
            "interactive.action.sections[1].title",
        ),
        (list_body, (*LIST_ROW, "id"), 200, "interactive.action.sections[0].rows[0].id"),
        (list_body, (*LIST_ROW, "title"), 24, "interactive.action.sections[0].rows[0].title"),
        (list_body, (*LIST_ROW, "description"), 72, "interactive.action.sections[0].rows[0].description"),
    ],
)
def test_interactive_length_boundaries(
    make: Callable[[], dict[str, Any]], path: tuple[Any, ...], maximum: int, field: str
) -> None:
    m.validate_message(_set(make(), path, "x" * maximum))
    error = invalid(_set(make(), path, "x" * (maximum + 1)))
    assert error.field == field
    assert f"must be at most {maximum} characters, got {maximum + 1}" in str(error)


def test_button_ids_must_be_unique() -> None:
    body = _set(buttons_body(2), ("interactive", "action", "buttons", 1, "reply", "id"), "btn-0")
    error = invalid(body)
    assert error.field == "interactive.action.buttons[1].reply.id"
    assert "'btn-0'" in str(error)


def test_button_type_must_be_reply_and_body_required() -> None:
    body = _set(buttons_body(1), ("interactive", "action", "buttons", 0, "type"), "url")
    assert invalid(body).field == "interactive.action.buttons[0].type"
    no_body = buttons_body(1)
    del no_body["interactive"]["body"]
    assert invalid(no_body).field == "interactive.body"


def test_button_header_may_be_media_but_list_header_may_not() -> None:
    media_header = {"type": "image", "image": {"link": "https://example.com/a.jpg"}}
    m.validate_message(_set(buttons_body(1), ("interactive", "header"), media_header))
    assert invalid(_set(list_body(), ("interactive", "header"), media_header)).field == (
        "interactive.header.type"
    )
    bad_media = {"type": "video", "video": {}}
    assert invalid(_set(buttons_body(1), ("interactive", "header"), bad_media)).field == (
        "interactive.header.video"
    )


def test_other_interactive_types_check_common_parts() -> None:
    cta = send(
        {
            "type": "interactive",
            "interactive": {
                "type": "cta_url",
                "body": {"text": "See our menu"},
                "action": {"name": "cta_url", "parameters": {"display_text": "Menu", "url": "https://x.y"}},
            },
        }
    )
    m.validate_message(cta)
    assert invalid(_set(cta, ("interactive", "body", "text"), "x" * 1025)).field == "interactive.body.text"
    no_action = copy.deepcopy(cta)
    del no_action["interactive"]["action"]
    assert invalid(no_action).field == "interactive.action"


# --- interactive lists -------------------------------------------------------------------------------------


def test_ten_rows_across_sections_ok_eleven_not() -> None:
    m.validate_message(list_body((4, 3, 3)))
    error = invalid(list_body((4, 3, 4)))
    assert error.field == "interactive.action.sections[2].rows[3]"
    assert "at most 10 rows in all, got 11" in str(error)


def test_row_ids_unique_across_sections() -> None:
    body = _set(list_body((1, 1)), ("interactive", "action", "sections", 1, "rows", 0, "id"), "row-0-0")
    assert invalid(body).field == "interactive.action.sections[1].rows[0].id"


def test_section_title_required_only_with_several_sections() -> None:
    single = list_body((2,))
    del single["interactive"]["action"]["sections"][0]["title"]
    m.validate_message(single)
    double = list_body((1, 1))
    del double["interactive"]["action"]["sections"][1]["title"]
    assert invalid(double).field == "interactive.action.sections[1].title"


def test_empty_sections_and_rows() -> None:
    assert invalid(list_body(())).field == "interactive.action.sections"
    assert invalid(list_body((0,))).field == "interactive.action.sections[0].rows"


def test_row_must_be_an_object() -> None:
    body = _set(list_body((1,)), ("interactive", "action", "sections", 0, "rows", 0), "row")
    assert invalid(body).field == "interactive.action.sections[0].rows[0]"


# --- template ----------------------------------------------------------------------------------------------


FULL_COMPONENTS: list[Any] = [
    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/h.jpg"}}]},
    {
        "type": "body",
        "parameters": [
            {"type": "text", "text": "Sheena"},
            {
                "type": "currency",
                "currency": {"fallback_value": "$100.99", "code": "USD", "amount_1000": 100990},
            },
            {"type": "date_time", "date_time": {"fallback_value": "June 9, 2025"}},
        ],
    },
    {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "0",
        "parameters": [{"type": "payload", "payload": "Y"}],
    },
    {"type": "button", "sub_type": "url", "index": 1, "parameters": [{"type": "text", "text": "track/1"}]},
]


def test_template_valid_with_and_without_components() -> None:
    m.validate_message(template_body())
    m.validate_message(template_body(FULL_COMPONENTS))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda t: t.pop("name"), "template.name"),
        (lambda t: t.pop("language"), "template.language"),
        (lambda t: t["language"].pop("code"), "template.language.code"),
        (lambda t: t["language"].update(policy="fallback"), "template.language.policy"),
        (lambda t: t.update(components={"type": "body"}), "template.components"),
        (lambda t: t["components"].append({"type": "sidebar"}), "template.components[4].type"),
        (lambda t: t["components"][2].pop("sub_type"), "template.components[2].sub_type"),
        (lambda t: t["components"][2].pop("index"), "template.components[2].index"),
        (lambda t: t["components"][2].update(index="10"), "template.components[2].index"),
        (
            lambda t: t["components"][1]["parameters"][0].pop("text"),
            "template.components[1].parameters[0].text",
        ),
        (
            lambda t: t["components"][1]["parameters"].append({"type": "emoji"}),
            "template.components[1].parameters[3].type",
        ),
        (
            lambda t: t["components"][1]["parameters"][1]["currency"].update(amount_1000="100"),
            "template.components[1].parameters[1].currency.amount_1000",
        ),
        (
            lambda t: t["components"][1]["parameters"][2]["date_time"].pop("fallback_value"),
            "template.components[1].parameters[2].date_time.fallback_value",
        ),
        (
            lambda t: t["components"][0]["parameters"][0]["image"].update(id="9"),
            "template.components[0].parameters[0].image",
        ),
        (
            lambda t: t["components"][2]["parameters"][0].pop("payload"),
            "template.components[2].parameters[0].payload",
        ),
        (lambda t: t["components"][3]["parameters"].append(7), "template.components[3].parameters[1]"),
        (
            lambda t: t["components"][3]["parameters"].append({"type": "coupon_code"}),
            "template.components[3].parameters[1].coupon_code",
        ),
        (
            lambda t: t["components"][3]["parameters"].append({"type": "action"}),
            "template.components[3].parameters[1].action",
        ),
    ],
)
def test_template_errors(mutate: Callable[[dict[str, Any]], Any], field: str) -> None:
    body = template_body(copy.deepcopy(FULL_COMPONENTS))
    mutate(body["template"])
    assert invalid(body).field == field


# --- reaction, location, contacts --------------------------------------------------------------------------


def test_reaction() -> None:
    m.validate_message(
        send({"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "\U0001f600"}})
    )
    m.validate_message(send({"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": ""}}))
    assert (
        invalid(send({"type": "reaction", "reaction": {"message_id": "wamid.x"}})).field == "reaction.emoji"
    )
    assert invalid(send({"type": "reaction", "reaction": {"emoji": "x"}})).field == "reaction.message_id"
    assert invalid(send({"type": "reaction", "reaction": {"message_id": "w", "emoji": 1}})).field == (
        "reaction.emoji"
    )


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (90, 180, None),
        (-90.0, -180.0, None),
        (90.0001, 0, "location.latitude"),
        (0, -180.5, "location.longitude"),
        ("37.4", 0, "location.latitude"),
        (True, 0, "location.latitude"),
        (0, None, "location.longitude"),
    ],
)
def test_location_coordinates(latitude: Any, longitude: Any, field: str | None) -> None:
    body = send({"type": "location", "location": {"latitude": latitude, "longitude": longitude}})
    if field is None:
        m.validate_message(body)
    else:
        assert invalid(body).field == field


def test_contacts() -> None:
    card = {"name": {"formatted_name": "Barbara Johnson"}, "phones": [{"phone": "+19405551234"}]}
    m.validate_message(send({"type": "contacts", "contacts": [card]}))
    assert invalid(send({"type": "contacts", "contacts": []})).field == "contacts"
    assert (
        invalid(send({"type": "contacts", "contacts": [{"name": {}}]})).field
        == "contacts[0].name.formatted_name"
    )
    assert invalid(send({"type": "contacts", "contacts": [card, "x"]})).field == "contacts[1]"
    assert invalid(send({"type": "contacts"})).field == "contacts"


# --- builders ----------------------------------------------------------------------------------------------


def test_text_builder() -> None:
    assert m.text("hello") == {"type": "text", "text": {"body": "hello", "preview_url": False}}
    assert m.text("see https://x.y", preview_url=True)["text"]["preview_url"] is True
    with pytest.raises(MessageValidationError, match=r"^text.body: must not be empty$"):
        m.text("")
    with pytest.raises(MessageValidationError) as raised:
        m.text("a" * 4097)
    assert raised.value.field == "text.body"


def test_template_builder() -> None:
    assert m.template("hello_world", "en_US") == {
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US", "policy": "deterministic"}},
    }
    built = m.template("order_update", "en_US", FULL_COMPONENTS)
    assert built["template"]["components"] == FULL_COMPONENTS
    with pytest.raises(MessageValidationError) as raised:
        m.template("", "en_US")
    assert raised.value.field == "template.name"


def test_reply_buttons_builder() -> None:
    built = m.reply_buttons("Confirm?", [("yes", "Yes"), ("no", "No")], header="Order", footer="Thanks")
    assert built == {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "text", "text": "Order"},
            "body": {"text": "Confirm?"},
            "footer": {"text": "Thanks"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "No"}},
                ]
            },
        },
    }
    assert "header" not in m.reply_buttons("Confirm?", [("yes", "Yes")])["interactive"]
    with pytest.raises(MessageValidationError) as raised:
        m.reply_buttons("Pick", [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")])
    assert raised.value.field == "interactive.action.buttons[3]"


def test_list_message_builder() -> None:
    sections = [
        m.ListSection(
            "Morning", [m.ListRow("slot-9", "9:00", "Before lunch"), m.ListRow("slot-10", "10:00")]
        ),
        m.ListSection("Evening", [m.ListRow("slot-18", "18:00")]),
    ]
    built = m.list_message("Pick a slot", "Slots", sections, footer="Local time")
    interactive = built["interactive"]
    assert interactive["type"] == "list"
    assert interactive["footer"] == {"text": "Local time"}
    assert interactive["action"] == {
        "button": "Slots",
        "sections": [
            {
                "title": "Morning",
                "rows": [
                    {"id": "slot-9", "title": "9:00", "description": "Before lunch"},
                    {"id": "slot-10", "title": "10:00"},
                ],
            },
            {"title": "Evening", "rows": [{"id": "slot-18", "title": "18:00"}]},
        ],
    }
    untitled = m.list_message("Pick", "Open", [m.ListSection(None, [m.ListRow("a", "A")])])
    assert untitled["interactive"]["action"]["sections"] == [{"rows": [{"id": "a", "title": "A"}]}]
    with pytest.raises(MessageValidationError) as raised:
        m.list_message("Pick", "Open", [m.ListSection("S", [m.ListRow(str(i), "R") for i in range(11)])])
    assert raised.value.field == "interactive.action.sections[0].rows[10]"


def test_media_builder() -> None:
    assert m.media("document", id="42", caption="Invoice", filename="inv.pdf") == {
        "type": "document",
        "document": {"id": "42", "caption": "Invoice", "filename": "inv.pdf"},
    }
    assert m.media("image", link="https://example.com/a.jpg") == {
        "type": "image",
        "image": {"link": "https://example.com/a.jpg"},
    }
    with pytest.raises(MessageValidationError) as raised:
        m.media("hologram", id="1")
    assert raised.value.field == "type"
    with pytest.raises(MessageValidationError) as raised:
        m.media("image", id="1", link="https://example.com/a.jpg")
    assert raised.value.field == "image"


def test_reaction_and_location_builders() -> None:
    assert m.reaction("wamid.x", "") == {
        "type": "reaction",
        "reaction": {"message_id": "wamid.x", "emoji": ""},
    }
    assert m.location(37.44, -122.16, name="Philz") == {
        "type": "location",
        "location": {"latitude": 37.44, "longitude": -122.16, "name": "Philz"},
    }
    with pytest.raises(MessageValidationError):
        m.location(91, 0)


def test_request_body() -> None:
    body = m.request_body(TO, m.text("hi"), reply_to="wamid.in", biz_opaque_callback_data="campaign=7")
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "hi", "preview_url": False},
        "context": {"message_id": "wamid.in"},
        "biz_opaque_callback_data": "campaign=7",
    }
    plain = m.request_body("US.13491208655302741918", m.template("hello_world", "en_US"))
    assert "context" not in plain
    assert "biz_opaque_callback_data" not in plain
    assert plain["to"] == "US.13491208655302741918"
    assert m.request_body(TO, {**m.text("hi"), "to": "someone else"})["to"] == TO


def test_request_body_validates() -> None:
    with pytest.raises(MessageValidationError) as raised:
        m.request_body("", m.text("hi"))
    assert raised.value.field == "to"
    with pytest.raises(MessageValidationError) as raised:
        m.request_body(TO, m.text("hi"), biz_opaque_callback_data="x" * 513)
    assert raised.value.field == "biz_opaque_callback_data"
    with pytest.raises(MessageValidationError) as raised:
        m.request_body(TO, {"type": "text", "text": {"body": ""}})
    assert raised.value.field == "text.body"


def test_mark_read_body() -> None:
    assert m.mark_read_body("wamid.in") == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.in",
    }
    with pytest.raises(MessageValidationError) as raised:
        m.mark_read_body("")
    assert raised.value.field == "message_id"


@pytest.mark.parametrize(
    ("message", "needed"),
    [
        (m.template("hello_world", "en_US"), False),
        (m.text("hi"), True),
        (m.media("image", id="1"), True),
        (m.reaction("wamid.x", "\U0001f44d"), True),
        (m.reply_buttons("Yes?", [("y", "Yes")]), True),
        (m.location(0, 0), True),
    ],
)
def test_needs_service_window(message: dict[str, Any], needed: bool) -> None:
    assert m.needs_service_window(message) is needed
    assert m.needs_service_window(m.request_body(TO, message)) is needed


def test_template_parameter_counts() -> None:
    assert m.template_parameter_counts(FULL_COMPONENTS) == {
        "header": 1,
        "body": 3,
        "button:0": 1,
        "button:1": 1,
    }
    assert m.template_parameter_counts([{"type": "BODY", "parameters": []}, {"type": "footer"}]) == {
        "body": 0,
        "footer": 0,
    }
    assert m.template_parameter_counts([]) == {}
    assert m.template_parameter_counts(["junk", {"type": "body", "parameters": [{}, {}]}]) == {"body": 2}


def test_more_than_ten_sections_names_the_eleventh() -> None:
    error = invalid(list_body((0,) * 11))
    assert error.field == "interactive.action.sections[10]"
    assert "must have at most 10 sections, got 11" in str(error)
