"""Telling people about alerts: the log (always), a signed HTTP webhook, and WhatsApp to admin numbers.

The log and the webhook get every change of an evaluation as it happens. WhatsApp messages go through Linda's
own outbox from the first business number: every change since an admin's previous message in one text, and at
most one text per admin per `min_seconds` (what is held back goes in the next). WhatsApp only allows free-form
text within 24 h of the admin's last message; outside it the fallback template is sent when one is set, else
the refusal is logged and the changes wait for the window to open.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linda.contacts.phones import InvalidPhone, to_e164
from linda.monitoring.alert_state import AlertChange
from linda.sending.outbox import SendRefused, enqueue
from linda.store.models import Account, Alert, AlertDelivery, AlertEvent
from linda.whatsapp import messages
from linda.whatsapp.signature import sign

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Linda-Signature"
WHATSAPP = "whatsapp"
MAX_TEXT = 4096  # WhatsApp's limit on a text body
ICONS = {"firing": "🔴", "resolved": "🟢"}


class Notifier(Protocol):
    async def notify(self, changes: Sequence[AlertChange]) -> None: ...


class LogNotifier:
    """Every change in the log: firing as a warning, resolved as info."""

    async def notify(self, changes: Sequence[AlertChange]) -> None:
        for change in changes:
            level = logging.WARNING if change.state == "firing" else logging.INFO
            log.log(level, "alert %s %s %s: %s", change.state, change.rule, change.labels, change.summary)


class WebhookNotifier:
    """POST `{"source": "linda", "alerts": [...]}` to `url`; with a secret, `X-Linda-Signature: sha256=<HMAC
    of the body>`. A failure is logged, never raised: the alert is in the history either way."""

    def __init__(self, url: str, secret: str | None = None, *, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def body(self, changes: Sequence[AlertChange]) -> bytes:
        payload = {"source": "linda", "alerts": [change.to_dict() for change in changes]}
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    async def notify(self, changes: Sequence[AlertChange]) -> None:
        if not changes:
            return
        body = self.body(changes)
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("alert webhook %s failed: %s", self.url, exc or type(exc).__name__)
            return
        if response.is_error:
            log.warning("alert webhook %s answered %s", self.url, response.status_code)


class WhatsAppDigest:
    """Queues the grouped, rate-limited WhatsApp texts to admins, in the evaluation's transaction."""

    def __init__(
        self,
        admins: Sequence[str],
        *,
        min_seconds: float = 300.0,
        fallback_template: str | None = None,
        horizon: timedelta = timedelta(hours=24),
        max_lines: int = 20,
    ) -> None:
        self.admins = list(admins)
        self.min_seconds = min_seconds
        self.fallback_template = fallback_template
        self.horizon = horizon
        self.max_lines = max_lines
        self._refused: dict[str, str] = {}  # admin -> code of the refusal already logged

    async def queue(self, session: AsyncSession, now: datetime) -> int:
        """Queue a text to each admin who has news and may get one now; the number queued."""
        newest = await session.scalar(select(func.max(AlertEvent.id)))
        if newest is None or not self.admins:
            return 0
        account = await session.scalar(select(Account).order_by(Account.id).limit(1))
        if account is None:
            self._log_refusal("*", "no_account", "no business number to send alerts from")
            return 0
        deliveries = {
            d.recipient: d
            for d in await session.scalars(select(AlertDelivery).where(AlertDelivery.channel == WHATSAPP))
        }
        queued = 0
        for admin in self.admins:
            recipient = _recipient(admin)
            delivery = deliveries.get(recipient)
            if delivery is None:
                delivery = AlertDelivery(channel=WHATSAPP, recipient=recipient, last_event_id=0)
                session.add(delivery)
                deliveries[recipient] = delivery
            if delivery.last_event_id >= newest:
                continue
            if delivery.sent_at is not None and (now - delivery.sent_at).total_seconds() < self.min_seconds:
                continue  # held back: the next text carries it
            events = (
                await session.execute(
                    select(AlertEvent, Alert)
                    .join(Alert, AlertEvent.alert_id == Alert.id)
                    .where(AlertEvent.id > delivery.last_event_id, AlertEvent.at >= now - self.horizon)
                    .order_by(AlertEvent.id)
                )
            ).all()
            if not events:
                delivery.last_event_id = newest
                continue
            last = events[-1][0].id
            text = digest_text([(event, alert) for event, alert in events], self.max_lines)
            try:
                async with session.begin_nested():
                    await enqueue(
                        session,
                        account=account,
                        to=admin,
                        message=messages.text(text),
                        idempotency_key=f"alert:{recipient}:{last}",
                        fallback_template=self.fallback_template,
                    )
            except SendRefused as exc:
                self._log_refusal(admin, exc.code, str(exc))
                continue
            self._refused.pop(admin, None)
            delivery.last_event_id = last
            delivery.sent_at = now
            queued += 1
        await session.flush()
        return queued

    def _log_refusal(self, admin: str, code: str, reason: str) -> None:
        if self._refused.get(admin) != code:  # once per admin and reason, not at every evaluation
            self._refused[admin] = code
            log.warning("alert WhatsApp to %s not queued (%s): %s", admin, code, reason)


def _recipient(admin: str) -> str:
    try:
        return to_e164(admin)
    except InvalidPhone:
        return admin.strip()[:64]


def digest_text(events: Sequence[tuple[AlertEvent, Alert]], max_lines: int = 20) -> str:
    """One text for a group of changes, oldest first, cut to WhatsApp's length."""
    header = f"Linda: {len(events)} alert change{'s' if len(events) != 1 else ''}"
    lines = [header]
    shown = 0
    for event, alert in events[:max_lines]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
        line = (
            f"{ICONS.get(event.state, '')} {event.state.upper()} {event.at:%H:%M} UTC [{alert.severity}] "
            f"{alert.rule}{f' ({labels})' if labels else ''}: {event.message}"
        )
        if sum(len(x) + 1 for x in lines) + len(line) > MAX_TEXT - 80:
            break
        lines.append(line)
        shown += 1
    if shown < len(events):
        lines.append(f"... and {len(events) - shown} more: GET /api/alerts/history")
    return "\n".join(lines)
