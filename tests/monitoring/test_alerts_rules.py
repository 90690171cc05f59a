"""Alert rules: the default file, validation errors that name the rule and the field, aggregations."""

from __future__ import annotations

from pathlib import Path

import pytest

from linda.monitoring.alert_rules import AlertRulesError, Rule, load_rules, parse_rules
from linda.monitoring.collector import SeriesStats
from linda.monitoring.sketch import Sketch


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    return path


def problems(raw: object) -> list[tuple[str, str]]:
    with pytest.raises(AlertRulesError) as caught:
        parse_rules(raw, "alerts.yaml")
    return caught.value.problems


def test_the_default_rules_cover_the_issue() -> None:
    rules = {rule.name: rule for rule in load_rules()}
    assert set(rules) == {
        "webhook_ack_slow",
        "send_error_ratio",
        "meta_limit_errors",
        "outbox_behind",
        "inbox_dead_letters",
        "memory_high",
    }
    ack = rules["webhook_ack_slow"]
    assert (ack.metric, ack.aggregation, ack.threshold, ack.for_) == ("webhook.ack", "p99", 0.25, 300)
    assert rules["meta_limit_errors"].where == {"op": ["graph.send"], "code": ["130429", "131056", "131048"]}
    assert rules["send_error_ratio"].by == ["account"]
    assert (rules["memory_high"].relative_to, rules["memory_high"].threshold) == ("memory_limit", 0.85)


def test_a_file_with_include_defaults_keeps_them_and_overrides_by_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
include_defaults: true
rules:
  - {name: outbox_behind, metric: outbox.oldest_due_seconds, aggregation: value, threshold: 600}
  - {name: quiet, metric: messages.in, aggregation: rate, operator: "<", threshold: 0.01, window: 1h}
""",
    )
    rules = {rule.name: rule for rule in load_rules(path)}
    assert rules["outbox_behind"].threshold == 600 and rules["quiet"].window == 3600
    assert "webhook_ack_slow" in rules
    alone = write(tmp_path, "rules:\n  - {name: a, metric: m, aggregation: sum, threshold: 1}\n")
    assert [rule.name for rule in load_rules(alone)] == ["a"]


def test_every_problem_is_named_with_its_rule_and_field() -> None:
    raw = {
        "rules": [
            {"name": "ok", "metric": "m", "aggregation": "p99", "threshold": 1},
            {"name": "typo", "metric": "m", "aggregation": "p99", "treshold": 1},
            {"name": "agg", "metric": "m", "aggregation": "p42", "threshold": 1},
            {"name": "dur", "metric": "m", "aggregation": "sum", "threshold": 1, "for": "soon"},
            {"name": "sev", "metric": "m", "aggregation": "sum", "threshold": 1, "severity": "panic"},
        ]
    }
    found = dict(problems(raw))
    assert found["rules[1] (typo).treshold"].startswith("unknown key")
    assert found["rules[1] (typo).threshold"] == "Field required"
    assert "p99" in found["rules[2] (agg).aggregation"]
    assert "duration like" in found["rules[3] (dur).for"]
    assert "warning" in found["rules[4] (sev).severity"]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"resolve_threshold": 2}, "resolve_threshold must be at or below threshold 1"),
        ({"operator": "<", "resolve_threshold": 0.5}, "resolve_threshold must be at or above"),
        ({"summary": "{nope} is high"}, "{nope} is not a label of this rule"),
        ({"summary": "{value:d}"}, "cannot be filled in"),
        ({"by": ["account"], "labels": {"account": "x"}}, "also in `by`"),
        ({"window": 0}, "window must be at least 1 s"),
        ({"operator": "=="}, "Input should be"),
        ({"where": {"bad-label": "x"}}, "String should match pattern"),
    ],
)
def test_rule_validation(fields: dict[str, object], says: str) -> None:
    raw = {"rules": [{"name": "r", "metric": "m", "aggregation": "value", "threshold": 1, **fields}]}
    assert any(says in message for _, message in problems(raw)), problems(raw)


def test_files_that_are_not_rules(tmp_path: Path) -> None:
    with pytest.raises(AlertRulesError, match="cannot read it"):
        load_rules(tmp_path / "missing.yaml")
    with pytest.raises(AlertRulesError, match="not valid YAML"):
        load_rules(write(tmp_path, "rules: [\n"))
    with pytest.raises(AlertRulesError, match="must be a mapping"):
        load_rules(write(tmp_path, "- a\n"))
    assert problems({"rules": [{"name": "a", "metric": "m", "aggregation": "sum", "threshold": 1}] * 2}) == [
        ("rules[1].name", "'a' is the name of an earlier rule")
    ]
    assert load_rules(write(tmp_path, "")) == []


def rule(aggregation: str, **fields: object) -> Rule:
    return Rule.model_validate(
        {"name": "r", "metric": "m", "aggregation": aggregation, "threshold": 1, **fields}
    )


def timed(*values: float, failures: int = 0) -> SeriesStats:
    sketch = Sketch()
    for value in values:
        sketch.add(value)
    return SeriesStats("sketch", sketch.count, failures, sketch)


def test_aggregations_of_sketches_counters_and_gauges() -> None:
    a, b = timed(*[0.01 * i for i in range(1, 101)], failures=5), timed(1.0, 2.0, failures=2)
    assert rule("p50").compute([a, b], 60) == pytest.approx(0.51, rel=0.01)
    assert rule("p99").compute([a, b], 60) == pytest.approx(1.0, rel=0.01)  # merged, not averaged
    assert rule("max").compute([a, b], 60) == 2.0
    assert rule("min").compute([a, b], 60) == 0.01
    assert rule("mean").compute([a], 60) == pytest.approx(0.505)
    assert rule("count").compute([a, b], 60) == 102
    assert rule("rate").compute([a, b], 60) == 1.7
    assert rule("errors").compute([a, b], 60) == 7
    assert rule("error_ratio").compute([a, b], 60) == pytest.approx(7 / 102)
    assert rule("sum").compute([b], 60) == 3.0
    assert rule("error_ratio", min_count=200).compute([a, b], 60) is None  # too few calls to judge

    calls = SeriesStats("counter", 40, 4, None)
    assert rule("error_ratio").compute([calls], 60) == 0.1
    assert rule("sum").compute([calls, SeriesStats("counter", 2, 0, None)], 60) == 42

    gauges = [SeriesStats("gauge", 3, 0, None), SeriesStats("gauge", 9, 0, None)]
    assert [rule(a).compute(gauges, 60) for a in ("value", "max", "min", "mean", "sum")] == [9, 9, 3, 6, 12]
    assert rule("p99").compute(gauges, 60) is None

    assert rule("sum").compute([], 60) == 0.0 and rule("rate").compute([], 60) == 0.0
    assert rule("p99").compute([], 60) is None and rule("error_ratio").compute([], 60) is None
    assert rule("value").compute([], 60) is None

    memory = rule("max", relative_to="memory_limit")
    assert memory.compute([SeriesStats("gauge", 900, 0, None)], 60, scale=1000) == 0.9
    assert memory.compute([SeriesStats("gauge", 900, 0, None)], 60, scale=None) is None


def test_selection_by_name_prefix_and_where() -> None:
    errors = Rule.model_validate(
        {
            "name": "e",
            "metric": "errors",
            "aggregation": "sum",
            "threshold": 0,
            "where": {"code": [131056, 1]},
        }
    )
    assert errors.selects("errors", (("code", "131056"), ("op", "graph.send")))
    assert not errors.selects("errors", (("code", "2"), ("op", "graph.send")))
    assert not errors.selects("errors.other", (("code", "1"),))
    assert errors.pushdown() == {}
    prefix = rule("sum", metric="graph.", where={"account": "A"})
    assert prefix.selects("graph.send", (("account", "A"),)) and prefix.pushdown() == {"account": "A"}
    assert rule("sum", by=["account", "code"]).group_of((("account", "A"), ("op", "x"))) == (
        ("account", "A"),
    )


def test_summaries_fill_in_labels_value_and_threshold() -> None:
    r = rule(
        "error_ratio", by=["account"], labels={"team": "ops"}, summary="{value:.0%} on {account} ({team})"
    )
    assert r.render(0.25, {"account": "111"}) == "25% on 111 (ops)"
    assert r.render(0.25, {}) == "25% on  (ops)"  # a series without the label
    assert rule("p99", metric="webhook.ack").render(0.3, {}) == "r: p99 of webhook.ack is 0.3"
