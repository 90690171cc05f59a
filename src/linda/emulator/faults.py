"""Graph API error answers as the emulator gives them: Meta's codes, titles, HTTP statuses and body shape."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

# Meta's titles (the `message` of an error is "(#code) title", except for 190).
TITLES: dict[int, str] = {
    1: "API Unknown",
    2: "API Service",
    4: "Application request limit reached",
    100: "Invalid parameter",
    190: "Invalid OAuth access token",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131016: "Service unavailable",
    131026: "Message Undeliverable",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131051: "Message type unknown",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    131064: "Messaging limit reached",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
}

# HTTP statuses Meta answers with; anything not listed is 400.
HTTP_STATUSES: dict[int, int] = {1: 500, 2: 503, 190: 401, 131000: 500, 131016: 503, 132001: 404}


def default_http_status(code: int) -> int:
    return HTTP_STATUSES.get(code, 400)


@dataclass(eq=False)
class GraphFault(Exception):
    """A refusal the Graph API routes turn into Meta's error answer."""

    code: int
    details: str
    http_status: int | None = None
    subcode: int | None = None
    error_type: str = "OAuthException"

    @property
    def status(self) -> int:
        return self.http_status if self.http_status is not None else default_http_status(self.code)

    def body(self) -> dict[str, Any]:
        title = TITLES.get(self.code, "Error")
        error: dict[str, Any] = {
            "message": title if self.code == 190 else f"(#{self.code}) {title}",
            "type": self.error_type,
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
        return {"error": error}


def unknown_object(object_id: str) -> GraphFault:
    """Meta's answer for an id that does not exist (or is not visible with this token)."""
    return GraphFault(
        100,
        f"Unsupported post request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        subcode=33,
        error_type="GraphMethodException",
    )


def bad_token(details: str) -> GraphFault:
    return GraphFault(190, details)
