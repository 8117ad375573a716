"""Durations and how much shorter they got than a baseline: the scorecard's "faster"
metrics (faster financial decisions: hours from an alert firing to its decision; reporting
time: hours from a period's end to its report pack). Pure: no Django, no database."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from decimal import Decimal

_HOUR = Decimal(3600)


def hours_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    """Hours from ``start`` to ``end`` (exact to the microsecond, as a Decimal)."""
    delta = end - start
    seconds = Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 10**6
    return seconds / _HOUR


def reduction_percent(
    hours: Iterable[Decimal], *, baseline_hours: Decimal | None
) -> tuple[Decimal, Decimal] | None:
    """``(1 - median(hours) / baseline) * 100`` and the median; None without any duration or
    without a positive baseline. Negative when the durations are longer than the baseline."""
    values = sorted(hours)
    if not values or baseline_hours is None or baseline_hours <= 0:
        return None
    median = Decimal(statistics.median(values))
    return (1 - median / baseline_hours) * 100, median
