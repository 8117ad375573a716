"""Latency histograms with fixed, log-spaced buckets (pure Python, no Django).

A histogram keeps one counter per bucket, so its memory is bounded whatever the traffic,
two histograms merge by adding counters (processes, hours), and a merged histogram gives
the same quantiles as one fed every value. The price is resolution: a quantile is known to
within one bucket, about 26 % of its value here.

The bounds follow the R10 preferred numbers (1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8 per
decade, each about 10^0.1 times the one before) from 1 ms to 100 s, plus an overflow bucket.
They are stored by index (``RequestTiming.buckets``): never change them in place; new bounds
need a migration that re-buckets the stored rows.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_R10 = (1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0)

#: Upper bounds in milliseconds, ascending: bucket ``i`` holds (BOUNDS_MS[i-1], BOUNDS_MS[i]]
#: (bucket 0 holds everything up to 1 ms); index ``len(BOUNDS_MS)`` is the overflow bucket.
BOUNDS_MS: tuple[float, ...] = (
    *(round(mantissa * 10**exponent, 3) for exponent in range(5) for mantissa in _R10),
    100_000.0,
)
OVERFLOW = len(BOUNDS_MS)


def bucket_index(ms: float) -> int:
    """The bucket a duration of ``ms`` milliseconds falls in."""
    return bisect_left(BOUNDS_MS, ms)


@dataclass
class Histogram:
    """Counts of durations per bucket, with their count, total and maximum.

    ``counts`` is sparse (bucket index -> count): most endpoints touch a handful of buckets.
    """

    counts: dict[int, int] = field(default_factory=dict)
    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    def add(self, ms: float) -> None:
        if not math.isfinite(ms) or ms < 0:
            raise ValueError(f"a duration must be a finite number of milliseconds >= 0, not {ms}")
        index = bucket_index(ms)
        self.counts[index] = self.counts.get(index, 0) + 1
        self.count += 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s counts to this histogram (in place)."""
        for index, n in other.counts.items():
            self.counts[index] = self.counts.get(index, 0) + n
        self.count += other.count
        self.total_ms += other.total_ms
        self.max_ms = max(self.max_ms, other.max_ms)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile in milliseconds (None when empty), by nearest rank.

        The exact quantile is the ``ceil(q * count)``-th smallest duration; this returns the
        upper bound of the bucket that duration is in (where the cumulative count reaches
        that rank), capped at the largest duration seen. So the answer is never below the
        exact quantile and lies in the same bucket: at most one bucket width above it. A
        quantile in the overflow bucket (over 100 s) is the largest duration seen.
        """
        if not 0 < q <= 1:
            raise ValueError(f"q must be in (0, 1], not {q}")
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                upper = BOUNDS_MS[index] if index < OVERFLOW else self.max_ms
                return min(upper, self.max_ms)
        raise AssertionError("bucket counts do not add up to count")  # pragma: no cover

    def to_json(self) -> dict[str, int]:
        """The bucket counts as stored (JSON object keys are strings)."""
        return {str(index): n for index, n in sorted(self.counts.items())}

    @classmethod
    def from_stored(
        cls, *, buckets: Mapping[str, int], count: int, total_ms: float, max_ms: float
    ) -> Histogram:
        return cls(
            counts={int(index): int(n) for index, n in buckets.items()},
            count=count,
            total_ms=total_ms,
            max_ms=max_ms,
        )

    @classmethod
    def of(cls, values: Iterable[float]) -> Histogram:
        histogram = cls()
        for ms in values:
            histogram.add(ms)
        return histogram
