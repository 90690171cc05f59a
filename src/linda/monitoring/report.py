"""Reports over a period: per operation its count, rate, error rate and quantiles, the top error codes, and
trends against the period before; as text, JSON, or an HTML page with inline SVG charts (no network)."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from linda.monitoring.history import parse_span
from linda.monitoring.monitor import ERRORS

if TYPE_CHECKING:
    from linda.monitoring.collector import Aggregated, MetricsCollector

CHARTS = (
    ("webhook.ack", "p99", "webhook ack p99 (s)"),
    ("graph.send", "rate", "sends per second"),
    ("graph.send", "p99", "send p99 (s)"),
    ("messages.in", "rate", "messages in per second"),
)
CHART_STEPS = 48


@dataclass
class OperationRow:
    name: str
    labels: dict[str, str]
    count: int
    rate: float
    error_rate: float
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    count_change: float | None  # against the previous period, as a fraction (+0.25 = 25% more)
    p99_change: float | None


@dataclass
class CounterRow:
    name: str
    labels: dict[str, str]
    total: float
    rate: float
    change: float | None


@dataclass
class Report:
    since: datetime
    until: datetime
    operations: list[OperationRow] = field(default_factory=list)
    counters: list[CounterRow] = field(default_factory=list)
    gauges: list[dict[str, Any]] = field(default_factory=list)
    top_errors: list[dict[str, Any]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        lines = [f"Linda report {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC", ""]
        columns = ("count", 8), ("rate/s", 8), ("errors", 7), ("p50", 9), ("p95", 9), ("p99", 9), ("max", 9)
        header = f"{'operation':<34} " + " ".join(f"{name:>{width}}" for name, width in columns) + "  trend"
        lines += [header, "-" * len(header)]
        for row in self.operations:
            name = row.name + (" " + _labels(row.labels) if row.labels else "")
            lines.append(
                f"{name[:34]:<34} {row.count:>8} {row.rate:>8.2f} {row.error_rate:>7.1%} {_t(row.p50):>9} "
                f"{_t(row.p95):>9} {_t(row.p99):>9} {_t(row.max):>9}  {_trend(row.count_change, row.p99_change)}"
            )
        if self.counters:
            lines += ["", f"{'counter':<34} {'total':>10} {'rate/s':>8}  trend"]
            for counter in self.counters:
                name = counter.name + (" " + _labels(counter.labels) if counter.labels else "")
                lines.append(
                    f"{name[:34]:<34} {counter.total:>10.0f} {counter.rate:>8.2f}  {_pct(counter.change)}"
                )
        if self.top_errors:
            lines += ["", "top error codes:"]
            lines += [f"  {e['code']:>8}  {e['op']:<24} {e['count']:.0f}" for e in self.top_errors]
        return "\n".join(lines)

    def to_html(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.name)} <small>{html.escape(_labels(r.labels))}</small></td><td>{r.count}</td>"
            f"<td>{r.rate:.2f}</td><td>{r.error_rate:.1%}</td><td>{_t(r.p50)}</td><td>{_t(r.p95)}</td>"
            f"<td>{_t(r.p99)}</td><td>{_t(r.max)}</td><td>{html.escape(_trend(r.count_change, r.p99_change))}</td></tr>"
            for r in self.operations
        )
        errors = (
            "".join(
                f"<tr><td>{html.escape(e['code'])}</td><td>{html.escape(e['op'])}</td><td>{e['count']:.0f}</td></tr>"
                for e in self.top_errors
            )
            or "<tr><td colspan=3>none</td></tr>"
        )
        charts = "".join(_chart(c) for c in self.charts)
        return _PAGE.format(
            title=f"Linda report {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC",
            rows=rows,
            errors=errors,
            charts=charts,
        )


async def build_report(collector: MetricsCollector, since: datetime, until: datetime) -> Report:
    before = since - (until - since)
    now, previous = (
        await collector.aggregate_metrics(since=since, until=until),
        await collector.aggregate_metrics(since=before, until=since),
    )
    report = Report(since, until)
    report.operations = _operations(now, previous)
    report.counters = [
        CounterRow(
            name, dict(labels), value, value / now.seconds, _change(value, _counter(previous, (name, labels)))
        )
        for (name, labels), value in sorted(now.interval.counters.items())
        if name != ERRORS
    ]
    report.gauges = [
        {"name": n, "labels": dict(lb), "value": v} for (n, lb), v in sorted(now.interval.gauges.items())
    ]
    errors = [
        (dict(labels), value) for (name, labels), value in now.interval.counters.items() if name == ERRORS
    ]
    report.top_errors = [
        {"op": labels.get("op", ""), "code": labels.get("code", ""), "count": value}
        for labels, value in sorted(errors, key=lambda e: -e[1])[:10]
    ]
    step = max(10.0, (until - since).total_seconds() / CHART_STEPS)
    for name, field_name, title in CHARTS:
        points = await collector.timeseries(name, since=since, until=until, step=step)
        if any(p["count"] for p in points):
            report.charts.append({"title": title, "points": [(p["t"], p[field_name]) for p in points]})
    return report


def _operations(now: Aggregated, previous: Aggregated) -> list[OperationRow]:
    rows = []
    for key, sketch in sorted(now.interval.sketches.items()):
        if key[0] == "db.statement":
            continue  # many fingerprints: the slowest are listed by `statements`
        before = previous.interval.sketches.get(key)
        failures = now.interval.failures.get(key, 0)
        p99 = sketch.quantile(0.99)
        rows.append(
            OperationRow(
                key[0],
                dict(key[1]),
                sketch.count,
                sketch.count / now.seconds,
                failures / sketch.count if sketch.count else 0.0,
                sketch.quantile(0.5),
                sketch.quantile(0.95),
                p99,
                sketch.max if sketch.count else None,
                _change(sketch.count, before.count if before else None),
                _change(p99, before.quantile(0.99) if before else None),
            )
        )
    statements = sorted(
        ((k, s) for k, s in now.interval.sketches.items() if k[0] == "db.statement"),
        key=lambda item: -(item[1].sum),
    )[:10]
    for key, sketch in statements:
        rows.append(
            OperationRow(
                key[0],
                dict(key[1]),
                sketch.count,
                sketch.count / now.seconds,
                0.0,
                sketch.quantile(0.5),
                sketch.quantile(0.95),
                sketch.quantile(0.99),
                sketch.max,
                None,
                None,
            )
        )
    return rows


def _counter(aggregated: Aggregated, key: Any) -> float | None:
    return aggregated.interval.counters.get(key)


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or not before:
        return None
    return (now - before) / before


def _t(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f}s"
    return f"{seconds * 1000:.1f}ms"


def _pct(change: float | None) -> str:
    return "" if change is None else f"{change:+.0%}"


def _trend(count: float | None, p99: float | None) -> str:
    parts = [
        f"count {_pct(count)}" if count is not None else "",
        f"p99 {_pct(p99)}" if p99 is not None else "",
    ]
    return ", ".join(p for p in parts if p)


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _chart(chart: dict[str, Any]) -> str:
    """A line chart as inline SVG: no script, no network."""
    width, height, pad = 560, 140, 24
    values = [v for _, v in chart["points"] if v is not None]
    top = max(values, default=0) or 1
    n = max(len(chart["points"]) - 1, 1)
    coords = [
        f"{pad + i * (width - 2 * pad) / n:.1f},{height - pad - (v / top) * (height - 2 * pad):.1f}"
        for i, (_, v) in enumerate(chart["points"])
        if v is not None
    ]
    first, last = chart["points"][0][0][11:16], chart["points"][-1][0][11:16]
    return (
        f"<figure><figcaption>{html.escape(chart['title'])}</figcaption>"
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"/>'
        f'<polyline points="{" ".join(coords)}" class="line"/>'
        f'<text x="{pad}" y="14">{_short(top)}</text><text x="{pad}" y="{height - 6}">{first}</text>'
        f'<text x="{width - pad}" y="{height - 6}" text-anchor="end">{last}</text></svg></figure>'
    )


def _short(value: float) -> str:
    return f"{value:.3g}"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2rem; color: #1b1f23; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ padding: .3rem .7rem; border-bottom: 1px solid #e1e4e8; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
figure {{ display: inline-block; margin: .5rem 1rem .5rem 0; }}
figcaption {{ font-weight: 600; margin-bottom: .2rem; }}
svg .axis {{ stroke: #d0d7de; }} svg .line {{ fill: none; stroke: #128c7e; stroke-width: 2; }}
svg text {{ font-size: 11px; fill: #57606a; }}
</style></head><body>
<h1>{title}</h1>
<section>{charts}</section>
<h2>Operations</h2>
<table><tr><th>operation</th><th>count</th><th>rate/s</th><th>errors</th><th>p50</th><th>p95</th><th>p99</th>
<th>max</th><th>trend</th></tr>{rows}</table>
<h2>Top error codes</h2>
<table><tr><th>code</th><th>operation</th><th>count</th></tr>{errors}</table>
</body></html>
"""


def period(since: str, until: datetime) -> datetime:
    """ "24h", "7d", "90m" before `until`."""
    return until - timedelta(seconds=parse_span(since))
