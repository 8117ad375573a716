"""The canonical parameters of each stored report: what a snapshot is keyed by.

The API's parameter serializers, the engine's recomputes and the dashboards all build
parameters here, so equal requests find the same snapshot (:func:`params_hash`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from metrics.computations.attribution import (
    DEFAULT_HALF_LIFE,
    DEFAULT_LOOKBACK,
    GROUP_BY_CAMPAIGN,
    GROUP_BY_CHANNEL,
    GROUP_BYS,
    LINEAR,
    MODELS,
)
from metrics.selectors import BUDGET_GROUPINGS

__all__ = [
    "BUDGET_GROUP_BYS",
    "DEFAULT_HALF_LIFE",
    "DEFAULT_LOOKBACK",
    "DEPARTMENT_ACCOUNT",
    "GROUP_BYS",
    "GROUP_BY_CAMPAIGN",
    "GROUP_BY_CHANNEL",
    "LINEAR",
    "MAX_PERIOD_DAYS",
    "MODELS",
    "MetricsError",
    "attribution_params",
    "budget_params",
    "check_period",
    "default_attribution_model",
    "params_dates",
    "params_hash",
    "period_params",
    "subscriptions_params",
]

#: The longest period a report may cover: month-by-month reports (CAC, MRR) grow with it.
MAX_PERIOD_DAYS = 3660
#: Budget-vs-actual groupings the API offers; the executive page also reads
#: :data:`DEPARTMENT_ACCOUNT` (department x account, for its department filter).
DEPARTMENT_ACCOUNT = "department_account"
BUDGET_GROUP_BYS = tuple(name for name in BUDGET_GROUPINGS if name != DEPARTMENT_ACCOUNT)


class MetricsError(ValueError):
    """Invalid metric parameters (unknown model or grouping, bad period)."""


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise MetricsError("end must not be before start")


def attribution_params(
    *,
    model: str,
    group_by: str = GROUP_BY_CHANNEL,
    start: dt.date,
    end: dt.date,
    lookback_days: int = DEFAULT_LOOKBACK.days,
    half_life_days: Decimal | int = DEFAULT_HALF_LIFE.days,
) -> dict:
    """Canonical parameters of an attribution or campaign ROI snapshot."""
    if model not in MODELS:
        raise MetricsError(f"unknown model {model!r}")
    if group_by not in GROUP_BYS:
        raise MetricsError(f"unknown group_by {group_by!r}")
    check_period(start, end)
    return {
        "model": model,
        "group_by": group_by,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "lookback_days": int(lookback_days),
        "half_life_days": format(Decimal(half_life_days).normalize(), "f"),
    }


def default_attribution_model() -> str:
    """The attribution model dashboards show by default (``FINHUB_DEFAULT_ATTRIBUTION_MODEL``,
    linear unless set — the API's default too)."""
    model = getattr(settings, "FINHUB_DEFAULT_ATTRIBUTION_MODEL", LINEAR)
    if model not in MODELS:
        raise ImproperlyConfigured(
            f"FINHUB_DEFAULT_ATTRIBUTION_MODEL={model!r} is not a model; use one of "
            f"{', '.join(MODELS)}."
        )
    return model


def period_params(*, start: dt.date, end: dt.date) -> dict:
    """Canonical parameters of a CAC, sales, cohorts, CS ROI or initiative ROI snapshot."""
    check_period(start, end)
    return {"start": start.isoformat(), "end": end.isoformat()}


def subscriptions_params(
    *, start: dt.date, end: dt.date, segment: str | None = None, channel: str | None = None
) -> dict:
    """Canonical parameters of a subscriptions snapshot: the period, optionally narrowed to
    the customers of one segment and / or one acquisition channel (by name; None = all)."""
    return {**period_params(start=start, end=end), "segment": segment, "channel": channel}


def budget_params(
    *, start: dt.date, end: dt.date, group_by: str = "account", budget: int | None = None
) -> dict:
    """Canonical parameters of a budget-vs-actual snapshot (``budget``: a version id, None
    for the current version of each fiscal year)."""
    if group_by not in BUDGET_GROUPINGS:
        raise MetricsError(f"unknown group_by {group_by!r}")
    return {**period_params(start=start, end=end), "group_by": group_by, "budget": budget}


def forecast_params(*, fiscal_year: int, budget: int | None = None) -> dict:
    """Canonical parameters of a forecast snapshot: the fiscal (calendar) year, and the budget
    version compared (None: the year's current version)."""
    start, end = dt.date(fiscal_year, 1, 1), dt.date(fiscal_year, 12, 31)
    return {**period_params(start=start, end=end), "budget": budget}


def params_dates(params: dict) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"])


def params_hash(params: dict) -> str:
    """SHA-256 of the canonical JSON of the parameters (sorted keys, dates as ISO text)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
