"""The emulator: Meta's Cloud API as one object that Linda's tests and sandbox drive and inspect."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI

from linda.emulator import inbound
from linda.emulator.chats import ChatLog
from linda.emulator.faults import GraphFault, default_http_status
from linda.emulator.state import (
    EmulatedNumber,
    InjectedFailure,
    RecordedRequest,
    RecordedWebhook,
    StoredMedia,
    Template,
    TokenBucket,
)
from linda.emulator.webhooks import WebhookEmitter
from linda.whatsapp.limits import SERVICE_WINDOW_SECONDS


class Emulator:
    """Business numbers, templates and simulated users behind an emulated Graph API and webhook emitter.

    `app` serves the Graph API and the control API; `start()` / `stop()` run the webhook emitter (the app's
    lifespan calls them when it runs standalone; a host that mounts `app` calls them itself).
    """

    def __init__(
        self,
        *,
        app_secret: str,
        webhook_url: str | None,
        numbers: Sequence[EmulatedNumber] = (),
        templates: Sequence[Template] = (),
        status_delays: tuple[float, float, float] = (0.05, 0.1, 0.2),
        webhook_retry_base: float = 0.2,
        webhook_max_attempts: int = 8,
        heartbeat_seconds: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from linda.emulator.app import create_emulator_app

        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self.status_delays = status_delays
        self.clock = clock
        self.heartbeat_seconds = heartbeat_seconds
        self.chats = ChatLog(clock)
        self.numbers: dict[str, EmulatedNumber] = {}
        self.templates: dict[tuple[str, str], Template] = {}
        self.windows: dict[tuple[str, str], float] = {}
        self.not_on_whatsapp: set[str] = set()
        self.received: dict[str, set[str]] = {}
        self.media: dict[str, StoredMedia] = {}
        self.duplicate_statuses = False
        self.reorder_statuses = False
        self.requests: list[RecordedRequest] = []
        self.webhooks: list[RecordedWebhook] = []
        self._failures: list[InjectedFailure] = []
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}
        self._conversations: dict[tuple[str, str, str], tuple[str, float]] = {}
        self.emitter = WebhookEmitter(
            app_secret=app_secret,
            url=lambda: self.webhook_url,
            record=self._recorded_webhook,
            clock=clock,
            retry_base=webhook_retry_base,
            max_attempts=webhook_max_attempts,
        )
        for number in numbers:
            self.add_number(number)
        for template in templates:
            self.add_template(template)
        self.app: FastAPI = create_emulator_app(self)

    # -- set-up -------------------------------------------------------------------------------------------

    def add_number(self, number: EmulatedNumber) -> None:
        self.numbers[number.phone_number_id] = number

    def add_template(self, template: Template) -> None:
        self.templates[(template.name, template.language)] = template

    def open_window(self, phone_number_id: str, wa_id: str, at: float | None = None) -> None:
        """Record `wa_id`'s last message to `phone_number_id` at `at` (default now)."""
        self.windows[(phone_number_id, inbound.digits(wa_id))] = self.clock() if at is None else at

    def mark_not_on_whatsapp(self, wa_id: str) -> None:
        self.not_on_whatsapp.add(inbound.digits(wa_id))

    def fail_next(
        self, code: int, *, times: int = 1, http_status: int | None = None, to: str | None = None
    ) -> None:
        """Fail the next `times` sends (to `to`, or to anyone) with `code` (default: Meta's HTTP status)."""
        status = http_status if http_status is not None else default_http_status(code)
        self._failures.append(InjectedFailure(code, times, status, inbound.digits(to) if to else None))

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.emitter.start()

    async def stop(self) -> None:
        await self.emitter.stop()

    async def wait_idle(self, timeout: float = 10) -> None:
        await self.emitter.wait_idle(timeout)

    # -- simulated users and raw webhooks -----------------------------------------------------------------

    async def user_sends(
        self,
        phone_number_id: str,
        wa_id: str,
        message: dict[str, Any],
        *,
        profile_name: str | None = None,
        context_id: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """A simulated user sends `message` to a business number: queue Meta's webhook, open the window.

        Without `profile_name`, the user's known name is used (from an earlier message or `POST
        /_emulator/users`), else "Test User"."""
        number = self.numbers.get(phone_number_id)
        if number is None:
            raise KeyError(f"unknown phone_number_id {phone_number_id!r}")
        wa_id = inbound.digits(wa_id)
        profile_name = profile_name or self.chats.profile_name(wa_id) or "Test User"
        message = self._with_media(phone_number_id, message)
        wamid = inbound.new_wamid()
        payload = inbound.message_payload(
            number,
            wa_id,
            message,
            wamid=wamid,
            timestamp=self.clock(),
            profile_name=profile_name,
            context_id=context_id,
            user_id=user_id,
        )
        self.received.setdefault(phone_number_id, set()).add(wamid)
        self.open_window(phone_number_id, wa_id)
        self.chats.user_message(
            phone_number_id, wa_id, payload["entry"][0]["changes"][0]["value"]["messages"][0], profile_name
        )
        self.emitter.schedule(phone_number_id, payload, "message")
        return wamid

    async def post_webhook(self, payload: dict[str, Any]) -> None:
        """Sign and deliver an arbitrary payload (e.g. a batch), in the lane of its first number."""
        lane = "raw"
        with contextlib.suppress(KeyError, IndexError, TypeError):
            lane = str(payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"])
        self.emitter.schedule(lane, payload, "raw")

    def _with_media(self, phone_number_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Give an inbound media item its id, mime_type and sha256, and make it downloadable."""
        kind = message.get("type")
        if kind not in inbound.MEDIA_TYPES:
            return message
        item = dict(message.get(str(kind)) or {})
        stored = self.media.get(str(item.get("id", "")))
        if stored is None:
            mime = str(item.get("mime_type") or inbound.DEFAULT_MIME_TYPES[str(kind)])
            stored = self.store_media(phone_number_id, f"emulated {kind} content".encode(), mime)
            item.setdefault("id", stored.media_id)
            self.media[str(item["id"])] = stored
        item.setdefault("mime_type", stored.mime_type)
        item.setdefault("sha256", stored.sha256)
        if kind == "audio":
            item.setdefault("voice", False)
        elif kind == "sticker":
            item.setdefault("animated", False)
        elif kind == "document":
            item.setdefault("filename", "document.pdf")
        return {**message, str(kind): item}

    # -- what the Graph API routes use --------------------------------------------------------------------

    def store_media(self, phone_number_id: str, data: bytes, mime_type: str) -> StoredMedia:
        media_id = str(secrets.randbelow(10**15) + 10**15)
        stored = StoredMedia(media_id, phone_number_id, data, mime_type, hashlib.sha256(data).hexdigest())
        self.media[media_id] = stored
        return stored

    def window_open(self, phone_number_id: str, wa_id: str) -> bool:
        last = self.windows.get((phone_number_id, wa_id))
        return last is not None and self.clock() - last < SERVICE_WINDOW_SECONDS

    def take_injected_failure(self, to: Any) -> None:
        target = inbound.digits(to) if isinstance(to, str) else None
        for failure in self._failures:
            if failure.to is None or failure.to == target:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                raise GraphFault(
                    failure.code, "Injected failure (emulator).", http_status=failure.http_status
                )

    def bucket(self, key: tuple[str, ...], capacity: float, rate: float) -> TokenBucket:
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = TokenBucket(capacity, rate)
        return found

    def conversation(self, phone_number_id: str, wa_id: str, category: str) -> tuple[str, float]:
        """The id and expiry of the open conversation of this category, opening a new one if none is open."""
        key = (phone_number_id, wa_id, category)
        now = self.clock()
        found = self._conversations.get(key)
        if found is None or found[1] <= now:
            found = self._conversations[key] = (secrets.token_hex(16), now + SERVICE_WINDOW_SECONDS)
        return found

    def record(self, entry: RecordedRequest) -> None:
        self.requests.append(entry)
        body = entry.body
        if entry.error_code is not None or not isinstance(body, dict):
            return
        if entry.wamid is not None and entry.to is not None:
            self.chats.business_message(entry.phone_number_id, entry.to, entry.wamid, body)
        elif body.get("status") == "read" and isinstance(body.get("message_id"), str):
            self.chats.marked_read(body["message_id"])

    def _recorded_webhook(self, delivery: RecordedWebhook) -> None:
        self.webhooks.append(delivery)
        self.chats.webhook(delivery)

    def sent_messages(self, to: str | None = None) -> list[RecordedRequest]:
        """Accepted sends, optionally only those to `to` (any spelling of the number)."""
        target = inbound.digits(to) if to else None
        return [
            r
            for r in self.requests
            if r.wamid is not None and r.error_code is None and (target is None or r.to == target)
        ]
