import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from operations.histograms import BOUNDS_MS, OVERFLOW, Histogram, bucket_index

durations = st.floats(min_value=0, max_value=250_000, allow_nan=False, allow_infinity=False)
quantiles = st.sampled_from([0.01, 0.5, 0.9, 0.95, 0.99, 1.0])


def exact_quantile(values: list[float], q: float) -> float:
    """Nearest rank: the ceil(q * n)-th smallest value."""
    return sorted(values)[max(1, math.ceil(q * len(values))) - 1]


def test_bounds_are_log_spaced_from_1_ms_to_100_s():
    assert BOUNDS_MS[0] == 1.0
    assert BOUNDS_MS[-1] == 100_000.0
    assert 40 <= len(BOUNDS_MS) <= 60
    ratios = [b / a for a, b in itertools.pairwise(BOUNDS_MS)]
    assert all(1.2 < r < 1.3 for r in ratios)


def test_bucket_edges_belong_to_the_lower_bucket():
    assert bucket_index(0.0) == bucket_index(1.0) == 0
    assert bucket_index(1.0001) == 1
    assert bucket_index(100.0) == BOUNDS_MS.index(100.0)
    assert bucket_index(100_000.1) == OVERFLOW


def test_quantiles_by_hand():
    # 100 requests: 90 of 3 ms, 9 of 120 ms, 1 of 7 s.
    h = Histogram.of([3.0] * 90 + [120.0] * 9 + [7000.0])
    assert h.quantile(0.5) == 3.15  # upper edge of (2.5, 3.15]
    assert h.quantile(0.9) == 3.15  # the 90th value is still 3 ms
    assert h.quantile(0.95) == 125.0  # (100, 125]
    assert h.quantile(0.99) == 125.0
    assert h.quantile(1.0) == 7000.0  # capped at the largest duration seen (not 8000)
    assert (h.count, h.total_ms, h.max_ms) == (100, 90 * 3.0 + 9 * 120.0 + 7000.0, 7000.0)


def test_overflow_quantile_is_the_largest_duration():
    assert Histogram.of([250_000.0, 5.0]).quantile(0.99) == 250_000.0


def test_empty_and_bad_input():
    assert Histogram().quantile(0.95) is None
    with pytest.raises(ValueError, match="q must be"):
        Histogram.of([1.0]).quantile(0)
    with pytest.raises(ValueError, match="finite number"):
        Histogram().add(float("nan"))
    with pytest.raises(ValueError, match="finite number"):
        Histogram().add(-1.0)


def test_stored_form_round_trips():
    h = Histogram.of([0.5, 2.0, 2.0, 900.0])
    stored = h.to_json()
    assert stored == {"0": 1, "3": 2, str(bucket_index(900.0)): 1}
    again = Histogram.from_stored(buckets=stored, count=4, total_ms=h.total_ms, max_ms=900.0)
    assert again == h


@given(st.lists(durations, min_size=1, max_size=300), quantiles)
def test_quantile_is_in_the_exact_quantiles_bucket(values, q):
    exact = exact_quantile(values, q)
    got = Histogram.of(values).quantile(q)
    assert got is not None
    assert got >= exact  # never optimistic
    assert bucket_index(got) == bucket_index(exact)  # at most one bucket width above


@given(st.lists(durations, max_size=200), st.lists(durations, max_size=200), quantiles)
def test_merged_quantiles_equal_the_quantiles_of_the_union(a, b, q):
    merged = Histogram.of(a)
    merged.merge(Histogram.of(b))
    union = Histogram.of(a + b)
    assert merged.counts == union.counts
    assert merged.count == union.count
    assert merged.quantile(q) == union.quantile(q)
