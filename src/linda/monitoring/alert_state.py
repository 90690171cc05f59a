"""The life of one alert, as a pure function: previous state + the rule's value now -> new state (+ event).

    inactive --breach--> pending --breach held for `for`--> firing --not holding for `keep_firing_for`--> resolved
                            |                                                                                  |
                            +--no breach: back to where it was (no event)       <--breach (a new episode)------+

A breach is the value past `threshold`; a firing alert holds while the value is past `resolve_threshold`
(hysteresis), and resolves only after it stopped holding for `keep_firing_for`. Only firing and resolved are
events (history, notifications), so input that flaps faster than `for` or `keep_firing_for` never flaps them.
A value of None (no data) never breaches and never holds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from linda.monitoring.alert_rules import Rule
from linda.monitoring.monitor import Labels

State = Literal["inactive", "pending", "firing", "resolved"]
Event = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Track:
    """Where an alert is: its state and the times the machine needs."""

    state: State = "inactive"
    pending_since: datetime | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    last_true_at: datetime | None = None  # the condition last held (breach, or holding while firing)


def advance(track: Track, value: float | None, now: datetime, rule: Rule) -> tuple[Track, Event | None]:
    """The alert's next state given the rule's `value` at `now`, and the event it makes, if any."""
    if track.state == "firing":
        if rule.holds(value):
            return replace(track, last_true_at=now), None
        quiet = now - (track.last_true_at or now)
        if quiet >= timedelta(seconds=rule.keep_firing_for):
            return replace(track, state="resolved", resolved_at=now, pending_since=None), "resolved"
        return track, None
    if rule.breaches(value):
        since = track.pending_since if track.state == "pending" and track.pending_since else now
        pending = replace(track, state="pending", pending_since=since, last_true_at=now)
        if now - since >= timedelta(seconds=rule.for_):
            return replace(pending, state="firing", fired_at=now, resolved_at=None), "firing"
        return pending, None
    if track.state == "pending":  # it stopped before `for`: nothing happened
        return replace(track, state="resolved" if track.fired_at else "inactive", pending_since=None), None
    return track, None


def fingerprint(rule: str, labels: Labels) -> str:
    """The identity of an alert: its rule and the labels of its group (so one alert per label set)."""
    text = json.dumps([rule, sorted(labels)], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AlertChange:
    """An alert that started firing or resolved: what notifications carry."""

    rule: str
    fingerprint: str
    labels: dict[str, str]
    severity: str
    state: Event
    value: float | None
    threshold: float
    summary: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "fingerprint": self.fingerprint,
            "labels": self.labels,
            "severity": self.severity,
            "state": self.state,
            "value": self.value,
            "threshold": self.threshold,
            "summary": self.summary,
            "at": self.at.isoformat(),
        }
