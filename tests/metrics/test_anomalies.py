"""Spend anomalies, the pure part (metrics/computations/anomalies.py): a robust band from
STL or the local median, MAD-scaled, with a floor for flat series."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from metrics.computations.anomalies import (
    LOCAL_MEDIAN,
    MIN_OBSERVATIONS,
    STL,
    anomalies,
    score_series,
    seasonal_period,
)

START = dt.date(2025, 1, 6)  # a Monday


def daily(values):
    return [(START + dt.timedelta(days=i), Decimal(v)) for i, v in enumerate(values)]


def weekly_seasonal_spend(days: int, *, seed: int = 7) -> list[str]:
    """Weekdays around 160, weekends around 60 (a strong weekly pattern), a slow upward
    trend and noise of ±5."""
    rng = random.Random(seed)
    values = []
    for i in range(days):
        day = START + dt.timedelta(days=i)
        level = (160 if day.weekday() < 5 else 60) + i * 0.05
        values.append(f"{level + rng.uniform(-5, 5):.2f}")
    return values


def test_ordinary_weekly_seasonality_is_not_flagged():
    series = daily(weekly_seasonal_spend(400))
    report_from = series[-90][0]
    bands = score_series(series, step_days=1, report_from=report_from)
    assert len(bands) == 90
    assert {band.method for band in bands} == {STL}
    assert [band for band in bands if band.anomalous] == []
    # Weekends are expected low and weekdays high: the band follows the season.
    saturday = next(b for b in bands if b.start.weekday() == 5)
    monday = next(b for b in bands if b.start.weekday() == 0)
    assert saturday.high < monday.low


def test_one_injected_spike_is_found_with_its_band_and_deviation():
    values = weekly_seasonal_spend(400)
    spike_at = 380  # inside the last 90 days, on a weekday
    values[spike_at] = f"{Decimal(values[spike_at]) + 300:.2f}"
    series = daily(values)
    found = anomalies(series, step_days=1, report_from=series[-90][0])
    assert [band.start for band in found] == [series[spike_at][0]]
    spike = found[0]
    assert spike.actual == Decimal(values[spike_at])
    assert spike.low < spike.expected < spike.high < spike.actual
    assert spike.deviation == spike.actual - spike.expected
    assert Decimal("280") < spike.deviation < Decimal("320")
    assert spike.deviation_pct == (spike.deviation / spike.expected).quantize(Decimal("0.0001"))
    assert spike.score > Decimal("3.5")


def test_a_spike_on_the_last_day_is_found():
    """Yesterday's spike is the one that matters most: the fit must not bend to it."""
    values = weekly_seasonal_spend(400)
    values[-1] = f"{Decimal(values[-1]) + 150:.2f}"
    series = daily(values)
    found = anomalies(series, step_days=1, report_from=series[-90][0])
    assert [band.start for band in found] == [series[-1][0]]


def test_a_jump_on_the_last_day_of_a_constant_series_is_found():
    series = daily(["100.00"] * 59 + ["150.00"])
    [band] = anomalies(series, step_days=1, report_from=series[-1][0])
    assert (band.expected, band.deviation) == (Decimal("100.00"), Decimal("50.00"))


def test_a_spike_before_the_reported_window_is_not_listed():
    values = weekly_seasonal_spend(400)
    values[100] = "900.00"
    series = daily(values)
    assert anomalies(series, step_days=1, report_from=series[-90][0]) == []


def test_a_drop_is_an_anomaly_too():
    values = weekly_seasonal_spend(400)
    values[390] = "0.00"  # a weekday: expected around 180
    series = daily(values)
    found = anomalies(series, step_days=1, report_from=series[-90][0])
    assert len(found) == 1 and found[0].deviation < 0 and found[0].score < Decimal("-3.5")


def test_a_flat_series_flags_nothing_but_a_clear_jump():
    """MAD = 0: the scale is floored at 5% of the level (100), so the band is 100 ± 17.50."""
    flat = daily(["100.00"] * 60)
    bands = score_series(flat, step_days=1, report_from=flat[-10][0])
    assert [b for b in bands if b.anomalous] == []
    assert (bands[0].expected, bands[0].low, bands[0].high) == (
        Decimal("100.00"),
        Decimal("82.50"),
        Decimal("117.50"),
    )
    jumped = daily(["100.00"] * 59 + ["117.00"])
    assert anomalies(jumped, step_days=1, report_from=jumped[-10][0]) == []
    jumped = daily(["100.00"] * 59 + ["118.00"])
    [band] = anomalies(jumped, step_days=1, report_from=jumped[-10][0])
    assert band.deviation == Decimal("18.00")
    assert band.deviation_pct == Decimal("0.1800")
    assert band.score == Decimal("3.60")


def test_a_series_of_zeros_is_floored_at_one_unit():
    zeros = daily(["0.00"] * 20 + ["3.49", "3.51"])
    found = anomalies(zeros, step_days=1, report_from=zeros[-2][0])
    assert [band.actual for band in found] == [Decimal("3.51")]
    assert found[0].deviation_pct is None  # expected 0: undefined


def test_a_short_series_uses_the_median_and_mad_of_its_values():
    """Ten days (fewer than two weeks): expected = the median of the values (10 values, a
    window of 13: every value), scale = 1.4826 x MAD of the residuals."""
    values = ["100", "110", "90", "105", "95", "102", "98", "108", "92", "200"]
    series = daily(values)
    bands = score_series(series, step_days=1, report_from=START)
    assert {band.method for band in bands} == {LOCAL_MEDIAN}
    # median = 101; residuals -1 9 -11 4 -6 1 -3 7 -9 99: median 0, MAD (6 + 7) / 2 = 6.5;
    # scale 1.4826 x 6.5 = 9.6369 (above the floor 5% x 101); band 101 ± 3.5 x 9.6369.
    assert bands[0].expected == Decimal("101.00")
    assert bands[0].low == Decimal("67.27")
    assert bands[0].high == Decimal("134.73")
    assert [band.actual for band in bands if band.anomalous] == [Decimal("200.00")]
    assert bands[-1].score == Decimal("10.27")  # 99 / 9.6369


def test_too_little_history_scores_nothing():
    series = daily(["100"] * (MIN_OBSERVATIONS - 1) + ["900"])
    assert len(score_series(series, step_days=1, report_from=START)) == MIN_OBSERVATIONS
    assert score_series(series[1:], step_days=1, report_from=START) == []


def test_a_monthly_booking_seen_weekly_is_fitted_on_its_booked_weeks():
    """Rent booked once a month: three empty weeks out of four are gaps, not zeros that would
    make every booking an outlier; a double booking stands out."""
    weeks = [(START + dt.timedelta(weeks=4 * i), Decimal("5000.00")) for i in range(20)]
    assert anomalies(weeks, step_days=7, report_from=START) == []
    weeks[-1] = (weeks[-1][0], Decimal("10000.00"))
    [band] = anomalies(weeks, step_days=7, report_from=START)
    assert band.expected == Decimal("5000.00") and band.deviation == Decimal("5000.00")


def test_gaps_in_a_dense_series_count_as_zero_spend():
    """A campaign paused every weekend (no rows) has its weekly pattern learnt by STL."""
    rng = random.Random(3)
    series = [
        (day, Decimal(f"{150 + rng.uniform(-5, 5):.2f}"))
        for day in (START + dt.timedelta(days=i) for i in range(200))
        if day.weekday() < 5
    ]
    bands = score_series(series, step_days=1, report_from=series[-40][0])
    assert {band.method for band in bands} == {STL}
    assert [band for band in bands if band.anomalous] == []


def test_seasonal_periods():
    assert seasonal_period(step_days=1, points=10) == 7
    assert seasonal_period(step_days=7, points=103) is None
    assert seasonal_period(step_days=7, points=104) == 52


def test_dates_off_the_grid_are_refused():
    with pytest.raises(ValueError, match="grid"):
        score_series(
            [(START + dt.timedelta(days=i * 7 + (i == 3)), Decimal(1)) for i in range(10)],
            step_days=7,
            report_from=START,
        )
