"""The alert state machine on its own: `for`, keep_firing_for, hysteresis, no data, and flapping input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from linda.monitoring.alert_rules import Rule
from linda.monitoring.alert_state import Track, advance, fingerprint

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BAD, BAND, GOOD = 2.0, 0.7, 0.2  # threshold 1.0, resolve_threshold 0.5: BAND is between the two


def rule(**fields: object) -> Rule:
    values: dict[str, object] = {"name": "r", "metric": "m", "aggregation": "value", "threshold": 1.0}
    return Rule.model_validate({**values, **fields})


def run(r: Rule, steps: list[tuple[float, float | None]]) -> list[tuple[float, str, str | None]]:
    """Feed (seconds after T0, value) in order; (seconds, state after, event) per step."""
    track, out = Track(), []
    for seconds, value in steps:
        track, event = advance(track, value, T0 + timedelta(seconds=seconds), r)
        out.append((seconds, track.state, event))
    return out


def events(trace: list[tuple[float, str, str | None]]) -> list[tuple[float, str]]:
    return [(t, e) for t, _, e in trace if e is not None]


def test_pending_fires_only_after_for_and_a_dip_starts_over() -> None:
    r = rule(**{"for": "60s"})
    trace = run(r, [(0, BAD), (30, BAD), (50, GOOD), (60, BAD), (100, BAD), (120, BAD)])
    assert [state for _, state, _ in trace] == [
        "pending",
        "pending",
        "inactive",
        "pending",
        "pending",
        "firing",
    ]
    assert events(trace) == [(120, "firing")]


def test_for_zero_fires_at_once() -> None:
    assert events(run(rule(), [(0, BAD)])) == [(0, "firing")]


def test_keep_firing_for_holds_through_short_gaps_and_resolves_after_a_long_one() -> None:
    r = rule(keep_firing_for="2m")
    trace = run(r, [(0, BAD), (60, GOOD), (150, BAD), (200, GOOD), (300, GOOD), (320, GOOD), (330, GOOD)])
    # a gap of 90 s (< 2 min) keeps it firing; the condition last held at 150 s, so it resolves at 270 s or later
    assert events(trace) == [(0, "firing"), (300, "resolved")]


def test_hysteresis_keeps_firing_until_the_value_passes_the_resolve_threshold() -> None:
    r = rule(resolve_threshold=0.5)
    trace = run(r, [(0, BAND), (10, BAD), (20, BAND), (30, BAND), (40, GOOD), (50, BAND)])
    assert [state for _, state, _ in trace] == [
        "inactive",
        "firing",
        "firing",
        "firing",
        "resolved",
        "resolved",
    ]
    assert events(trace) == [(10, "firing"), (40, "resolved")]  # BAND neither starts nor ends it


def test_no_data_never_fires_and_ends_a_firing_alert_after_keep_firing_for() -> None:
    r = rule(keep_firing_for=30)
    assert events(run(r, [(0, None), (10, None)])) == []
    assert events(run(r, [(0, BAD), (10, None), (20, None), (40, None)])) == [(0, "firing"), (40, "resolved")]


def test_pending_after_a_resolved_episode_falls_back_to_resolved() -> None:
    r = rule(**{"for": 60})
    track, _ = advance(Track(), BAD, T0, r)
    track, _ = advance(track, BAD, T0 + timedelta(seconds=60), r)
    track, _ = advance(track, GOOD, T0 + timedelta(seconds=70), r)
    assert track.state == "resolved"
    track, event = advance(track, BAD, T0 + timedelta(seconds=80), r)
    assert (track.state, event, track.pending_since) == ("pending", None, T0 + timedelta(seconds=80))
    track, event = advance(track, GOOD, T0 + timedelta(seconds=90), r)
    assert (track.state, event, track.resolved_at) == ("resolved", None, T0 + timedelta(seconds=70))


def test_operators_below() -> None:
    r = rule(operator="<", threshold=1.0, resolve_threshold=3.0)
    assert events(run(r, [(0, 2.0), (10, 0.5), (20, 2.0), (30, 3.5)])) == [(10, "firing"), (30, "resolved")]
    assert events(run(rule(operator="<=", threshold=1.0), [(0, 1.0)])) == [(0, "firing")]
    assert events(run(rule(operator=">=", threshold=1.0), [(0, 1.0)])) == [(0, "firing")]


def test_the_fingerprint_is_the_rule_and_its_label_set() -> None:
    a = fingerprint("send_error_ratio", (("account", "1"),))
    assert a == fingerprint("send_error_ratio", (("account", "1"),))
    assert len({a, fingerprint("send_error_ratio", (("account", "2"),)), fingerprint("other", ())}) == 3
    assert len(a) == 64


values = st.sampled_from([None, GOOD, BAND, BAD])
durations = st.sampled_from([0, 10, 30, 60, 120, 300])


@settings(max_examples=300, deadline=None)
@given(
    for_=durations,
    keep=durations,
    hysteresis=st.booleans(),
    steps=st.lists(st.tuples(st.integers(1, 90), values), min_size=1, max_size=60),
)
def test_machine_properties(
    for_: int, keep: int, hysteresis: bool, steps: list[tuple[int, float | None]]
) -> None:
    r = rule(**{"for": for_}, keep_firing_for=keep, resolve_threshold=0.5 if hysteresis else None)
    times, at = [], 0
    for gap, _ in steps:
        at += gap
        times.append(at)
    inputs = [v for _, v in steps]
    trace = run(r, list(zip(times, inputs, strict=True)))
    happened = [(i, e) for i, (_, _, e) in enumerate(trace) if e is not None]

    # firing and resolved alternate, starting with firing
    assert [e for _, e in happened] == ["firing", "resolved"] * (len(happened) // 2) + (
        ["firing"] if len(happened) % 2 else []
    )
    for i, event in happened:
        if event == "firing":
            # it fired at the first evaluation where the value had breached continuously for `for`
            start = i
            while start > 0 and r.breaches(inputs[start - 1]):
                start -= 1
            assert r.breaches(inputs[i])
            assert times[i] - times[start] >= for_
            assert i == start or times[i - 1] - times[start] < for_
        else:
            # it resolved only past the resolve threshold, once nothing held for keep_firing_for
            assert not r.holds(inputs[i])
            last_held = max(j for j in range(i) if r.holds(inputs[j]))
            assert times[i] - times[last_held] >= keep
    # liveness: a breach held for `for` leaves the alert firing
    run_start = None
    for i, value in enumerate(inputs):
        run_start = (run_start if run_start is not None else i) if r.breaches(value) else None
        if run_start is not None and times[i] - times[run_start] >= for_:
            assert trace[i][1] == "firing"


@settings(max_examples=200, deadline=None)
@given(
    keep=st.integers(30, 600),
    pattern=st.lists(st.tuples(st.booleans(), st.floats(0.05, 0.99)), min_size=2, max_size=80),
)
def test_flapping_faster_than_keep_firing_for_fires_once(
    keep: int, pattern: list[tuple[bool, float]]
) -> None:
    """Input that flips between bad and fine (or no data) with gaps shorter than keep_firing_for: one
    episode, so one firing and no resolution while it lasts."""
    r = rule(keep_firing_for=keep)
    steps: list[tuple[float, float | None]] = [(0.0, BAD)]
    at = last_bad = 0.0
    for bad, fraction in pattern:
        at += fraction * keep / 2
        if bad or at - last_bad >= keep * 0.99:  # never a quiet stretch as long as keep_firing_for
            steps.append((at, BAD))
            last_bad = at
        else:
            steps.append((at, GOOD if fraction > 0.5 else None))
    assert events(run(r, steps)) == [(0.0, "firing")]
