"""The forecasting models, bottom-up totals, the outturn and the parallel run
(metrics.computations.forecast_models / forecasting)."""

import math
from datetime import date
from decimal import Decimal

import pytest

from finhub.core.calendar import add_months
from metrics.computations.backtest import Plan, Series, candidates, run_series
from metrics.computations.forecast_models import (
    ETS,
    ZERO_MODEL,
    Path,
    forecast_path,
    point_forecast,
)
from metrics.computations.forecasting import add_paths, forecast_all, outturn

D = Decimal
START = date(2022, 1, 1)


def seasonal_trend(t: int) -> Decimal:
    """1000 + 10 t + 200 sin(2π t / 12), with a small alternating wobble (±5)."""
    value = 1000 + 10 * t + 200 * math.sin(2 * math.pi * t / 12) + (5 if t % 2 else -5)
    return D(f"{value:.2f}")


def series_of(values, key="s", group="expense", first=START, budget=None) -> Series:
    entries = tuple((add_months(first, i), None, D(v)) for i, v in enumerate(values))
    return Series(key=key, group=group, first_month=first, entries=entries, budget=budget or {})


def test_ets_recovers_seasonality_and_trend_within_3_percent():
    history = [seasonal_trend(t) for t in range(48)]
    truth = [seasonal_trend(t) for t in range(48, 60)]
    path = forecast_path(ETS, history, 12)
    assert path.seasonal and path.label == "ETS (additive, damped trend, seasonal)"
    worst = max(abs(p - a) / a for p, a in zip(path.points, truth, strict=True))
    assert worst < D("0.03"), worst
    # The intervals bracket the point and widen with the horizon.
    assert all(
        lo < p < hi for lo, p, hi in zip(path.lower95, path.points, path.upper95, strict=True)
    )
    assert all(a <= b for a, b in zip(path.lower95, path.lower80, strict=True))
    assert path.sigmas[-1] >= path.sigmas[0] > 0


def test_chosen_model_recovers_the_pattern_through_the_backtest():
    values = [seasonal_trend(t) for t in range(48)]
    origin = add_months(START, 47)
    run = run_series(series_of(values), Plan(origin=origin, horizon_end=add_months(origin, 12)))
    assert run.model in ("ets", "seasonal_naive", "drift")
    truth = [seasonal_trend(t) for t in range(48, 60)]
    worst = max(abs(p - a) / a for p, a in zip(run.path.points, truth, strict=True))
    assert worst < D("0.05"), (run.model, worst)
    assert run.fallback == ""


def test_naive_and_drift_intervals_by_hand():
    history = [D(10), D(12), D(11), D(13)]
    naive = forecast_path("naive", history, 4)
    # Residuals 2, -1, 2: sigma² = 9 / 3 = 3; h = 1: 13 ± 1.959964 x √3 = 13 ± 3.3947.
    assert naive.points == (D("13.00"),) * 4
    assert naive.upper95[0] == D("16.39") and naive.lower95[0] == D("9.61")
    # h = 4: sigma√4 = 2√3 → 13 ± 6.7895.
    assert naive.upper95[3] == D("19.79")
    drift = forecast_path("drift", history, 2)
    assert drift.points == (D("14.00"), D("15.00"))  # slope (13 - 10) / 3 = 1
    # Residuals (Δ - 1) = 1, -2, 1: sigma² = 6 / 2 = 3; h = 1: sigma√(1 x (1 + 1/4)) = √3.75.
    assert drift.upper80[0] == D("14.00") + (D("1.2815515655446004") * D("3.75").sqrt()).quantize(
        D("0.01")
    )


def test_seasonal_naive_repeats_last_year():
    history = [D(m) for m in range(1, 13)] + [D(m * 2) for m in range(1, 13)]
    assert point_forecast("seasonal_naive", history, 13) == [D(m * 2) for m in range(1, 13)] + [
        D(2)
    ]
    path = forecast_path("seasonal_naive", history, 13)
    # Residuals y_t - y_{t-12} = 1 … 12: sigma² = 650 / 12; h = 13 is in the second year: sigma√2.
    sigma = (D(650) / 12).sqrt()
    assert path.sigmas[0] == sigma and path.sigmas[12] == sigma * D(2).sqrt()


def test_short_series_falls_back_and_says_why():
    values = [D(100 + i) for i in range(8)]
    models, why = candidates(values)
    assert "seasonal_naive" not in models and ETS not in models
    assert why.startswith("8 months of history: too short for ETS")
    assert "too short for a seasonal model" in why
    origin = add_months(START, 7)
    run = run_series(series_of(values), Plan(origin=origin, horizon_end=add_months(origin, 4)))
    assert run.model in ("zero", "naive", "drift")
    assert run.fallback == why


def test_zero_series():
    origin = add_months(START, 23)
    run = run_series(series_of([0] * 24), Plan(origin=origin, horizon_end=add_months(origin, 3)))
    assert run.model == ZERO_MODEL
    assert run.fallback == "all 24 months are zero: forecast as zero"
    assert run.path.points == (D("0.00"),) * 3 and run.path.upper95 == (D("0.00"),) * 3
    # No ledger lines at all: the history is empty.
    empty = Series(key="e", group="expense", first_month=add_months(origin, 1), entries=())
    run = run_series(empty, Plan(origin=origin, horizon_end=add_months(origin, 3)))
    assert run.model == ZERO_MODEL and run.fallback.startswith("no ledger amounts yet")


def path_of(points, sigmas) -> Path:
    points, sigmas = tuple(map(D, points)), tuple(map(D, sigmas))
    return Path("naive", points, sigmas, points, points, points, points)


def test_totals_add_exactly_and_variances_add():
    revenue = path_of(["100.10", "200.20"], ["3", "6"])
    cost = path_of(["40.05", "50.05"], ["4", "8"])
    total = add_paths([(1, revenue), (-1, cost)], 2)
    assert total.points == (D("60.05"), D("150.15"))
    assert total.sigmas == (D(5), D(10))  # √(3² + 4²), √(6² + 8²)
    assert total.upper95[0] == D("69.85")  # 60.05 + 1.959964 x 5 = 69.849…


def test_outturn_and_probability_over_budget():
    at_budget = outturn(known=D(100), points=[D(50)], sigmas=[D(10)], budget=D(150))
    assert at_budget.predicted == D("150.00") and at_budget.probability_over_budget == D("0.50")
    # Two sigma over the budget: Φ(2) = 0.977 → 0.98.
    over = outturn(known=D(100), points=[D(30), D(20)], sigmas=[D(6), D(8)], budget=D(130))
    assert over.sigma == D(10) and over.probability_over_budget == D("0.98")
    assert over.upper80 == D("162.82")  # 150 + 1.28155 x 10
    closed = outturn(known=D(100), points=[], sigmas=[], budget=D(99))
    assert closed.probability_over_budget == D(1) and closed.lower95 == D("100.00")


@pytest.mark.parametrize("processes", [2])
def test_processes_give_the_same_result(processes):
    series = [
        series_of([seasonal_trend(t) * (k + 1) for t in range(30)], key=f"s{k}") for k in range(3)
    ] + [series_of([D(5)] * 9, key="short"), series_of([0] * 12, key="zero")]
    origin = add_months(START, 29)
    plan = Plan(origin=origin, horizon_end=add_months(origin, 6), outturn_year=2023)
    assert forecast_all(series, plan, processes=processes) == forecast_all(series, plan)
