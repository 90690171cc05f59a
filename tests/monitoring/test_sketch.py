"""The quantile sketch: within 1% of the exact quantile, and merging is exact."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linda.monitoring.sketch import MAX_BUCKETS, Sketch

values = st.lists(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False), min_size=1, max_size=400)
quantile = st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0])


def exact(data: list[float], q: float) -> float:
    """The lower-rank quantile, as the sketch defines it."""
    return sorted(data)[math.floor(q * (len(data) - 1))]


def within(estimate: float | None, truth: float, accuracy: float = 0.01) -> bool:
    return estimate is not None and abs(estimate - truth) <= accuracy * truth * (1 + 1e-9)


@given(values, quantile)
def test_every_quantile_is_within_one_percent_of_the_exact_one(data: list[float], q: float) -> None:
    sketch = Sketch()
    for value in data:
        sketch.add(value)
    assert within(sketch.quantile(q), exact(data, q))
    assert sketch.count == len(data) and sketch.min == min(data) and sketch.max == max(data)
    assert sketch.sum == pytest.approx(sum(data))


@given(values, values, quantile)
def test_merging_two_sketches_equals_sketching_all_values(a: list[float], b: list[float], q: float) -> None:
    left, right, both = Sketch(), Sketch(), Sketch()
    for value in a:
        left.add(value)
        both.add(value)
    for value in b:
        right.add(value)
        both.add(value)
    left.merge(right)
    assert left.to_dict() == {**both.to_dict(), "s": pytest.approx(both.sum)}
    assert left.quantile(q) == both.quantile(q)


@given(values)
def test_the_stored_form_round_trips(data: list[float]) -> None:
    sketch = Sketch()
    for value in data:
        sketch.add(value)
    restored = Sketch.from_dict(sketch.to_dict())
    assert restored.to_dict() == sketch.to_dict()
    assert restored.quantiles([0.5, 0.99]) == sketch.quantiles([0.5, 0.99])


def test_a_lognormal_sample_of_latencies_keeps_its_tail_accurate() -> None:
    rng = random.Random(7)
    data = [rng.lognormvariate(-4, 1.2) for _ in range(100_000)]
    sketch = Sketch()
    for value in data:
        sketch.add(value)
    for q in (0.5, 0.95, 0.99, 0.999):
        assert within(sketch.quantile(q), exact(data, q))


def test_memory_is_bounded_whatever_the_range_of_values() -> None:
    sketch = Sketch()
    for exponent in range(-300, 300):
        for mantissa in range(1, 10):
            sketch.add(mantissa * 10.0**exponent)
    assert len(sketch.to_dict()["k"]) <= MAX_BUCKETS
    assert within(
        sketch.quantile(0.99), exact([m * 10.0**e for e in range(-300, 300) for m in range(1, 10)], 0.99)
    )


def test_zeros_empty_sketches_and_bad_arguments() -> None:
    sketch = Sketch()
    assert sketch.quantile(0.5) is None and sketch.mean is None
    for value in (0.0, 0.0, 5.0):
        sketch.add(value)
    assert sketch.quantile(0) == 0.0 and sketch.quantile(0.5) == 0.0 and within(sketch.quantile(1), 5.0)
    with pytest.raises(ValueError, match="q must be"):
        sketch.quantile(1.5)
    with pytest.raises(ValueError, match="accuracy"):
        Sketch(accuracy=0)
    with pytest.raises(ValueError, match="same accuracy"):
        sketch.merge(Sketch(accuracy=0.02))
