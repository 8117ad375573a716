"""Spend anomalies (docs/metrics.md, "Spend anomalies"): the points of a spend series outside
their expected band.

A series is a regular grid (one point a day, or a week) of Decimal amounts, from its first to
its last observed point; a period without any line is a gap and counts as zero spend. Only
observed points are scored, and only those on or after ``report_from``: the band is fitted on
the whole history given (the caller passes up to two years).

Expected value:

- **dense series** (at least ``DENSE_SHARE`` of the grid observed) with at least two full
  seasonal periods and not mostly one same amount: robust STL (``statsmodels``, local-constant
  smoothers, which follow a jump on the last day less than local-linear ones), expected =
  trend + seasonal;
- otherwise the **local median**: the median of the observed values around the point (up to
  ``LOCAL_HALF_WINDOW`` observations each side). It is the median of the values themselves on
  a short series, and follows a slow trend on a long one; sparse series (an expense booked
  once a month, seen weekly) are fitted on their observed values only, so the empty weeks do
  not drag the band to zero.

Band: the residuals (actual - fitted) of every observed point give a centre (their median,
added to the expected value) and a robust scale ``1.4826 x MAD``, floored (below). A point is
an anomaly when it lies outside expected ± ``k`` x scale (``K`` = 3.5); its score is the
robust z = (residual - median) / scale.

Scale floor: a flat series has a MAD of 0, which would flag every cent of difference. The
scale is at least ``FLOOR_SHARE`` (5%) of the median absolute observed level, and never
below ``MIN_SCALE`` (one currency unit): on a perfectly steady series a point is flagged when
it is more than 17.5% (3.5 x 5%) away from the usual level.

Money is Decimal in and out; floats exist only inside the STL fit, and the fitted values are
converted back to Decimal before any residual is taken. Figures are rounded half-up to cents
(the score to 0.01, the deviation % to 0.0001) at the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median

from finhub.core.money import present_money, round_half_up
from metrics.computations.presentation import ratio

#: Band half-width in robust standard deviations.
K = Decimal("3.5")
#: MAD x 1.4826 estimates the standard deviation of normally distributed residuals.
MAD_TO_SIGMA = Decimal("1.4826")
#: Scale floor, as a share of the median absolute observed level (flat series).
FLOOR_SHARE = Decimal("0.05")
#: Scale floor in currency units (a series of zeros).
MIN_SCALE = Decimal("1")
#: Fewer observed points than this: no band (too little history to say what is normal).
MIN_OBSERVATIONS = 8
#: A series is dense, and decomposed with STL, when this share of its grid is observed.
DENSE_SHARE = Decimal("0.6")
#: Local median: up to this many observed points on each side of the point.
LOCAL_HALF_WINDOW = 6
#: Seasonal periods: a week of days; a year of weeks (used from two years of history).
DAILY_PERIOD = 7
WEEKLY_PERIOD = 52
#: STL methods named in ``Band.method``.
STL = "stl"
LOCAL_MEDIAN = "local_median"


@dataclass(frozen=True, slots=True)
class Band:
    """One scored point: its actual amount against the expected value and range."""

    start: dt.date
    actual: Decimal
    expected: Decimal
    low: Decimal
    high: Decimal
    #: actual - expected.
    deviation: Decimal
    #: deviation / |expected| as a fraction (0.25 = 25%); None when expected is 0.
    deviation_pct: Decimal | None
    #: Robust z: (residual - median residual) / scale.
    score: Decimal
    anomalous: bool
    method: str


def seasonal_period(*, step_days: int, points: int) -> int | None:
    """The seasonal period to decompose with: 7 for a daily series, 52 for a weekly one with
    at least two years of points, else None (no seasonal term)."""
    if step_days == 1:
        return DAILY_PERIOD
    if step_days == 7 and points >= 2 * WEEKLY_PERIOD:
        return WEEKLY_PERIOD
    return None


def score_series(
    observations: Sequence[tuple[dt.date, Decimal]],
    *,
    step_days: int,
    report_from: dt.date,
    period: int | None = None,
    k: Decimal = K,
) -> list[Band]:
    """Bands of the observed points on or after ``report_from`` (oldest first).

    ``observations``: ``(period start, amount)`` on a grid of ``step_days`` (dates off the
    grid of the first one are refused); ``period``: the seasonal period in points, default
    :func:`seasonal_period`. An empty list when fewer than ``MIN_OBSERVATIONS`` points are
    observed."""
    observed = sorted(observations)
    if len(observed) < MIN_OBSERVATIONS:
        return []
    first = observed[0][0]
    grid: list[Decimal] = [Decimal(0)] * ((observed[-1][0] - first).days // step_days + 1)
    indices: list[int] = []
    for start, amount in observed:
        index, off_grid = divmod((start - first).days, step_days)
        if off_grid:
            raise ValueError(f"{start} is not on the {step_days}-day grid starting {first}")
        grid[index] += Decimal(amount)
        if not indices or indices[-1] != index:
            indices.append(index)
    if period is None:
        period = seasonal_period(step_days=step_days, points=len(grid))
    dense = len(indices) >= DENSE_SHARE * len(grid)
    level = median(grid)
    # Mostly one same amount (MAD 0): STL's robustness weights are undefined there and its
    # fit follows a last-day jump; the local median handles a constant series exactly.
    varied = median(abs(value - level) for value in grid) > 0
    if dense and varied and period is not None and period >= 2 and len(grid) >= 2 * period:
        fitted_grid = _stl_fit(grid, period)
        fitted = [fitted_grid[i] for i in indices]
        method = STL
    else:
        fitted = _local_medians([grid[i] for i in indices])
        method = LOCAL_MEDIAN
    actuals = [grid[i] for i in indices]
    residuals = [actual - fit for actual, fit in zip(actuals, fitted, strict=True)]
    centre = median(residuals)
    scale = max(
        MAD_TO_SIGMA * median(abs(r - centre) for r in residuals),
        FLOOR_SHARE * median(abs(a) for a in actuals),
        MIN_SCALE,
    )
    bands = []
    for index, actual, fit, residual in zip(indices, actuals, fitted, residuals, strict=True):
        start = first + dt.timedelta(days=index * step_days)
        if start < report_from:
            continue
        expected = present_money(fit + centre)
        z = (residual - centre) / scale
        bands.append(
            Band(
                start=start,
                actual=present_money(actual),
                expected=expected,
                low=present_money(fit + centre - k * scale),
                high=present_money(fit + centre + k * scale),
                deviation=present_money(actual) - expected,
                deviation_pct=_pct(present_money(actual) - expected, expected),
                score=round_half_up(z, 2),
                anomalous=abs(z) > k,
                method=method,
            )
        )
    return bands


def anomalies(
    observations: Sequence[tuple[dt.date, Decimal]],
    *,
    step_days: int,
    report_from: dt.date,
    period: int | None = None,
    k: Decimal = K,
) -> list[Band]:
    """The anomalous points among :func:`score_series`'s."""
    bands = score_series(
        observations, step_days=step_days, report_from=report_from, period=period, k=k
    )
    return [band for band in bands if band.anomalous]


def _pct(deviation: Decimal, expected: Decimal) -> Decimal | None:
    value = ratio(deviation, abs(expected))
    return None if value is None else round_half_up(value, 4)


def _local_medians(values: Sequence[Decimal]) -> list[Decimal]:
    """Each value's neighbourhood median (itself and up to ``LOCAL_HALF_WINDOW`` values each
    side; the window shifts inward at the ends so it keeps its size)."""
    size = min(len(values), 2 * LOCAL_HALF_WINDOW + 1)
    result = []
    for index in range(len(values)):
        low = min(max(0, index - LOCAL_HALF_WINDOW), len(values) - size)
        result.append(Decimal(median(values[low : low + size])))
    return result


def _stl_fit(grid: Sequence[Decimal], period: int) -> list[Decimal]:
    """Trend + seasonal of a robust STL decomposition, back in Decimal."""
    import numpy as np  # statsmodels and numpy are loaded only when a series needs them
    from statsmodels.tsa.seasonal import STL as SeasonalTrendLoess

    values = np.array([float(v) for v in grid], dtype=float)
    result = SeasonalTrendLoess(
        values, period=period, robust=True, seasonal_deg=0, trend_deg=0
    ).fit()
    fitted = np.asarray(result.trend) + np.asarray(result.seasonal)
    # repr-exact conversion of each float; rounding happens once, at the band.
    return [Decimal(repr(float(value))) for value in fitted]
