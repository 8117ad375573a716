"""Leak-free histories, the rolling-origin backtest, the model choice and the accuracy
measures (metrics.computations.backtest)."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from finhub.core.calendar import add_months
from metrics.computations.backtest import (
    Plan,
    Series,
    direction_accuracy,
    history_as_of,
    outturn_error,
    run_series,
    wape_accuracy,
)

D = Decimal
START = date(2024, 1, 1)
ORIGIN = date(2026, 3, 1)


def wavy(i: int) -> Decimal:
    return D(1000 + 15 * i + (120 if i % 12 in (5, 6, 7) else 0) + (7 if i % 3 else -4))


def series_with(entries, first=START) -> Series:
    return Series(key="s", group="expense", first_month=first, entries=tuple(entries))


BASE = [(add_months(START, i), None, wavy(i)) for i in range(27)]  # Jan 2024 … Mar 2026


def test_history_as_of_counts_months_up_to_the_origin_and_arrivals_by_then():
    late = (date(2026, 1, 1), date(2026, 4, 1), D(500))  # January's line, stored in April
    series = series_with([*BASE, late])
    at_march = history_as_of(series, ORIGIN)
    assert len(at_march) == 27 and at_march[-1] == wavy(26)
    assert at_march[24] == wavy(24)  # January without the late line
    assert history_as_of(series, date(2026, 4, 1))[24] == wavy(24) + 500
    assert history_as_of(series, date(2023, 12, 1)) == []


def test_data_after_the_origin_leaves_its_forecast_unchanged():
    plan = Plan(origin=ORIGIN, horizon_end=date(2026, 12, 1), outturn_year=2025)
    before = run_series(series_with(BASE), plan)
    later = [(date(2026, 4, 1), None, D(9999)), (date(2026, 5, 1), None, D(-5000))]
    after = run_series(series_with([*BASE, *later]), plan)
    assert after.model == before.model
    assert after.path == before.path
    assert after.points == before.points
    assert after.outturn == before.outturn


def predictions(run) -> dict:
    return {key: [(month, p) for month, _, p in rows] for key, rows in run.points.items()}


def test_a_late_line_counts_from_its_arrival_in_the_backtest_and_now_in_the_forecast():
    """November 2025's line stored in April 2026, after the March origin (while the forecast
    is made, in April): no backtest forecast made before April sees it, but the actuals as
    known today and the forecast made today do."""
    plan = Plan(origin=ORIGIN, horizon_end=date(2026, 12, 1), outturn_year=2025)
    before = run_series(series_with(BASE), plan)
    late = (date(2025, 11, 1), date(2026, 4, 1), D(7777))
    after = run_series(series_with([*BASE, late]), plan)
    assert predictions(after) == predictions(before)  # no backtest origin saw it
    assert after.history[22] == before.history[22] + 7777  # November 2025 as known today
    actual = {month: a for month, a, _ in after.points["naive", 1]}
    assert actual[date(2025, 11, 1)] == wavy(22) + 7777  # scored against the truth
    assert after.path != before.path  # today's forecast continues today's data


def test_a_series_starting_at_the_origin_is_not_forecast_as_zero():
    """One month of history: nothing to backtest on, so the simplest model continues it."""
    one = series_with([(ORIGIN, None, D(1000))], first=ORIGIN)
    run = run_series(one, Plan(origin=ORIGIN, horizon_end=date(2026, 12, 1)))
    assert run.model == "naive"
    assert run.path.points[0] == D(1000)
    assert "no month to backtest on" in run.fallback


def test_backtest_forecast_at_an_earlier_origin_ignores_what_came_after_it():
    """In a later plan, the h = 1 forecast of April 2026 is made at March's end: changing
    May and a late line for March (stored in May) leaves it unchanged."""
    base = [*BASE, (date(2026, 4, 1), None, D(1400)), (date(2026, 5, 1), None, D(1410))]
    plan = Plan(origin=date(2026, 5, 1), horizon_end=date(2026, 12, 1))
    changed = [
        *base[:-1],
        (date(2026, 5, 1), None, D(50)),
        (date(2026, 3, 1), date(2026, 5, 1), D(900)),
    ]

    def april(run):
        return {m: p for m, _, p in run.points["naive", 1]}[date(2026, 4, 1)], {
            m: p for m, _, p in run.points["drift", 1]
        }[date(2026, 4, 1)]

    assert april(run_series(series_with(base), plan)) == april(
        run_series(series_with(changed), plan)
    )


def test_wape_and_direction_accuracy_by_hand():
    # Two series, two months each: (actual, predicted, budget).
    points = [
        (D(100), D(90), D(95)),  # A m1: predicted under budget, actual over → differ
        (D(200), D(220), D(210)),  # A m2: predicted over, actual under → differ
        (D(50), D(60), D(40)),  # B m1: both over → same
        (D(150), D(150), D(150)),  # B m2: both on budget → same
    ]
    # Σ|a - p| = 10 + 20 + 10 + 0 = 40; Σ|a| = 500 → 1 - 0.08 = 92%.
    assert wape_accuracy((a, p) for a, p, _ in points) == D(92)
    assert direction_accuracy(points) == D(50)
    assert wape_accuracy([(D(0), D(5))]) is None
    assert direction_accuracy([]) is None
    # Can be negative: errors larger than the actuals.
    assert wape_accuracy([(D(10), D(40))]) == D(-200)
    # Outturn error: |110 - 100| + |180 - 200| over 300.
    assert outturn_error([(D(110), D(100)), (D(180), D(200))]) == D(10)


def test_model_choice_ties_go_to_the_simpler_model():
    flat = series_with([(add_months(START, i), None, D(5)) for i in range(27)])
    run = run_series(flat, Plan(origin=ORIGIN, horizon_end=date(2026, 12, 1)))
    # naive, seasonal naive and drift are all exact: naive is the simplest of them.
    assert run.model == "naive"
    for model in ("naive", "seasonal_naive", "drift"):
        assert all(a == p for _, a, p in run.points[model, 1])
    assert any(a != p for _, a, p in run.points["zero", 1])


def test_model_choice_takes_the_lowest_one_step_error():
    pattern = [
        D(100),
        D(300),
        D(200),
        D(50),
        D(400),
        D(250),
        D(80),
        D(90),
        D(500),
        D(60),
        D(70),
        D(120),
    ]
    repeating = series_with([(add_months(START, i), None, pattern[i % 12]) for i in range(27)])
    run = run_series(repeating, Plan(origin=ORIGIN, horizon_end=date(2026, 12, 1)))
    assert run.model == "seasonal_naive"  # exact; ETS at best ties it
    assert sum(abs(a - p) for _, a, p in run.points["seasonal_naive", 1]) == 0
    # The window: the 12 months up to the origin, with every horizon.
    assert [m for m, _, _ in run.points["naive", 1]] == [
        add_months(ORIGIN, -i) for i in range(11, -1, -1)
    ]
    assert len(run.points["naive", 6]) == 12


def test_outturn_error_rows_per_month_of_the_last_complete_year():
    plan = Plan(origin=ORIGIN, horizon_end=date(2026, 12, 1), outturn_year=2025)
    run = run_series(series_with(BASE), plan)
    assert [origin for origin, _, _ in run.outturn] == [date(2025, m, 1) for m in range(1, 13)]
    actual_2025 = sum(wavy(i) for i in range(12, 24))
    assert all(actual == actual_2025 for _, _, actual in run.outturn)
    assert run.outturn[-1][1] == actual_2025  # at December the year is all known


def test_series_is_hashable_data():
    series = series_with(BASE)
    assert replace(series, key="t").key == "t"
