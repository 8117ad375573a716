"""Stored reports: one :class:`MetricSnapshot` per ``(kind, parameters)``.

Every snapshot is written here: :func:`snapshot_compute` (one report) and
:func:`attribution_snapshots_store` (several attribution / campaign ROI reports from one read
of their inputs) compute the report (``metrics.reports``) and replace the row atomically.
Readers — the metrics API and the dashboards — ask :func:`snapshot_get_or_compute` or, for
many at once, :func:`snapshots_get` (one query; only missing ones are computed and stored).

:func:`period_snapshots_store` stores everything the engine keeps for a period (the nightly
and after-sync recompute, ``metrics.services``); :func:`snapshots_warm` does it for the
periods the dashboards open on, so the first visit of the day is fast too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from finhub.core.calendar import (
    QUARTER,
    YTD,
    Period,
    add_months,
    last_closed_month,
    month_of,
    month_period,
    months_between,
    months_ending,
    opening_period,
)
from metrics import selectors
from metrics.computations.sales import DEFAULT_TOLERANCE
from metrics.models import MetricSnapshot
from metrics.params import (
    BUDGET_GROUP_BYS,
    DEFAULT_HALF_LIFE,
    DEFAULT_LOOKBACK,
    DEPARTMENT_ACCOUNT,
    GROUP_BY_CHANNEL,
    GROUP_BYS,
    MODELS,
    attribution_params,
    budget_params,
    default_attribution_model,
    params_dates,
    params_hash,
    period_params,
    subscriptions_params,
)
from metrics.reports.attribution import AttributionContext, attribution_report
from metrics.reports.attribution_days import attribution_days_report
from metrics.reports.budget import budget_report
from metrics.reports.cac import cac_report
from metrics.reports.cohorts import cohorts_report
from metrics.reports.cs_roi import cs_roi_report
from metrics.reports.initiative_roi import initiative_roi_report
from metrics.reports.roi import roi_report
from metrics.reports.sales import sales_report
from metrics.reports.subscriptions import subscription_customers_report, subscriptions_report
from records import models as m

logger = logging.getLogger(__name__)
Kind = MetricSnapshot.Kind
#: What a reader asks for: ``(kind, params)`` with params from ``metrics.params``.
Request = tuple[str, dict]

#: The source tables each kind reads: their latest change is the snapshot's inputs freshness.
FRESHNESS_SOURCES: dict[str, tuple[type, ...]] = {
    Kind.ATTRIBUTION: (m.Deal, m.Touchpoint, m.FxRate, m.Campaign, m.Channel),
    Kind.CAMPAIGN_ROI: (m.Deal, m.Touchpoint, m.FxRate, m.Campaign, m.Channel, m.CampaignSpend),
    Kind.ATTRIBUTION_DAYS: (m.Deal, m.Touchpoint, m.FxRate, m.Campaign, m.Channel),
    Kind.CAC: (m.SubscriptionEvent, m.GLLine, m.CampaignSpend, m.Customer, m.FxRate),
    Kind.SALES: (m.Deal, m.Quota, m.GLLine, m.Invoice, m.FxRate),
    Kind.BUDGET_VARIANCE: (m.GLLine, m.BudgetLine, m.Budget, m.Account, m.FxRate),
    Kind.SUBSCRIPTIONS: (
        m.SubscriptionEvent,
        m.Customer,
        m.GLLine,
        m.CampaignSpend,
        m.Channel,
        m.FxRate,
    ),
    Kind.SUBSCRIPTION_CUSTOMERS: (m.SubscriptionEvent, m.Customer, m.FxRate),
    Kind.COHORTS: (m.SubscriptionEvent, m.Customer, m.FxRate),
    Kind.CS_ROI: (m.SubscriptionEvent, m.Customer, m.GLLine, m.Department, m.FxRate),
    Kind.FORECAST: (m.GLLine, m.BudgetLine, m.Budget, m.Account, m.Department, m.FxRate),
    Kind.INITIATIVE_ROI: (
        m.Initiative,
        m.InitiativeCost,
        m.InitiativeBenefit,
        m.GLLine,
        m.Department,
        m.FxRate,
    ),
}
ATTRIBUTION_REPORTS = {Kind.ATTRIBUTION: attribution_report, Kind.CAMPAIGN_ROI: roi_report}


def _attribution_variant(params: dict) -> dict:
    return {
        "model": params["model"],
        "group_by": params["group_by"],
        "half_life_days": params["half_life_days"],
    }


def _attribution_compute(kind: str) -> Callable[[dict], dict]:
    def compute(params: dict) -> dict:
        start, end = params_dates(params)
        context = AttributionContext.read(
            start=start,
            end=end,
            lookback_days=params["lookback_days"],
            models=(params["model"],),  # not markov: the converting contacts' rows only
        )
        return ATTRIBUTION_REPORTS[kind](context, **_attribution_variant(params))

    return compute


def _attribution_days_compute(params: dict) -> dict:
    start, end = params_dates(params)
    context = AttributionContext.read(
        start=start, end=end, lookback_days=params["lookback_days"], models=(params["model"],)
    )
    return attribution_days_report(context, **_attribution_variant(params))


def _cac_compute(params: dict) -> dict:
    start, end = params_dates(params)
    return cac_report(start=start, end=end)


def _sales_compute(params: dict) -> dict:
    start, end = params_dates(params)
    tolerance = Decimal(params.get("tolerance", str(DEFAULT_TOLERANCE)))
    return sales_report(start=start, end=end, tolerance=tolerance)


def _budget_compute(params: dict) -> dict:
    start, end = params_dates(params)
    return budget_report(
        start=start, end=end, group_by=params["group_by"], budget=params.get("budget")
    )


def _subscriptions_compute(params: dict) -> dict:
    start, end = params_dates(params)
    return subscriptions_report(
        start=start, end=end, segment=params.get("segment"), channel=params.get("channel")
    )


def _subscription_customers_compute(params: dict) -> dict:
    start, end = params_dates(params)
    return subscription_customers_report(
        start=start, end=end, segment=params.get("segment"), channel=params.get("channel")
    )


def _forecast_compute(params: dict) -> dict:
    from metrics.reports.forecast import forecast_report  # statsmodels: imported when used

    start, _end = params_dates(params)
    return forecast_report(
        fiscal_year=start.year,
        budget=params.get("budget"),
        processes=settings.FINHUB_FORECAST_PROCESSES,
    )


def _period_compute(report: Callable[..., dict]) -> Callable[[dict], dict]:
    def compute(params: dict) -> dict:
        start, end = params_dates(params)
        return report(start=start, end=end)

    return compute


#: Kind -> the report computed from a snapshot's parameters.
COMPUTERS: dict[str, Callable[[dict], dict]] = {
    Kind.ATTRIBUTION: _attribution_compute(Kind.ATTRIBUTION),
    Kind.CAMPAIGN_ROI: _attribution_compute(Kind.CAMPAIGN_ROI),
    # Kept over the whole history only: custom periods' attribution is cut from it
    # (metrics.period_cuts).
    Kind.ATTRIBUTION_DAYS: _attribution_days_compute,
    Kind.CAC: _cac_compute,
    Kind.SALES: _sales_compute,
    Kind.BUDGET_VARIANCE: _budget_compute,
    Kind.SUBSCRIPTIONS: _subscriptions_compute,
    # Computed when a movement drill-down (or the API) first asks: too big to keep for every
    # period the engine stores.
    Kind.SUBSCRIPTION_CUSTOMERS: _subscription_customers_compute,
    Kind.COHORTS: _period_compute(cohorts_report),
    Kind.CS_ROI: _period_compute(cs_roi_report),
    Kind.INITIATIVE_ROI: _period_compute(initiative_roi_report),
    # Computed by the forecast task (metrics.forecasts), never on a page view: fitting and
    # backtesting every series takes seconds to a minute.
    Kind.FORECAST: _forecast_compute,
}


# --- writing -------------------------------------------------------------------------------


def snapshot_store(
    *, kind: str, params: dict, result: dict, inputs_freshness: dt.datetime | None
) -> MetricSnapshot:
    """Create or replace the snapshot of ``(kind, params)`` in one transaction."""
    start, end = params_dates(params)
    with transaction.atomic():
        snapshot, _created = MetricSnapshot.objects.update_or_create(
            kind=kind,
            params_hash=params_hash(params),
            defaults={
                "model": params.get("model", ""),
                "group_by": params.get("group_by", ""),
                "period_start": start,
                "period_end": end,
                "params": params,
                "result": result,
                "inputs_freshness": inputs_freshness,
                "computed_at": timezone.now(),
            },
        )
    return snapshot


def snapshot_compute(
    *, kind: str, params: dict, freshness: dict[str, dt.datetime | None] | None = None
) -> MetricSnapshot:
    """Compute the report of ``(kind, params)`` and store it. ``freshness``: the inputs
    freshness per kind read already by the caller's pass (a page's reports: read once per
    kind, filled in here)."""
    result = COMPUTERS[kind](params)
    known: dict[str, dt.datetime | None] = {} if freshness is None else freshness
    if kind not in known:
        known[kind] = selectors.freshness(*FRESHNESS_SOURCES[kind])
    return snapshot_store(kind=kind, params=params, result=result, inputs_freshness=known[kind])


def attribution_snapshots_store(
    context: AttributionContext, requests: Sequence[Request]
) -> dict[tuple[str, str], MetricSnapshot]:
    """Compute and store attribution / campaign ROI snapshots of the context's period and
    lookback from its one read of the inputs; keyed by ``(kind, params_hash)``."""
    freshness: dict[str, dt.datetime | None] = {}
    stored = {}
    for kind, params in requests:
        result = ATTRIBUTION_REPORTS[kind](context, **_attribution_variant(params))
        if kind not in freshness:
            freshness[kind] = selectors.freshness(*FRESHNESS_SOURCES[kind])
        stored[kind, params_hash(params)] = snapshot_store(
            kind=kind, params=params, result=result, inputs_freshness=freshness[kind]
        )
    return stored


def period_requests(
    *,
    start: dt.date,
    end: dt.date,
    lookback_days: int = DEFAULT_LOOKBACK.days,
    models: Sequence[str] = MODELS,
    half_life_days: Decimal | int = DEFAULT_HALF_LIFE.days,
) -> list[Request]:
    """Every snapshot the engine keeps for a period: attribution and campaign ROI per model
    and grouping, CAC, sales, subscriptions (every customer), cohorts, CS ROI, initiative
    ROI and budget vs actual per grouping (attribution first)."""
    requests: list[Request] = []
    for model in models:
        for group_by in GROUP_BYS:
            params = attribution_params(
                model=model,
                group_by=group_by,
                start=start,
                end=end,
                lookback_days=lookback_days,
                half_life_days=half_life_days,
            )
            requests += [(Kind.ATTRIBUTION, params), (Kind.CAMPAIGN_ROI, params)]
    requests += [
        (Kind.CAC, period_params(start=start, end=end)),
        (Kind.SALES, period_params(start=start, end=end)),
        (Kind.SUBSCRIPTIONS, subscriptions_params(start=start, end=end)),
        (Kind.COHORTS, period_params(start=start, end=end)),
        (Kind.CS_ROI, period_params(start=start, end=end)),
        (Kind.INITIATIVE_ROI, period_params(start=start, end=end)),
        *(
            (Kind.BUDGET_VARIANCE, budget_params(start=start, end=end, group_by=group_by))
            for group_by in BUDGET_GROUP_BYS
        ),
    ]
    return requests


def period_snapshots_store(
    context: AttributionContext,
    *,
    models: Sequence[str] = MODELS,
    half_life_days: Decimal | int,
) -> list[MetricSnapshot]:
    """Every snapshot the engine keeps for the context's period (:func:`period_requests`),
    attribution and campaign ROI from the context's one read of their inputs."""
    requests = period_requests(
        start=context.start,
        end=context.end,
        lookback_days=context.lookback_days,
        models=models,
        half_life_days=half_life_days,
    )
    attribution = [(kind, params) for kind, params in requests if kind in ATTRIBUTION_REPORTS]
    stored = list(attribution_snapshots_store(context, attribution).values())
    for kind, params in requests:
        if kind not in ATTRIBUTION_REPORTS:
            stored.append(snapshot_compute(kind=kind, params=params))
    return stored


def snapshots_recompute(requests: Sequence[Request]) -> list[MetricSnapshot]:
    """Compute and store ``requests`` now, whatever is stored: attribution / campaign ROI
    ones sharing a period and lookback from ONE read of their inputs, the others one by
    one (in the order given, after the attribution ones)."""
    batches: dict[tuple, list[Request]] = {}
    others: list[Request] = []
    for kind, params in requests:
        if kind in ATTRIBUTION_REPORTS:
            batch = (params["start"], params["end"], params["lookback_days"])
            batches.setdefault(batch, []).append((kind, params))
        else:
            others.append((kind, params))
    stored = [snapshot_compute(kind=kind, params=params) for kind, params in others]
    for (start, end, lookback_days), batch in batches.items():
        context = AttributionContext.read(
            start=dt.date.fromisoformat(start),
            end=dt.date.fromisoformat(end),
            lookback_days=lookback_days,
        )
        stored += attribution_snapshots_store(context, batch).values()
    return stored


# --- reading -------------------------------------------------------------------------------


def _outdated(snapshot: MetricSnapshot) -> bool:
    """A budget report counts the months closed when it was computed as actuals in its
    outturn: once another month has closed, it is recomputed rather than served."""
    if snapshot.kind != Kind.BUDGET_VARIANCE:
        return False
    closed = last_closed_month(timezone.localdate()).isoformat()
    return snapshot.result.get("closed_through", closed) != closed


def _missing_compute(
    *, kind: str, params: dict, freshness: dict[str, dt.datetime | None] | None = None
) -> MetricSnapshot:
    """A snapshot a reader asked for and nothing stored: cut from a stored report that
    covers it (``metrics.period_cuts``: CAC, subscriptions, cohorts, CS ROI, attribution)
    when one is current, else computed; stored either way."""
    # Imported here: metrics.period_cuts reads the recompute's marks (metrics.incremental,
    # which imports this module).
    from metrics.period_cuts import period_cut

    cut = period_cut(kind, params)
    if cut is None:
        return snapshot_compute(kind=kind, params=params, freshness=freshness)
    result, source_freshness = cut
    return snapshot_store(
        kind=kind, params=params, result=result, inputs_freshness=source_freshness
    )


def snapshot_get_or_compute(*, kind: str, params: dict) -> MetricSnapshot:
    """The stored snapshot for these parameters; computed and stored first if missing (or
    outdated by a month that closed since)."""
    snapshot = MetricSnapshot.objects.filter(kind=kind, params_hash=params_hash(params)).first()
    if snapshot is None or _outdated(snapshot):
        return _missing_compute(kind=kind, params=params)
    return snapshot


def snapshots_get(requests: Sequence[Request]) -> list[MetricSnapshot]:
    """The snapshots for ``requests`` (in order) in one query; a missing one is computed and
    stored on demand (slow once, then read). Missing attribution / campaign ROI snapshots
    that share a period and lookback are computed from ONE read of their inputs (the
    marketing page's model comparison needs every model)."""
    keys = [(kind, params_hash(params)) for kind, params in requests]
    found = {
        (s.kind, s.params_hash): s
        for s in MetricSnapshot.objects.filter(
            kind__in={k for k, _h in keys}, params_hash__in={h for _k, h in keys}
        )
    }
    batches: dict[tuple, list[Request]] = {}
    for (kind, params), key in zip(requests, keys, strict=True):
        if key not in found and kind in ATTRIBUTION_REPORTS:
            batch = (params["start"], params["end"], params["lookback_days"])
            batches.setdefault(batch, []).append((kind, params))
    for (start, end, lookback_days), batch in batches.items():
        if len(batch) > 1:  # one alone: snapshot_compute below reads the same
            context = AttributionContext.read(
                start=dt.date.fromisoformat(start),
                end=dt.date.fromisoformat(end),
                lookback_days=lookback_days,
            )
            found.update(attribution_snapshots_store(context, batch))
    out = []
    freshness: dict[str, dt.datetime | None] = {}  # per kind, read once for the pass
    for (kind, params), key in zip(requests, keys, strict=True):
        if key not in found or _outdated(found[key]):
            found[key] = _missing_compute(kind=kind, params=params, freshness=freshness)
        out.append(found[key])
    return out


def data_changed_since(snapshots: Sequence[MetricSnapshot]) -> dt.datetime | None:
    """When data was last written (the latest ingest batch: sync, API, import, admin) if
    that is after the oldest of ``snapshots`` was computed — a page then says its figures
    predate the change — else None. One small query."""
    if not snapshots:
        return None
    latest = m.IngestBatch.objects.filter(dry_run=False).aggregate(latest=Max("started_at"))[
        "latest"
    ]
    oldest = min(s.computed_at for s in snapshots)
    return latest if latest is not None and latest > oldest else None


# --- requests for a period -------------------------------------------------------------------


def attribution_request(
    period: Period, *, model: str | None = None, group_by: str = GROUP_BY_CHANNEL, roi=False
) -> Request:
    """Attribution (or, ``roi=True``, campaign ROI) of the period; the default model unless
    one is named."""
    params = attribution_params(
        model=model or default_attribution_model(),
        group_by=group_by,
        start=period.start,
        end=period.end,
    )
    return (Kind.CAMPAIGN_ROI if roi else Kind.ATTRIBUTION), params


def budget_request(period: Period, group_by: str = "department") -> Request:
    return Kind.BUDGET_VARIANCE, budget_params(
        start=period.start, end=period.end, group_by=group_by
    )


def period_request(kind: str, period: Period) -> Request:
    """CAC, sales, cohorts, CS ROI or initiative ROI snapshot of the period."""
    return kind, period_params(start=period.start, end=period.end)


def subscriptions_request(
    period: Period, *, segment: str | None = None, channel: str | None = None
) -> Request:
    """Subscriptions snapshot of the period, of every customer or one segment / channel's."""
    return Kind.SUBSCRIPTIONS, subscriptions_params(
        start=period.start, end=period.end, segment=segment, channel=channel
    )


def subscription_customers_request(
    period: Period, *, segment: str | None = None, channel: str | None = None
) -> Request:
    """The customers behind the movements of the period (one month for a month's drill)."""
    return Kind.SUBSCRIPTION_CUSTOMERS, subscriptions_params(
        start=period.start, end=period.end, segment=segment, channel=channel
    )


# --- warming -------------------------------------------------------------------------------


def warm_periods(today: dt.date) -> list[Period]:
    """The periods dashboards open on or are one click away from."""
    month = month_period(today)
    quarter = opening_period(QUARTER, today)
    periods = [opening_period(YTD, today), month, month.prior(), quarter, quarter.prior()]
    return list(dict.fromkeys(periods))


def warm_requests(*, today: dt.date, models: Sequence[str] = MODELS) -> list[Request]:
    """What :func:`snapshots_warm` stores: the whole-history CAC, subscriptions, cohorts and
    CS ROI reports and attribution per close day (``metrics.period_cuts``), everything for each
    warm period with its department x account budget variance, then the budget variance by
    department of their prior periods, the same periods last year and the 12 trend months,
    and of every calendar month from a year before the data to ``today``'s (the executive
    trend of any period reads them; no duplicates)."""
    from metrics.period_cuts import data_first_month, history_requests  # see _missing_compute

    periods = warm_periods(today)
    first = data_first_month()
    # The whole-history reports first: custom periods' are cut from them.
    requests: list[Request] = history_requests(today=today, first=first)
    for period in periods:
        requests += period_requests(start=period.start, end=period.end, models=models)
        requests.append(budget_request(period, DEPARTMENT_ACCOUNT))
    extra: list[Period] = []
    for period in periods:
        extra += [period.prior(), period.last_year(), *months_ending(period.end)]
    if first is not None and first <= today:  # the 12 trend months of any period in the data
        months = months_between(add_months(first, -11), month_of(today))
        extra += [month_period(month) for month in months]
    done = set(periods)
    for period in dict.fromkeys(extra):
        if period not in done:
            done.add(period)
            requests.append(budget_request(period, "department"))
    return requests


def snapshots_warm(*, today: dt.date | None = None, models: Sequence[str] = MODELS) -> dict:
    """Recompute the snapshots of the dashboards' usual periods (:func:`warm_requests`:
    every attribution model — the marketing page compares them — and the budget variances
    the executive page reads), each period's attribution from one read of its inputs."""
    started = timezone.now()
    requests = warm_requests(today=today or timezone.localdate(), models=models)
    stored = snapshots_recompute(requests)
    periods = {(params["start"], params["end"]) for _kind, params in requests}
    seconds = (timezone.now() - started).total_seconds()
    logger.info("dashboard snapshots warmed: %s in %.1fs", len(stored), seconds)
    return {"periods": len(periods), "snapshots": len(stored), "seconds": round(seconds, 1)}
