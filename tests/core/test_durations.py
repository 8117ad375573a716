"""Durations and their reduction against a baseline (finhub/core/durations.py)."""

import datetime as dt
from decimal import Decimal

from finhub.core.durations import hours_between, reduction_percent

T0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def test_hours_between_is_exact():
    assert hours_between(T0, T0 + dt.timedelta(hours=50)) == Decimal(50)
    assert hours_between(T0, T0 + dt.timedelta(minutes=90)) == Decimal("1.5")
    assert hours_between(T0, T0 + dt.timedelta(days=2, seconds=36)) == Decimal("48.01")
    assert hours_between(T0 + dt.timedelta(hours=2), T0) == Decimal(-2)


def test_reduction_percent_uses_the_median():
    hours = [Decimal(90), Decimal(50), Decimal(70)]
    assert reduction_percent(hours, baseline_hours=Decimal(100)) == (Decimal(30), Decimal(70))
    # An even count: the median is the mean of the middle two (60 + 70) / 2 = 65.
    even = [Decimal(50), Decimal(60), Decimal(70), Decimal(200)]
    assert reduction_percent(even, baseline_hours=Decimal(100)) == (Decimal(35), Decimal(65))
    # Slower than the baseline: negative.
    assert reduction_percent([Decimal(150)], baseline_hours=Decimal(100))[0] == Decimal(-50)


def test_reduction_percent_needs_durations_and_a_positive_baseline():
    assert reduction_percent([], baseline_hours=Decimal(100)) is None
    assert reduction_percent([Decimal(5)], baseline_hours=None) is None
    assert reduction_percent([Decimal(5)], baseline_hours=Decimal(0)) is None
