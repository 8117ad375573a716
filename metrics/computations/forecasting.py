"""Forecasts of actuals and of the budget variance, with backtested accuracy (docs/metrics.md,
"Forecasts and prediction accuracy").

:func:`forecast_all` runs every series (:func:`metrics.computations.backtest.run_series`),
in worker processes when asked. Totals are bottom-up (:func:`add_paths`): their points are
the sums of the series' (so parts add exactly to the whole) and their error variance the sum
of the series' variances (the series' errors taken as independent). :func:`outturn` gives the
full-year outturn with its intervals and the probability that it ends over budget (normal
approximation: closed months are known, the remaining months' sigma² add up).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat

from finhub.core.money import present_money, round_half_up
from metrics.computations.backtest import (
    Plan,
    Series,
    SeriesRun,
    direction_accuracy,
    history_as_of,
    outturn_error,
    run_series,
    wape_accuracy,
)
from metrics.computations.forecast_models import (
    MODEL_LABELS,
    MODELS,
    Z80,
    Z95,
    ZERO,
    Path,
    one_blas_thread,
)

__all__ = [
    "MODELS",
    "MODEL_LABELS",
    "Outturn",
    "Plan",
    "Series",
    "SeriesRun",
    "add_paths",
    "direction_accuracy",
    "forecast_all",
    "history_as_of",
    "outturn",
    "outturn_error",
    "wape_accuracy",
]

#: Series per task handed to a worker: small enough to balance, big enough to amortise.
CHUNKS_PER_PROCESS = 4


def forecast_all(series: Sequence[Series], plan: Plan, *, processes: int = 1) -> list[SeriesRun]:
    """Every series' run, in the order given. With ``processes`` > 1 the series run in a
    process pool in chunks, unless this process is a daemon (a Celery prefork child may not
    start processes); the result is the same either way."""
    if processes > 1 and len(series) > 1 and not multiprocessing.current_process().daemon:
        size = max(1, math.ceil(len(series) / (processes * CHUNKS_PER_PROCESS)))
        chunks = [list(series[i : i + size]) for i in range(0, len(series), size)]
        with ProcessPoolExecutor(max_workers=processes) as pool:
            return [run for done in pool.map(_run_chunk, chunks, repeat(plan)) for run in done]
    return _run_chunk(series, plan)


def _run_chunk(series: Sequence[Series], plan: Plan) -> list[SeriesRun]:
    with one_blas_thread():
        return [run_series(one, plan) for one in series]


def add_paths(parts: Iterable[tuple[int, Path]], steps: int) -> Path:
    """The bottom-up total of ``sign x path`` (sign -1 subtracts, e.g. costs from revenue):
    points add exactly, variances add (independent errors), intervals from the total sigma."""
    points = [ZERO] * steps
    variances = [ZERO] * steps
    for sign, path in parts:
        for step in range(steps):
            points[step] += sign * path.points[step]
            variances[step] += path.sigmas[step] ** 2
    sigmas = [variance.sqrt() for variance in variances]
    return Path(
        model="",
        points=tuple(points),
        sigmas=tuple(sigmas),
        lower80=tuple(present_money(p - Z80 * s) for p, s in zip(points, sigmas, strict=True)),
        upper80=tuple(present_money(p + Z80 * s) for p, s in zip(points, sigmas, strict=True)),
        lower95=tuple(present_money(p - Z95 * s) for p, s in zip(points, sigmas, strict=True)),
        upper95=tuple(present_money(p + Z95 * s) for p, s in zip(points, sigmas, strict=True)),
    )


@dataclass(frozen=True, slots=True)
class Outturn:
    """The predicted full-year outturn, its 80%/95% intervals and P(outturn > budget)."""

    predicted: Decimal
    sigma: Decimal
    lower80: Decimal
    upper80: Decimal
    lower95: Decimal
    upper95: Decimal
    probability_over_budget: Decimal


def outturn(
    *, known: Decimal, points: Sequence[Decimal], sigmas: Sequence[Decimal], budget: Decimal
) -> Outturn:
    """Outturn = ``known`` (the closed months' actuals) + the forecasts of the remaining
    months; sigma² = Σ of their sigma²; P(over budget) = 1 - Φ((budget - outturn) / sigma),
    rounded to 0.01 (with sigma = 0: 1 when the outturn is over budget, else 0)."""
    predicted = known + sum(points, ZERO)
    sigma = sum((s * s for s in sigmas), ZERO).sqrt()
    if sigma == 0:
        probability = Decimal(1 if predicted > budget else 0)
    else:
        z = float((budget - predicted) / sigma)
        probability = Decimal(0.5 * math.erfc(z / math.sqrt(2)))
    return Outturn(
        predicted=present_money(predicted),
        sigma=sigma,
        lower80=present_money(predicted - Z80 * sigma),
        upper80=present_money(predicted + Z80 * sigma),
        lower95=present_money(predicted - Z95 * sigma),
        upper95=present_money(predicted + Z95 * sigma),
        probability_over_budget=round_half_up(probability, 2),
    )
