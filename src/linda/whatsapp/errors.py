"""Graph API errors as exceptions keyed by Meta's error code, each marked retryable or not.

Branch on `code`, never on the HTTP status (CLOUD_API.md). Unknown codes become `GraphAPIError`, retryable
only when the HTTP status says the server failed (5xx).
"""

from __future__ import annotations

from typing import Any, ClassVar


class WhatsAppError(Exception):
    """Base of every error Linda raises about WhatsApp."""


class MessageValidationError(WhatsAppError, ValueError):
    """An outbound message breaks one of Meta's limits; raised before anything is sent."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class GraphAPIError(WhatsAppError):
    """An error answer from the Graph API."""

    codes: ClassVar[tuple[int, ...]] = ()
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        code: int,
        message: str,
        *,
        http_status: int = 400,
        details: str | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        prefix = "" if message.startswith(f"(#{code})") else f"(#{code}) "  # Meta's messages often carry it
        super().__init__(prefix + message + (f": {details}" if details else ""))
        self.code = code
        self.title = message
        self.http_status = http_status
        self.details = details
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.raw = raw or {}

    @property
    def is_retryable(self) -> bool:
        return self.retryable or (type(self) is GraphAPIError and self.http_status >= 500)


class TransportError(WhatsAppError):
    """The request got no answer. Worth a retry; but when the request may have reached Meta (`maybe_sent`,
    e.g. a read timeout) the message may already be on its way, so the retry must first look for it."""

    is_retryable = True
    code = 0

    def __init__(self, message: str, *, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class RateLimitError(GraphAPIError):
    retryable = True


class AppRateLimited(RateLimitError):
    codes = (4, 80007)


class ThroughputExceeded(RateLimitError):
    codes = (130429, 131057)


class PairRateExceeded(RateLimitError):
    """Too many messages to one user; the back-off applies to that recipient only."""

    codes = (131056,)


class OutsideServiceWindow(GraphAPIError):
    """More than 24 h since the user's last message: only a template may be sent."""

    codes = (131047,)


class Undeliverable(GraphAPIError):
    codes = (131026,)


class SpamRateLimited(GraphAPIError):
    codes = (131048,)


class MarketingLimitReached(GraphAPIError):
    codes = (131049,)


class MessagingLimitReached(GraphAPIError):
    codes = (131064,)


class TemplateParamMismatch(GraphAPIError):
    codes = (132000,)


class TemplateNotFound(GraphAPIError):
    codes = (132001,)


class InvalidParameter(GraphAPIError):
    codes = (100,)


class AccessTokenError(GraphAPIError):
    """Expired or invalid token: permanent until the token changes."""

    codes = (190,)


class ServiceUnavailable(GraphAPIError):
    codes = (1, 2, 131000, 131016)
    retryable = True


def _subclasses(cls: type[GraphAPIError]) -> list[type[GraphAPIError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


ERRORS_BY_CODE: dict[int, type[GraphAPIError]] = {
    code: cls for cls in _subclasses(GraphAPIError) for code in cls.codes
}


def from_response(body: Any, http_status: int) -> GraphAPIError:
    """The exception for a Graph API error body `{"error": {...}}` (or for any non-JSON failure)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphAPIError(0, f"unexpected answer (HTTP {http_status})", http_status=http_status)
    code = int(error.get("code") or 0)
    data = error.get("error_data") or {}
    cls = ERRORS_BY_CODE.get(code, GraphAPIError)
    return cls(
        code,
        str(error.get("message", "")),
        http_status=http_status,
        details=data.get("details") if isinstance(data, dict) else None,
        subcode=error.get("error_subcode"),
        fbtrace_id=error.get("fbtrace_id"),
        raw=body,
    )
