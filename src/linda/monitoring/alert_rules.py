"""Alert rules (`LINDA_ALERT_RULES`, YAML): what to watch, when it is bad, and for how long.

A rule reduces the stored metrics of its `window` to one number per label set (`by`): a quantile of the merged
sketch, a rate, a sum, a gauge's level or an error ratio, optionally divided by a known quantity
(`relative_to: memory_limit`). `load_rules(path)` validates a file; every problem comes back in one
`AlertRulesError` naming the rule and the field. See docs/monitoring.md for the reference.
"""

from __future__ import annotations

import math
import operator
import string
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from linda.config_file import ConfigFileError
from linda.monitoring.history import parse_span
from linda.monitoring.monitor import Labels
from linda.monitoring.sketch import Sketch

DEFAULT_RULES = Path(__file__).parent / "default_alerts.yaml"
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}
Aggregation = Literal[
    "p50", "p90", "p95", "p99", "p999", "mean", "min", "max", "value", "sum", "count", "rate", "errors",
    "error_ratio",
]  # fmt: skip
COUNTS = {"sum", "count", "rate", "errors"}  # no data counts as 0; the others have no value without data
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class Stats(Protocol):
    """One stored series over a window, merged across processes (the collector's SeriesStats)."""

    @property
    def kind(self) -> str: ...  # sketch | counter | gauge
    @property
    def value(self) -> float: ...  # a counter's sum, a gauge's level, a sketch's count
    @property
    def failures(self) -> int: ...
    @property
    def sketch(self) -> Sketch | None: ...


class AlertRulesError(ConfigFileError):
    """An alert rules file that cannot be used."""


def _seconds(value: Any) -> Any:
    """A number of seconds, or a duration like 30s, 5m, 1h, 1d."""
    return parse_span(value) if isinstance(value, str) else value


def _label_values(value: Any) -> Any:
    """`where` values: one value or a list of them (any matches), numbers as text (error codes)."""
    if isinstance(value, Mapping):
        return {k: [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in value.items()}
    return value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]
LabelName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$", max_length=200)
    metric: str = Field(min_length=1, max_length=200, description="A series name; ending in '.': a prefix.")
    aggregation: Aggregation
    where: Annotated[dict[LabelName, list[str]], BeforeValidator(_label_values)] = Field(default_factory=dict)
    by: list[LabelName] = Field(default_factory=list)
    window: Seconds = 300.0
    operator: Literal[">", ">=", "<", "<="] = ">"
    threshold: float
    resolve_threshold: float | None = None
    for_: Seconds = Field(0.0, alias="for")
    keep_firing_for: Seconds = 0.0
    min_count: int = Field(0, ge=0, description="Fewer calls in the window than this: no value.")
    relative_to: Literal["memory_limit"] | None = None
    severity: Literal["info", "warning", "critical"] = "warning"
    labels: dict[LabelName, str] = Field(default_factory=dict)
    summary: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.window < 1:
            raise ValueError("window must be at least 1 s")
        if not math.isfinite(self.threshold):
            raise ValueError("threshold must be a finite number")
        resolve = self.resolve_at
        if not math.isfinite(resolve):
            raise ValueError("resolve_threshold must be a finite number")
        if (self.operator in (">", ">=") and resolve > self.threshold) or (
            self.operator in ("<", "<=") and resolve < self.threshold
        ):
            side = "at or below" if self.operator in (">", ">=") else "at or above"
            raise ValueError(f"resolve_threshold must be {side} threshold {self.threshold:g} (hysteresis)")
        if overlap := sorted(set(self.by) & set(self.labels)):
            raise ValueError(f"labels {overlap} are also in `by`: a label comes from one place")
        self.render(1.0, dict.fromkeys(self.by, "x"))  # fails here, not when the alert fires
        return self

    @property
    def resolve_at(self) -> float:
        return self.threshold if self.resolve_threshold is None else self.resolve_threshold

    def breaches(self, value: float | None) -> bool:
        """The value is bad enough to start (or keep pending) an alert."""
        return value is not None and OPERATORS[self.operator](value, self.threshold)

    def holds(self, value: float | None) -> bool:
        """A firing alert stays: the value has not come back past the resolve threshold."""
        return value is not None and OPERATORS[self.operator](value, self.resolve_at)

    def selects(self, name: str, labels: Labels) -> bool:
        if name != self.metric and not (self.metric.endswith(".") and name.startswith(self.metric)):
            return False
        have = dict(labels)
        return all(have.get(key) in values for key, values in self.where.items())

    def pushdown(self) -> dict[str, str]:
        """The `where` filters a store can apply itself (one value each)."""
        return {key: values[0] for key, values in self.where.items() if len(values) == 1}

    def group_of(self, labels: Labels) -> Labels:
        have = dict(labels)
        return tuple((key, have[key]) for key in self.by if key in have)

    def compute(self, stats: Sequence[Stats], seconds: float, scale: float | None = None) -> float | None:
        """The rule's number for the series of one group over `seconds`; None when there is none."""
        value = _aggregate(self.aggregation, stats, seconds, self.min_count)
        if value is None or self.relative_to is None:
            return value
        return value / scale if scale else None

    def render(self, value: float | None, labels: Mapping[str, str]) -> str:
        """The summary with {value}, {threshold}, {resolve_threshold}, {rule}, {severity} and the labels."""
        template = self.summary or "{rule}: " + f"{self.aggregation} of {self.metric} is {{value:.4g}}"
        fields: dict[str, Any] = {**dict.fromkeys(self.by, ""), **self.labels, **labels}
        fields.update(
            rule=self.name,
            severity=self.severity,
            threshold=self.threshold,
            resolve_threshold=self.resolve_at,
            value=math.nan if value is None else value,
        )
        try:
            return string.Formatter().vformat(template, (), _Fields(fields))
        except (ValueError, IndexError, KeyError, AttributeError) as exc:
            raise ValueError(f"summary {template!r} cannot be filled in: {exc}") from None


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        raise KeyError(f"{{{key}}} is not a label of this rule (nor value, threshold, rule, severity)")


def _aggregate(aggregation: str, stats: Sequence[Stats], seconds: float, min_count: int) -> float | None:
    calls = sum(s.value for s in stats if s.kind != "gauge")
    if any(s.kind != "gauge" for s in stats) and calls < min_count:
        return None
    if aggregation in COUNTS:
        if aggregation == "errors":
            return float(sum(s.failures for s in stats))
        if aggregation == "sum":
            return float(sum(s.sketch.sum if s.sketch is not None else s.value for s in stats))
        return calls / seconds if aggregation == "rate" else float(calls)
    if aggregation == "error_ratio":
        return sum(s.failures for s in stats) / calls if calls else None
    sketches = [s.sketch for s in stats if s.sketch is not None and s.sketch.count]
    if sketches:
        merged = sketches[0].copy()
        for other in sketches[1:]:
            merged.merge(other)
        if aggregation in QUANTILES:
            return merged.quantile(QUANTILES[aggregation])
        return {"mean": merged.mean, "min": merged.min, "max": merged.max, "value": merged.max}[aggregation]
    levels = [s.value for s in stats if s.sketch is None]
    if not levels or aggregation in QUANTILES:
        return None
    if aggregation == "mean":
        return sum(levels) / len(levels)
    return min(levels) if aggregation == "min" else max(levels)


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_defaults: bool = Field(False, description="Keep the default rules; a rule of the same name wins.")
    rules: list[Rule] = Field(default_factory=list)


def load_rules(path: str | Path | None = None) -> list[Rule]:
    """The rules of a YAML file (the default rules when `path` is None). Raises AlertRulesError."""
    source = str(path or DEFAULT_RULES)
    try:
        raw = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    except OSError as exc:
        raise AlertRulesError(source, [("", f"cannot read it: {exc.strerror or exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise AlertRulesError(source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    rules = parse_rules(raw if raw is not None else {}, source)
    if path is None or not rules.include_defaults:
        return rules.rules
    own = {rule.name for rule in rules.rules}
    return [rule for rule in load_rules() if rule.name not in own] + rules.rules


def parse_rules(raw: Any, source: str = "alert rules") -> RulesFile:
    if not isinstance(raw, dict):
        raise AlertRulesError(source, [("", f"must be a mapping with `rules:`, got {type(raw).__name__}")])
    try:
        parsed = RulesFile.model_validate(raw)
    except ValidationError as exc:
        raise AlertRulesError(source, [(_place(raw, e["loc"]), _message(e)) for e in exc.errors()]) from None
    seen: set[str] = set()
    problems = []
    for index, rule in enumerate(parsed.rules):
        if rule.name in seen:
            problems.append((f"rules[{index}].name", f"{rule.name!r} is the name of an earlier rule"))
        seen.add(rule.name)
    if problems:
        raise AlertRulesError(source, problems)
    return parsed


def _place(raw: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    """`rules[2] (send_errors).threshold`: the index, and the rule's name when it has one."""
    place = ""
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            place += f"[{part}]"
            rules = raw.get("rules")
            if depth == 1 and isinstance(rules, list) and part < len(rules) and isinstance(rules[part], dict):
                name = rules[part].get("name")
                place += f" ({name})" if name else ""
        elif not str(part).startswith("function-"):
            place += f".{part}" if place else str(part)
    return place


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (check its spelling against docs/monitoring.md)"
    return str(error["msg"]).removeprefix("Value error, ")
