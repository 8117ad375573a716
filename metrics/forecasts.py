"""Forecasts of actuals and budget variance (docs/metrics.md, "Forecasts and prediction
accuracy"): when to recompute them, where they are stored, and the scorecard figure.

The forecast of a fiscal year is one snapshot (kind ``forecast``) holding every series'
forecast, the totals and the backtest. Computing it fits and backtests every series, so it
runs in the background only (:func:`forecasts_refresh`, chained after the nightly and
after-sync metric recomputes); pages and the API read the stored row.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.utils import timezone

from finhub.core.calendar import last_closed_month
from metrics import selectors
from metrics.models import MetricSnapshot
from metrics.params import forecast_params, params_hash
from metrics.reports.forecast import model_mix
from metrics.reports.numbers import to_number
from metrics.snapshots import FRESHNESS_SOURCES, Kind, snapshot_compute

__all__ = [
    "SCORECARD_METRIC",
    "forecast_compute",
    "forecast_snapshot",
    "forecasts_refresh",
    "prediction_accuracy_push",
]

logger = logging.getLogger(__name__)

#: The success metric measured from the backtest (h = 1, last 12 closed months).
SCORECARD_METRIC = "budget_variance_prediction_accuracy"


def forecast_snapshot(*, fiscal_year: int, budget: int | None = None) -> MetricSnapshot | None:
    """The stored forecast of ``fiscal_year`` against ``budget`` (None: the current
    version), or None when none has been computed yet. Never computes."""
    params = forecast_params(fiscal_year=fiscal_year, budget=budget)
    stored = MetricSnapshot.objects.filter(kind=Kind.FORECAST, params_hash=params_hash(params))
    return stored.first()


def forecast_compute(*, fiscal_year: int, budget: int | None = None) -> MetricSnapshot:
    """Forecast every series of ``fiscal_year``, backtest them and store the result."""
    return snapshot_compute(
        kind=Kind.FORECAST, params=forecast_params(fiscal_year=fiscal_year, budget=budget)
    )


def _outdated(snapshot: MetricSnapshot | None, today: dt.date) -> str:
    """Why the stored forecast must be recomputed ("" when it is up to date): none yet, a
    month has closed since (its origin moved), or the ledger, budgets, accounts or FX rates
    changed after the inputs it read."""
    if snapshot is None:
        return "none stored"
    origin = snapshot.result.get("origin")
    if origin != last_closed_month(today).isoformat():
        return f"origin {origin} is not the last closed month"
    freshness = selectors.freshness(*FRESHNESS_SOURCES[Kind.FORECAST])
    stored = snapshot.inputs_freshness
    if freshness is not None and (stored is None or freshness > stored):
        return "inputs changed"
    return ""


def forecasts_refresh(*, today: dt.date | None = None, force: bool = False) -> dict:
    """Recompute the current fiscal year's forecast when it is outdated (or ``force``), then
    push the prediction accuracy to the scorecard. Cheap when nothing changed: the nightly
    and every after-sync recompute call it."""
    today = today or timezone.localdate()
    fiscal_year = today.year
    snapshot = forecast_snapshot(fiscal_year=fiscal_year)
    why = "forced" if force else _outdated(snapshot, today)
    if not why:
        return {"fiscal_year": fiscal_year, "computed": False}
    started = timezone.now()
    snapshot = forecast_compute(fiscal_year=fiscal_year)
    seconds = (timezone.now() - started).total_seconds()
    logger.info("forecast FY%s recomputed (%s) in %.1fs", fiscal_year, why, seconds)
    pushed = prediction_accuracy_push(snapshot)
    return {
        "fiscal_year": fiscal_year,
        "computed": True,
        "why": why,
        "seconds": round(seconds, 1),
        "series": snapshot.result.get("series_count"),
        "accuracy_pushed": pushed,
    }


def prediction_accuracy_push(snapshot: MetricSnapshot) -> bool:
    """Push the backtest's accuracy at h = 1 over the last 12 closed months, with the chosen
    models, to the scorecard's budget variance prediction accuracy (skipped when undefined:
    no actuals in the window). The note names the window and the model mix."""
    from metrics.services import measurement_push

    accuracy = snapshot.result.get("accuracy", {})
    value = to_number(accuracy.get("scorecard_accuracy_percent"))
    if value is None:
        return False
    first, last = accuracy.get("window", ["?", "?"])
    mix = ", ".join(f"{model} {count}" for model, count in model_mix(accuracy))
    note = f"h=1 backtest {first[:7]}..{last[:7]}; models: {mix or 'none'}"
    return measurement_push(SCORECARD_METRIC, Decimal(value), "auto:metrics.forecast", note)
