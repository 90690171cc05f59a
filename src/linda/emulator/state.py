"""What the emulator remembers: numbers, templates, users' windows, limiter buckets, media, records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from linda.whatsapp.limits import DEFAULT_THROUGHPUT_PER_SECOND


@dataclass
class EmulatedNumber:
    """A business phone number the emulated Graph API serves."""

    phone_number_id: str
    display_phone_number: str
    waba_id: str = "WABA1"
    access_token: str = "sandbox-token"
    throughput_per_second: int = DEFAULT_THROUGHPUT_PER_SECOND


@dataclass
class Template:
    """An approved template: name + language, and the parameter count of each component.

    `parameter_counts` uses the keys of `linda.whatsapp.messages.template_parameter_counts` ("header", "body",
    "button:0", ...). `category` decides the pricing category reported in status webhooks.
    """

    name: str
    language: str
    parameter_counts: dict[str, int]
    category: str = "utility"


@dataclass
class RecordedRequest:
    """One Graph API call as the emulator saw and answered it."""

    time: float
    method: str
    path: str
    phone_number_id: str | None
    body: Any
    status: int
    error_code: int | None = None
    wamid: str | None = None
    to: str | None = None


@dataclass
class RecordedWebhook:
    """One webhook delivery attempt; `answer` is the HTTP status or the text of the exception."""

    time: float
    body: dict[str, Any]
    kind: str
    attempt: int
    answer: int | str


@dataclass
class StoredMedia:
    media_id: str
    phone_number_id: str
    data: bytes
    mime_type: str
    sha256: str

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class InjectedFailure:
    code: int
    times: int
    http_status: int | None
    to: str | None


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second of the emulator's clock; starts full."""

    capacity: float
    rate: float
    tokens: float = field(init=False)
    stamp: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def available(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0

    def _refill(self, now: float) -> None:
        if self.stamp is not None and now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now if self.stamp is None else max(self.stamp, now)
