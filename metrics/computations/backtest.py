"""Leak-free histories, the rolling-origin backtest and the model choice of one series, and the
accuracy measures over many (docs/metrics.md, "Forecasts and prediction accuracy").

The forecast of month m from origin o uses the history as it stood at o's end
(:func:`history_as_of`): months up to o, each counting only the amounts that had arrived by
then. Accuracy at horizon h over a window W = 1 - Σ|actual - predicted| / Σ|actual| (WAPE),
in %; direction accuracy = share of points where predicted and actual are on the same side of
the budget. Each series keeps the model with the lowest Σ|actual - predicted| at h = 1 over
W, ties to the simpler.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from finhub.core.calendar import add_months
from metrics.computations.forecast_models import (
    BASELINES,
    ETS,
    MIN_MONTHS,
    MODELS,
    SEASONAL_NAIVE,
    ZERO,
    ZERO_MODEL,
    ModelFailed,
    Path,
    WarmStart,
    forecast_path,
    month_index,
    point_forecast,
    usable,
)
from metrics.computations.presentation import ratio

HUNDRED = Decimal(100)
CENT_PERCENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Series:
    """One (account, department) series: ``entries`` are ``(month, arrival month or None,
    amount)`` (None: arrival unknown, counted as known from the start); ``budget`` per month.
    ``group`` is the account type."""

    key: str
    group: str
    first_month: date
    entries: tuple[tuple[date, date | None, Decimal], ...]
    budget: Mapping[date, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """What to compute for every series: the forecast from ``origin`` to ``horizon_end``, the
    backtest over the ``window`` months ending at ``origin`` at ``horizons``, and the full-year
    outturn error at each month of ``outturn_year`` (None: no complete year in the data)."""

    origin: date
    horizon_end: date
    window: int = 12
    horizons: tuple[int, ...] = (1, 3, 6)
    outturn_year: int | None = None

    @property
    def window_months(self) -> list[date]:
        return [add_months(self.origin, -i) for i in range(self.window - 1, -1, -1)]


#: One backtest point: (target month, actual, predicted).
Point = tuple[date, Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class SeriesRun:
    """A series' forecast, chosen model and backtest points."""

    key: str
    group: str
    model: str
    fallback: str
    history: tuple[Decimal, ...]  # the final actuals, first_month … origin
    path: Path
    #: (model, horizon) → points, for every candidate model.
    points: dict[tuple[str, int], list[Point]]
    #: (origin, predicted full-year outturn, actual full year) per month of the outturn year.
    outturn: list[tuple[date, Decimal, Decimal]]


def history_as_of(series: Series, origin: date, *, known_now: bool = False) -> list[Decimal]:
    """The series as it stood at ``origin``'s end: the months ``first_month`` … ``origin``
    (0 where nothing), each counting only amounts whose arrival is unknown or ≤ ``origin``;
    with ``known_now`` every amount counts (the latest origin's forecast is made today and
    sees the lines stored since its month closed)."""
    first = month_index(series.first_month)
    length = month_index(origin) - first + 1
    if length <= 0:
        return []
    values = [ZERO] * length
    for month, arrival, amount in series.entries:
        position = month_index(month) - first
        if 0 <= position < length and (known_now or arrival is None or arrival <= origin):
            values[position] += amount
    return values


def candidates(history: Sequence[Decimal]) -> tuple[list[str], str]:
    """The models a series may use given its history at the forecast origin, and why the
    more complex ones are left out ("" when none is)."""
    n = len(history)
    if not any(history):
        reason = "no ledger amounts yet" if n == 0 else f"all {n} months are zero"
        return [ZERO_MODEL], f"{reason}: forecast as zero"
    models = [model for model in MODELS if usable(model, history)]
    zeros = sum(1 for value in history if value == 0)
    reasons = []
    if n < MIN_MONTHS[ETS]:
        reasons.append(f"{n} months of history: too short for ETS (needs {MIN_MONTHS[ETS]})")
    elif zeros * 2 > n:
        models.remove(ETS)
        reasons.append(f"{zeros} of {n} months are zero: too sparse for ETS")
    if n < MIN_MONTHS[SEASONAL_NAIVE]:
        reasons.append(f"too short for a seasonal model (needs {MIN_MONTHS[SEASONAL_NAIVE]})")
    return models, "; ".join(reasons)


def _usable_at(model: str, history: Sequence[Decimal]) -> str:
    """``model``, or the next simpler one usable on this (shorter) history."""
    for candidate in reversed(MODELS[: MODELS.index(model) + 1]):
        if usable(candidate, history):
            return candidate
    return ZERO_MODEL


def _points(
    model: str, history: Sequence[Decimal], steps: int, warm: WarmStart | None = None
) -> list[Decimal]:
    """Point forecasts; a model not usable on this history, or an ETS that fails, forecasts
    as the next simpler usable model."""
    model = _usable_at(model, history)
    while True:
        try:
            return point_forecast(model, history, steps, warm)
        except ModelFailed:
            model = _usable_at(MODELS[MODELS.index(model) - 1], history)


def run_series(series: Series, plan: Plan) -> SeriesRun:
    """Backtest every candidate model, choose one, forecast with it (one fit per origin
    serves all horizons)."""
    # The actuals as known today: what the forecast continues and the backtest scores against.
    final = history_as_of(series, plan.origin, known_now=True)
    models, fallback = candidates(final)
    window = plan.window_months
    first = series.first_month
    outturn_origins = (
        [date(plan.outturn_year, month, 1) for month in range(1, 13)]
        if plan.outturn_year is not None
        else []
    )
    year_end = date(plan.outturn_year, 12, 1) if plan.outturn_year is not None else None

    # origin → steps needed: the backtest targets, and (for those origins) the year end.
    steps: dict[date, int] = {}
    for month in window:
        for h in plan.horizons:
            origin = add_months(month, -h)
            if origin >= first:
                steps[origin] = max(steps.get(origin, 0), h)
    for origin in outturn_origins:
        if origin in steps and year_end is not None:
            steps[origin] = max(steps[origin], _months_after(origin, year_end))

    actual_of = {
        month: final[month_index(month) - month_index(first)] for month in window if month >= first
    }
    paths: dict[tuple[str, date], list[Decimal]] = {}
    warm: WarmStart = {}
    histories: dict[date, list[Decimal]] = {}
    points: dict[tuple[str, int], list[Point]] = {(m, h): [] for m in models for h in plan.horizons}
    for origin in sorted(steps):
        history = histories[origin] = history_as_of(series, origin)
        for model in models:
            predicted = paths[model, origin] = _points(model, history, steps[origin], warm)
            for h in plan.horizons:
                target = add_months(origin, h)
                if h <= len(predicted) and target in actual_of:
                    points[model, h].append((target, actual_of[target], predicted[h - 1]))

    def error(model: str) -> Decimal:
        return sum((abs(a - p) for _, a, p in points[model, 1]), ZERO)

    scores = {model: error(model) for model in models}
    chosen = min(models, key=lambda model: (scores[model], MODELS.index(model)))
    if not any(points[model, 1] for model in models) and len(models) > 1:
        # Nothing to backtest on (the history starts at the origin): every score is 0, so
        # take the simplest model that continues the data rather than forecasting zero.
        chosen = next(model for model in models if model != ZERO_MODEL)
        note = "no month to backtest on: the simplest model"
        fallback = f"{fallback}; {note}" if fallback else note

    horizon = _months_after(plan.origin, plan.horizon_end)
    path, note = _final_path(chosen, final, horizon, scores, warm)
    if note:
        chosen, fallback = path.model, note
    outturn = []
    outturn_warm: WarmStart = {}  # its own chain: these origins come before the others
    if year_end is not None:
        actual_year = _year_total(final, first, plan.outturn_year or 0, upto=year_end)
        for origin in outturn_origins:
            as_of = histories.get(origin)
            if as_of is None:
                as_of = history_as_of(series, origin)
            cached = paths.get((chosen, origin))
            remaining = _months_after(origin, year_end)
            forecast = (
                cached[:remaining]
                if cached is not None and len(cached) >= remaining
                else _points(chosen, as_of, remaining, outturn_warm)
            )
            known = _year_total(as_of, first, plan.outturn_year or 0, upto=origin)
            outturn.append((origin, known + sum(forecast, ZERO), actual_year))
    return SeriesRun(
        key=series.key,
        group=series.group,
        model=chosen,
        fallback=fallback,
        history=tuple(final),
        path=path,
        points=points,
        outturn=outturn,
    )


def _final_path(
    model: str,
    history: Sequence[Decimal],
    steps: int,
    scores: Mapping[str, Decimal],
    warm: WarmStart,
) -> tuple[Path, str]:
    """The chosen model's path with intervals; when ETS fails, the best baseline's, and why."""
    try:
        return forecast_path(model, history, steps, warm), ""
    except ModelFailed as failure:
        baselines = [m for m in BASELINES if m in scores and usable(m, history)]
        best = min(baselines, key=lambda m: (scores[m], MODELS.index(m)))
        return forecast_path(best, history, steps), f"{failure}: using the best baseline ({best})"


def _months_after(origin: date, end: date) -> int:
    return max(0, month_index(end) - month_index(origin))


def _year_total(values: Sequence[Decimal], first: date, year: int, *, upto: date) -> Decimal:
    """Σ of ``values`` (months from ``first``) in ``year`` up to ``upto``."""
    low = max(month_index(date(year, 1, 1)), month_index(first))
    high = min(month_index(upto), month_index(first) + len(values) - 1)
    base = month_index(first)
    return sum((values[i - base] for i in range(low, high + 1)), ZERO)


# --- accuracy measures -------------------------------------------------------------------


def wape_accuracy(points: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """1 - Σ|actual - predicted| / Σ|actual| in %, from ``(actual, predicted)`` pairs; None
    (undefined) when Σ|actual| = 0."""
    errors = actuals = ZERO
    for actual, predicted in points:
        errors += abs(actual - predicted)
        actuals += abs(actual)
    share = ratio(errors, actuals)
    return None if share is None else (1 - share) * HUNDRED


def direction_accuracy(points: Iterable[tuple[Decimal, Decimal, Decimal]]) -> Decimal | None:
    """Share in % of ``(actual, predicted, budget)`` points where predicted - budget and
    actual - budget have the same sign (over, under or on budget); None without points."""
    same = total = 0
    for actual, predicted, budget in points:
        total += 1
        same += _sign(predicted - budget) == _sign(actual - budget)
    share = ratio(same, total)
    return None if share is None else share * HUNDRED


def outturn_error(rows: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Σ|predicted outturn - actual full year| / Σ|actual full year| in %, from
    ``(predicted, actual)`` per series; None when Σ|actual| = 0."""
    errors = actuals = ZERO
    for predicted, actual in rows:
        errors += abs(predicted - actual)
        actuals += abs(actual)
    share = ratio(errors, actuals)
    return None if share is None else share * HUNDRED


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)
