"""The forecasting models of one monthly series (docs/metrics.md, "Forecasts and prediction
accuracy"), simplest first: ``zero``, ``naive``, ``seasonal_naive``, ``drift``, ``ets``.

A model takes the history (Decimal amounts of consecutive months, oldest first) and a number
of steps, and returns a :class:`Path`: a point forecast per step and the standard deviation
of its error. The baselines are plain Decimal arithmetic (no pandas: they run thousands of
times in a backtest); only the ETS fit uses floats, converted back to Decimal at the
boundary. Intervals: the baselines' by the standard formulas from the residual sigma, ETS's
analytic ones from statsmodels.
"""

from __future__ import annotations

import ctypes
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finhub.core.money import present_money

ZERO = Decimal(0)
SEASON = 12

ZERO_MODEL = "zero"
NAIVE = "naive"
SEASONAL_NAIVE = "seasonal_naive"
DRIFT = "drift"
ETS = "ets"
#: Simplest first: a tie in the backtest goes to the earlier one.
MODELS = (ZERO_MODEL, NAIVE, SEASONAL_NAIVE, DRIFT, ETS)
BASELINES = MODELS[:-1]
MODEL_LABELS = {
    ZERO_MODEL: "Zero (no data)",
    NAIVE: "Naive (last month)",
    SEASONAL_NAIVE: "Seasonal naive (same month last year)",
    DRIFT: "Drift (last month + mean change)",
    ETS: "ETS (additive, damped trend)",
}
ETS_SEASONAL_LABEL = "ETS (additive, damped trend, seasonal)"

#: Months of history each model needs (ETS: the heuristic initialisation needs 10
#: observations, and two full years for the seasonal variant).
MIN_MONTHS = {ZERO_MODEL: 0, NAIVE: 1, SEASONAL_NAIVE: SEASON, DRIFT: 2, ETS: 10}
ETS_SEASONAL_MONTHS = 2 * SEASON

#: Standard normal quantiles of the two-sided 80% and 95% intervals.
Z80 = Decimal("1.2815515655446004")
Z95 = Decimal("1.959963984540054")


@dataclass(frozen=True, slots=True)
class Path:
    """A forecast of ``len(points)`` months after the origin: points and error sigma per step
    (money, unrounded sigma), with the 80% and 95% bounds per step."""

    model: str
    points: tuple[Decimal, ...]
    sigmas: tuple[Decimal, ...]
    lower80: tuple[Decimal, ...]
    upper80: tuple[Decimal, ...]
    lower95: tuple[Decimal, ...]
    upper95: tuple[Decimal, ...]
    seasonal: bool = False

    @property
    def label(self) -> str:
        return (
            ETS_SEASONAL_LABEL if self.model == ETS and self.seasonal else MODEL_LABELS[self.model]
        )


class ModelFailed(ArithmeticError):
    """ETS did not fit or gave non-finite values: the caller falls back to a baseline."""


def usable(model: str, history: Sequence[Decimal]) -> bool:
    """Whether ``model`` can forecast from ``history`` (enough months; the zero model always)."""
    return len(history) >= MIN_MONTHS[model]


#: The last ETS parameters fitted on a series, per variant (seasonal or not): the next
#: (later) origin of the same series starts its fit from them, which takes about a third
#: fewer likelihood evaluations (measured). Only earlier origins feed later ones, so an
#: origin's forecast still depends on nothing after it.
WarmStart = dict[bool, object]


def point_forecast(
    model: str, history: Sequence[Decimal], steps: int, warm: WarmStart | None = None
) -> list[Decimal]:
    """The point forecasts (rounded to cents) of ``steps`` months after the history.

    Raises :class:`ModelFailed` when ETS cannot fit; callers check :func:`usable` first."""
    if steps <= 0:
        return []
    if model == ETS:
        return [present_money(v) for v in _ets(history, steps, intervals=False, warm=warm)[0]]
    return [present_money(v) for v in _baseline_points(model, history, steps)]


def forecast_path(
    model: str, history: Sequence[Decimal], steps: int, warm: WarmStart | None = None
) -> Path:
    """Points, sigma and 80%/95% intervals of ``steps`` months (money rounded to cents)."""
    if model == ETS:
        points, sigmas, bounds = _ets(history, steps, intervals=True, warm=warm)
        seasonal = len(history) >= ETS_SEASONAL_MONTHS
        lower80, upper80, lower95, upper95 = bounds
    else:
        points = _baseline_points(model, history, steps)
        sigmas = _baseline_sigmas(model, history, steps)
        seasonal = model == SEASONAL_NAIVE
        lower80 = [p - Z80 * s for p, s in zip(points, sigmas, strict=True)]
        upper80 = [p + Z80 * s for p, s in zip(points, sigmas, strict=True)]
        lower95 = [p - Z95 * s for p, s in zip(points, sigmas, strict=True)]
        upper95 = [p + Z95 * s for p, s in zip(points, sigmas, strict=True)]

    def cents(values: Sequence[Decimal]) -> tuple[Decimal, ...]:
        return tuple(present_money(v) for v in values)

    return Path(
        model=model,
        points=cents(points),
        sigmas=tuple(sigmas),
        lower80=cents(lower80),
        upper80=cents(upper80),
        lower95=cents(lower95),
        upper95=cents(upper95),
        seasonal=seasonal,
    )


# --- baselines (Decimal) -----------------------------------------------------------------


def _baseline_points(model: str, y: Sequence[Decimal], steps: int) -> list[Decimal]:
    if model == ZERO_MODEL or not y:
        return [ZERO] * steps
    last = y[-1]
    if model == NAIVE:
        return [last] * steps
    if model == SEASONAL_NAIVE:
        n = len(y)
        return [y[n - SEASON + (h - 1) % SEASON] for h in range(1, steps + 1)]
    if model == DRIFT:
        slope = (last - y[0]) / (len(y) - 1)
        return [last + h * slope for h in range(1, steps + 1)]
    raise ValueError(f"unknown model {model!r}")


def _baseline_sigmas(model: str, y: Sequence[Decimal], steps: int) -> list[Decimal]:
    """sigma_h from the residual sigma of the one-step fit: naive sigma√h, seasonal naive
    sigma√(⌊(h-1)/12⌋+1), drift sigma√(h(1+h/T)); zero (and too few residuals) sigma = 0."""
    n = len(y)
    if model == ZERO_MODEL or n < 2:
        return [ZERO] * steps
    if model == NAIVE:
        residuals = [y[t] - y[t - 1] for t in range(1, n)]
        sigma = _rms(residuals, len(residuals))
        return [sigma * Decimal(h).sqrt() for h in range(1, steps + 1)]
    if model == SEASONAL_NAIVE:
        residuals = [y[t] - y[t - SEASON] for t in range(SEASON, n)]
        sigma = _rms(residuals, len(residuals))
        return [sigma * Decimal((h - 1) // SEASON + 1).sqrt() for h in range(1, steps + 1)]
    if model == DRIFT:
        slope = (y[-1] - y[0]) / (n - 1)
        residuals = [y[t] - y[t - 1] - slope for t in range(1, n)]
        sigma = _rms(residuals, len(residuals) - 1)  # one parameter (the slope) estimated
        return [sigma * (h * (1 + Decimal(h) / n)).sqrt() for h in range(1, steps + 1)]
    raise ValueError(f"unknown model {model!r}")


def _rms(residuals: Sequence[Decimal], dof: int) -> Decimal:
    if dof <= 0:
        return ZERO
    return (sum((r * r for r in residuals), ZERO) / dof).sqrt()


# --- ETS (statsmodels, floats inside) ----------------------------------------------------


def _ets(
    history: Sequence[Decimal], steps: int, *, intervals: bool, warm: WarmStart | None
) -> tuple[list[Decimal], list[Decimal], tuple[list[Decimal], ...]]:
    """ETS with additive error and damped additive trend, plus additive seasonality (period
    12) from two years of history; the heuristic initialisation (the estimated one costs
    20-60x the time). Returns points, sigma per step and (lower80, upper80, lower95, upper95)."""
    import numpy as np
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    n = len(history)
    seasonal = n >= ETS_SEASONAL_MONTHS
    values: object = [float(v) for v in history]
    if intervals:  # the prediction summary needs a dated (monthly) index; points do not
        index = pd.period_range(start="2000-01", periods=n, freq="M")
        values = pd.Series(values, index=index)
    else:
        values = np.asarray(values)
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")  # convergence chatter; non-finite output is checked
        try:
            model = ETSModel(
                values,
                error="add",
                trend="add",
                damped_trend=True,
                seasonal="add" if seasonal else None,
                seasonal_periods=SEASON if seasonal else None,
                initialization_method="heuristic",
            )
            fitted = model.fit(disp=False, start_params=(warm or {}).get(seasonal))
            if warm is not None:
                warm[seasonal] = fitted.params
            if not intervals:
                mean = [float(v) for v in fitted.forecast(steps)]
                _check_finite(mean)
                return [Decimal(v) for v in mean], [], ()
            prediction = fitted.get_prediction(start=n, end=n + steps - 1)
            frame80 = prediction.summary_frame(alpha=0.2)
            frame95 = prediction.summary_frame(alpha=0.05)
        except ModelFailed:
            raise
        except Exception as error:
            raise ModelFailed(f"ETS failed to fit: {error}") from error
    columns = [
        [float(v) for v in frame80["mean"]],
        [float(v) for v in frame80["pi_lower"]],
        [float(v) for v in frame80["pi_upper"]],
        [float(v) for v in frame95["pi_lower"]],
        [float(v) for v in frame95["pi_upper"]],
    ]
    for column in columns:
        _check_finite(column)
    points, lower80, upper80, lower95, upper95 = ([Decimal(v) for v in c] for c in columns)
    sigmas = [max(ZERO, (u - p) / Z95) for p, u in zip(points, upper95, strict=True)]
    return points, sigmas, (lower80, upper80, lower95, upper95)


def _check_finite(values: Sequence[float]) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ModelFailed("ETS gave non-finite values")


# --- one BLAS thread ---------------------------------------------------------------------

_OPENBLAS: list[ctypes.CDLL] | None = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Fit with a single OpenBLAS thread in the calling thread: the fits are tiny, and
    OpenBLAS's thread hand-offs made them 5-10x slower on a busy 2-CPU machine (measured).
    Best effort (Linux, the OpenBLAS numpy and scipy ship); otherwise a no-op."""
    libraries = _openblas_libraries()
    previous = [library.openblas_set_num_threads_local(1) for library in libraries]
    try:
        yield
    finally:
        for library, count in zip(libraries, previous, strict=True):
            library.openblas_set_num_threads_local(max(int(count), 1))


def _openblas_libraries() -> list[ctypes.CDLL]:
    global _OPENBLAS
    if _OPENBLAS is None:
        import numpy  # noqa: F401 load numpy's and scipy's OpenBLAS before looking
        import scipy.optimize  # noqa: F401

        found: list[ctypes.CDLL] = []
        try:
            with open("/proc/self/maps") as maps:
                paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
        except OSError:
            paths = set()
        for path in sorted(paths):
            try:
                library = ctypes.CDLL(path)
                function = library.openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            function.argtypes, function.restype = [ctypes.c_int], ctypes.c_int
            found.append(library)
        _OPENBLAS = found
    return _OPENBLAS


def month_index(month: date) -> int:
    """Months since year 0: consecutive months differ by 1."""
    return month.year * 12 + month.month - 1
