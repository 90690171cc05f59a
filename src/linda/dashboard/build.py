"""The dashboard's data: what the page shows, computed from merged measurements (no I/O here).

The shape is the body of `GET /api/dashboard` and of every `metrics` event of `GET /api/metrics/stream`;
docs/monitoring.md describes it field by field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from linda.monitoring.monitor import ERRORS, QUANTILES, Interval
from linda.monitoring.sketch import Sketch

# The latencies shown, in this order: (series, title).
LATENCIES = (
    ("webhook.ack", "Webhook answered"),
    ("inbox.apply", "Inbox processing"),
    ("bot.handler", "Bot handlers"),
    ("graph.send", "Sends to the Graph API"),
)
FUNNEL = ("sent", "delivered", "read", "failed")
TOP_ERRORS = 5


@dataclass(frozen=True)
class Number:
    """A business number and its throughput limit (messages per second)."""

    phone_number_id: str
    name: str
    display_phone_number: str
    limit: int | None


def dashboard_data(
    interval: Interval,
    seconds: float,
    *,
    numbers: Sequence[Number] = (),
    alerts: Sequence[dict[str, Any]] = (),
    charts: dict[str, list[dict[str, Any]]] | None = None,
    outbox_depth: int | None = None,
    monitoring: bool = True,
) -> dict[str, Any]:
    """Everything the dashboard shows, over `seconds` of merged measurements."""
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "window_seconds": seconds,
        "monitoring": monitoring,
        "messages": {
            "in": _flow(_counter(interval, "messages.in"), seconds),
            "out": _flow(_counter(interval, "messages.out"), seconds),
        },
        "latency": [_latency(interval, name, title) for name, title in LATENCIES],
        "errors": _errors(interval),
        "funnel": _funnel(interval),
        "outbox": {
            "depth": outbox_depth if outbox_depth is not None else _gauge(interval, "outbox.depth"),
            "oldest_due_seconds": _gauge(interval, "outbox.oldest_due_seconds"),
        },
        "inbox": {"backlog": _gauge(interval, "inbox.backlog"), "dead": _gauge(interval, "inbox.dead")},
        "numbers": _numbers(interval, seconds, numbers),
        "alerts": list(alerts),
        "charts": charts or {},
    }


def _flow(count: float, seconds: float) -> dict[str, float]:
    return {"count": count, "per_second": count / seconds if seconds else 0.0}


def _counter(interval: Interval, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in interval.counters.items() if n == name and wanted <= set(ls))


def _gauge(interval: Interval, name: str) -> float | None:
    levels = [v for (n, _), v in interval.gauges.items() if n == name]
    return max(levels) if levels else None


def _sketches(interval: Interval, name: str) -> Iterable[tuple[dict[str, str], Sketch, int]]:
    for (n, labels), sketch in interval.sketches.items():
        if n == name:
            yield dict(labels), sketch, interval.failures.get((n, labels), 0)


def _latency(interval: Interval, name: str, title: str) -> dict[str, Any]:
    """One series' quantiles, merged across its labels (every account, handler, result)."""
    merged: Sketch | None = None
    failed = 0
    for _, sketch, failures in _sketches(interval, name):
        failed += failures
        if merged is None:
            merged = sketch.copy()
        else:
            merged.merge(sketch)
    row: dict[str, Any] = {
        "name": name,
        "title": title,
        "count": merged.count if merged else 0,
        "errors": failed,
    }
    row.update({label: merged.quantile(q) if merged else None for label, q in QUANTILES.items()})
    row["mean"] = merged.mean if merged else None
    row["max"] = merged.max if merged and merged.count else None
    return row


def _errors(interval: Interval) -> dict[str, Any]:
    """Failed sends over sends, and the error codes counted most often (of every operation)."""
    sends = failed = 0
    for _, sketch, failures in _sketches(interval, "graph.send"):
        sends += sketch.count
        failed += failures
    codes: dict[tuple[str, str], float] = {}
    for (name, labels), value in interval.counters.items():
        if name == ERRORS:
            found = dict(labels)
            key = (found.get("op", ""), found.get("code", "unknown"))
            codes[key] = codes.get(key, 0) + value
    top = sorted(codes.items(), key=lambda item: (-item[1], item[0]))[:TOP_ERRORS]
    return {
        "sends": sends,
        "failed_sends": failed,
        "ratio": failed / sends if sends else None,
        "total": sum(codes.values()),
        "top": [{"op": op, "code": code, "count": count} for (op, code), count in top],
    }


def _funnel(interval: Interval) -> dict[str, float]:
    """Messages accepted by the Graph API, then the status webhooks received for them."""
    funnel = {"accepted": _counter(interval, "messages.out")}
    funnel.update({status: _counter(interval, "statuses", status=status) for status in FUNNEL})
    return funnel


def _numbers(interval: Interval, seconds: float, numbers: Sequence[Number]) -> list[dict[str, Any]]:
    """Per business number: messages sent per second against its throughput limit."""
    sent: dict[str, float] = {}
    for (name, labels), value in interval.counters.items():
        if name == "messages.out":
            account = dict(labels).get("account", "")
            sent[account] = sent.get(account, 0) + value
    known = {n.phone_number_id for n in numbers}
    everyone = list(numbers) + [Number(a, "", "", None) for a in sorted(sent) if a and a not in known]
    rows = []
    for number in everyone:
        count = sent.get(number.phone_number_id, 0.0)
        rate = count / seconds if seconds else 0.0
        rows.append(
            {
                "phone_number_id": number.phone_number_id,
                "name": number.name,
                "display_phone_number": number.display_phone_number,
                "sent": count,
                "per_second": rate,
                "limit": number.limit,
                "utilization": rate / number.limit if number.limit else None,
            }
        )
    return rows
