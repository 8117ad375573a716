"""Faster financial decision-making (docs/alerts.md, "Acknowledgements and decisions"): how
much sooner than the baseline a firing alert gets a decision. Pure; the duration arithmetic
is shared with the close's reporting time (finhub/core/durations.py)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from finhub.core.durations import hours_between, reduction_percent

__all__ = ["decision_speed_percent", "hours_between"]


def decision_speed_percent(
    hours: Iterable[Decimal], *, baseline_hours: Decimal | None
) -> tuple[Decimal, Decimal] | None:
    """``(1 - median(hours) / baseline) * 100`` and the median; None without decisions or
    without a positive baseline. Negative when decisions are slower than the baseline."""
    return reduction_percent(hours, baseline_hours=baseline_hours)
