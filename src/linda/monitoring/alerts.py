"""Alerts: the rules evaluated against stored metrics, their state kept in the database, changes notified.

`AlertEvaluator.evaluate(source, now)` measures every rule over its window through the MetricsCollector's
`aggregate_metrics` (all processes merged), advances each alert's state (alert_state.advance) in one
transaction under a lock, so any number of processes may evaluate and each change is recorded once, queues the
admins' WhatsApp digest in that same transaction, and after it commits hands the changes to the log and the
webhook. `get_alerts()` and `alert_history()` read what is stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from linda.monitoring.alert_rules import AlertRulesError, Rule, Stats, load_rules
from linda.monitoring.alert_state import AlertChange, Track, advance, fingerprint
from linda.monitoring.monitor import Key, Labels
from linda.monitoring.notify import LogNotifier, Notifier, WebhookNotifier, WhatsAppDigest
from linda.store.db import Database
from linda.store.locks import lock_names
from linda.store.models import Alert, AlertEvent
from linda.store.types import utcnow

if TYPE_CHECKING:
    from linda.settings import Settings

log = logging.getLogger(__name__)
LOCK = "linda:alerts"
AlertState = Literal["pending", "firing", "resolved"]


class Aggregate(Protocol):
    @property
    def series(self) -> Mapping[Key, Stats]: ...


class MetricSource(Protocol):
    """What alerts read metrics from: the MetricsCollector."""

    async def aggregate_metrics(
        self,
        *,
        since: datetime,
        until: datetime | None = None,
        name: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> Aggregate: ...


def memory_limit(configured: int | None) -> float | None:
    """LINDA_MEMORY_LIMIT_BYTES, else the machine's memory (MemTotal), else None."""
    if configured:
        return float(configured)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class AlertEvaluator:
    def __init__(
        self,
        db: Database,
        rules: Sequence[Rule] | None = None,
        *,
        rules_path: str | None = None,
        notifiers: Sequence[Notifier] = (),
        whatsapp: WhatsAppDigest | None = None,
        memory_limit_bytes: float | None = None,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.rules_path = rules_path
        self.rules = list(rules) if rules is not None else load_rules(rules_path)
        self._mtime = _mtime(rules_path)
        self.notifiers = list(notifiers) or [LogNotifier()]
        self.whatsapp = whatsapp
        self.quantities = {"memory_limit": memory_limit_bytes}
        self.on_queued = on_queued

    @classmethod
    def from_settings(
        cls, settings: Settings, db: Database, *, on_queued: Callable[[], None] | None = None
    ) -> AlertEvaluator:
        """The rules of LINDA_ALERT_RULES (or the defaults) with the notifications the settings ask for.
        Raises AlertRulesError for a rules file that cannot be used."""
        notifiers: list[Notifier] = [LogNotifier()]
        if settings.alert_webhook_url:
            notifiers.append(WebhookNotifier(settings.alert_webhook_url, settings.alert_webhook_secret))
        whatsapp = None
        if settings.alert_admins:
            whatsapp = WhatsAppDigest(
                settings.alert_admins,
                min_seconds=settings.alert_whatsapp_min_seconds,
                fallback_template=settings.fallback_template,
            )
        return cls(
            db,
            rules_path=settings.alert_rules,
            notifiers=notifiers,
            whatsapp=whatsapp,
            memory_limit_bytes=memory_limit(settings.memory_limit_bytes),
            on_queued=on_queued,
        )

    # --- measuring --------------------------------------------------------------------------------------

    async def measure(self, rule: Rule, source: MetricSource, now: datetime) -> dict[Labels, float | None]:
        """The rule's value for each label set of its `by` over its window ending at `now`."""
        since = now - timedelta(seconds=rule.window)
        data = await source.aggregate_metrics(
            since=since, until=now, name=rule.metric, labels=rule.pushdown() or None
        )
        groups: dict[Labels, list[Stats]] = {}
        for (name, labels), stats in data.series.items():
            if rule.selects(name, labels):
                groups.setdefault(rule.group_of(labels), []).append(stats)
        if not rule.by and not groups:
            groups[()] = []  # no data is a value too (None, or 0 for counts)
        scale = self.quantities.get(rule.relative_to) if rule.relative_to else None
        return {group: rule.compute(stats, rule.window, scale) for group, stats in groups.items()}

    # --- evaluating ---------------------------------------------------------------------------------------

    async def evaluate(self, source: MetricSource, now: datetime | None = None) -> list[AlertChange]:
        """Evaluate every rule at `now`; the alerts that started firing or resolved."""
        now = now or utcnow()
        self._reload()
        measured = {rule.name: await self.measure(rule, source, now) for rule in self.rules}
        queued = 0
        async with self.db.transaction() as session:
            await lock_names(session, [LOCK])
            changes = await self._apply(session, measured, now)
            if self.whatsapp is not None:
                queued = await self.whatsapp.queue(session, now)
        for notifier in self.notifiers:
            try:
                await notifier.notify(changes)
            except Exception:  # one broken channel must not silence the others
                log.exception("alert notifier %s failed", type(notifier).__name__)
        if queued and self.on_queued is not None:
            self.on_queued()
        return changes

    async def _apply(
        self, session: AsyncSession, measured: dict[str, dict[Labels, float | None]], now: datetime
    ) -> list[AlertChange]:
        rows = {row.fingerprint: row for row in await session.scalars(select(Alert))}
        rules = {rule.name: rule for rule in self.rules}
        todo: dict[str, tuple[Rule, Labels, float | None]] = {}
        for rule in self.rules:
            for group, value in measured.get(rule.name, {}).items():
                todo[fingerprint(rule.name, group)] = (rule, group, value)
        changes = []
        for fp, row in rows.items():
            if fp in todo or row.state == "resolved":
                continue
            known = rules.get(row.rule)
            if known is None:  # its rule is gone: it cannot fire any more
                if (change := await self._gone(session, row, now)) is not None:
                    changes.append(change)
            else:  # active, but its labels are no longer measured: no data
                group = tuple((k, str(row.labels[k])) for k in known.by if k in row.labels)
                todo[fp] = (known, group, None)
        for fp, (rule, group, value) in todo.items():
            change = await self._step(session, rows.get(fp), fp, rule, group, value, now)
            if change is not None:
                changes.append(change)
        return changes

    async def _step(
        self,
        session: AsyncSession,
        row: Alert | None,
        fp: str,
        rule: Rule,
        group: Labels,
        value: float | None,
        now: datetime,
    ) -> AlertChange | None:
        before = _track(row)
        after, event = advance(before, value, now, rule)
        if after.state == "inactive":
            if row is not None:  # pending that never fired: no events refer to it
                await session.delete(row)
            return None
        if row is None:
            row = Alert(fingerprint=fp, rule=rule.name, labels={**rule.labels, **dict(group)})
            session.add(row)
        elif after == before and after.state == "resolved":
            return None  # nothing to write
        row.state = after.state
        row.pending_since, row.fired_at = after.pending_since, after.fired_at
        row.resolved_at, row.last_true_at = after.resolved_at, after.last_true_at
        row.value, row.threshold, row.severity = value, rule.threshold, rule.severity
        row.evaluated_at = now
        if value is not None:
            row.summary = rule.render(value, dict(group))
        elif not row.summary:
            row.summary = rule.render(None, dict(group))
        if event is None:
            return None
        message = row.summary if value is not None else f"{row.summary} (no data now)"
        return await self._record(session, row, event, value, message, now)

    async def _gone(self, session: AsyncSession, row: Alert, now: datetime) -> AlertChange | None:
        if row.state == "pending":
            if row.fired_at is None:
                await session.delete(row)
            else:
                row.state, row.pending_since = "resolved", None
            return None
        row.state, row.resolved_at, row.pending_since, row.evaluated_at = "resolved", now, None, now
        return await self._record(session, row, "resolved", None, f"the rule {row.rule} was removed", now)

    async def _record(
        self,
        session: AsyncSession,
        row: Alert,
        event: Literal["firing", "resolved"],
        value: float | None,
        message: str,
        now: datetime,
    ) -> AlertChange:
        await session.flush()  # the row's id
        session.add(AlertEvent(alert_id=row.id, at=now, state=event, value=value, message=message))
        row.notified_at = now
        labels = {k: str(v) for k, v in row.labels.items()}
        return AlertChange(
            row.rule, row.fingerprint, labels, row.severity, event, value, row.threshold, message, now
        )

    def _reload(self) -> None:
        """Pick up an edited rules file; a broken edit keeps the rules in force (and says why)."""
        mtime = _mtime(self.rules_path)
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            self.rules = load_rules(self.rules_path)
        except AlertRulesError as exc:
            log.error("alert rules not reloaded, the previous ones stay: %s", exc)
            return
        log.info("alert rules reloaded from %s: %d rules", self.rules_path, len(self.rules))


def _mtime(path: str | None) -> float | None:
    if path is None:
        return None
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _track(row: Alert | None) -> Track:
    if row is None:
        return Track()
    return Track(row.state, row.pending_since, row.fired_at, row.resolved_at, row.last_true_at)  # type: ignore[arg-type]


# --- reading -------------------------------------------------------------------------------------------------


class AlertInfo(BaseModel):
    """An alert as stored: its current state and when it changed."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    fingerprint: str
    rule: str
    labels: dict[str, Any]
    severity: str
    state: str
    value: float | None
    threshold: float
    summary: str
    pending_since: datetime | None
    fired_at: datetime | None
    resolved_at: datetime | None
    evaluated_at: datetime


class AlertEventInfo(BaseModel):
    """One change of an alert's state: firing or resolved."""

    id: int
    alert_id: int
    rule: str
    labels: dict[str, Any]
    severity: str
    state: str
    value: float | None
    message: str
    at: datetime


def alerts_query(state: str | None = None) -> Select[Alert]:
    query = select(Alert)
    return query if state is None else query.where(Alert.state == state)


def history_query(since: datetime | None = None) -> Select[AlertEvent, Alert]:
    query = select(AlertEvent, Alert).join(Alert, AlertEvent.alert_id == Alert.id)
    return query if since is None else query.where(AlertEvent.at >= since)


def event_info(event: AlertEvent, alert: Alert) -> AlertEventInfo:
    return AlertEventInfo(
        id=event.id,
        alert_id=alert.id,
        rule=alert.rule,
        labels=alert.labels,
        severity=alert.severity,
        state=event.state,
        value=event.value,
        message=event.message,
        at=event.at,
    )


async def get_alerts(db: Database, state: str | None = None) -> list[AlertInfo]:
    """The alerts (pending, firing or resolved; all when `state` is None), newest first."""
    async with db.read() as session:
        rows = (await session.scalars(alerts_query(state).order_by(Alert.id.desc()))).all()
    return [AlertInfo.model_validate(row) for row in rows]


async def alert_history(
    db: Database, since: datetime | None = None, limit: int = 100
) -> list[AlertEventInfo]:
    """Changes of state since `since`, newest first, at most `limit`."""
    async with db.read() as session:
        query = history_query(since).order_by(AlertEvent.id.desc()).limit(limit)
        rows = (await session.execute(query)).all()
    return [event_info(event, alert) for event, alert in rows]
