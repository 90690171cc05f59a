"""A quantile sketch with a relative-error guarantee (DDSketch, Masson et al., VLDB 2019).

Values fall into logarithmic buckets: bucket i holds (gamma^(i-1), gamma^i] with gamma = (1+a)/(1-a), and a
bucket is reported as the point within `a` of every value in it. So any quantile is within relative error `a`
(1% by default) of the exact one, two sketches merge exactly by adding bucket counts (across processes and
across time), and memory grows with the logarithm of the value range, not with the number of values. Values
at or below `min_value` count in a zero bucket (durations are never negative).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

DEFAULT_ACCURACY = 0.01
MAX_BUCKETS = 2048  # with a = 1%, 2048 buckets span a ratio of e^81 between the smallest and largest value


class Sketch:
    __slots__ = (
        "_bins",
        "_gamma_log",
        "_inv_gamma_log",
        "accuracy",
        "count",
        "max",
        "min",
        "min_value",
        "sum",
        "zero",
    )

    def __init__(self, accuracy: float = DEFAULT_ACCURACY, min_value: float = 1e-9) -> None:
        if not 0 < accuracy < 1:
            raise ValueError("accuracy must be between 0 and 1")
        self.accuracy = accuracy
        self.min_value = min_value
        self._gamma_log = math.log((1 + accuracy) / (1 - accuracy))
        self._inv_gamma_log = 1 / self._gamma_log
        self._bins: dict[int, int] = {}
        self.zero = 0
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if value <= self.min_value:
            self.zero += 1
            return
        key = math.ceil(math.log(value) * self._inv_gamma_log)
        bins = self._bins
        if key in bins:
            bins[key] += 1
        else:
            bins[key] = 1
            if len(bins) > MAX_BUCKETS:
                self._collapse()

    def _collapse(self) -> None:
        """Fold the lowest buckets into one: only the smallest values lose accuracy, never high quantiles."""
        keys = sorted(self._bins)
        excess = keys[: len(keys) - MAX_BUCKETS + 1]
        folded = sum(self._bins.pop(k) for k in excess)
        self._bins[excess[-1]] = folded

    def merge(self, other: Sketch) -> None:
        """Add `other`'s values to this sketch (exact: the result is the sketch of both value sets)."""
        if other.accuracy != self.accuracy or other.min_value != self.min_value:
            raise ValueError("only sketches with the same accuracy and min_value merge")
        if other.count == 0:
            return
        for key, count in other._bins.items():
            self._bins[key] = self._bins.get(key, 0) + count
        self.zero += other.zero
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        if len(self._bins) > MAX_BUCKETS:
            self._collapse()

    def quantile(self, q: float) -> float | None:
        """The value at quantile `q` (0..1) within the relative accuracy, or None when empty. The rank is
        the lower one, floor(q * (count - 1)), so quantile(0) is the minimum and quantile(1) the maximum."""
        if self.count == 0:
            return None
        if not 0 <= q <= 1:
            raise ValueError("q must be between 0 and 1")
        rank = math.floor(q * (self.count - 1))
        if rank < self.zero:
            return max(self.min, 0.0) if self.min <= self.min_value else 0.0
        seen = self.zero
        for key in sorted(self._bins):
            seen += self._bins[key]
            if seen > rank:
                estimate = 2 * math.exp(key * self._gamma_log) / (1 + math.exp(self._gamma_log))
                return min(max(estimate, self.min), self.max)  # exact at the ends
        return self.max

    def quantiles(self, qs: Iterable[float]) -> list[float | None]:
        return [self.quantile(q) for q in qs]

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def __len__(self) -> int:
        return self.count

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form: `Sketch.from_dict(s.to_dict())` is `s`."""
        keys = sorted(self._bins)
        return {
            "a": self.accuracy,
            "m": self.min_value,
            "k": keys,
            "c": [self._bins[k] for k in keys],
            "z": self.zero,
            "n": self.count,
            "s": self.sum,
            "lo": self.min if self.count else None,
            "hi": self.max if self.count else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sketch:
        sketch = cls(float(data["a"]), float(data["m"]))
        sketch._bins = {int(k): int(c) for k, c in zip(data["k"], data["c"], strict=True)}
        sketch.zero = int(data["z"])
        sketch.count = int(data["n"])
        sketch.sum = float(data["s"])
        if sketch.count:
            sketch.min, sketch.max = float(data["lo"]), float(data["hi"])
        return sketch

    def copy(self) -> Sketch:
        clone = Sketch(self.accuracy, self.min_value)
        clone.merge(self)
        return clone
