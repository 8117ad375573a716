"""Snapshot reads for dashboards: many snapshots in one query, and the warm-up service.

Pages never recompute what is stored: :func:`snapshots_get` reads every snapshot a page
needs in ONE query (``kind, params_hash`` is unique and indexed) and only computes (and
stores, via ``metrics.services.snapshot_get_or_compute``) the ones that do not exist yet;
missing attribution / campaign ROI snapshots of one period share one read of the inputs.
:func:`dashboard_snapshots_warm` precomputes the periods the dashboards open on (year to
date, this and last month and quarter), so the first visit of the day is fast too; it runs
after the nightly/after-sync recompute.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Max
from django.utils import timezone

from metrics import models as m
from metrics import services
from metrics.computations.attribution import GROUP_BY_CHANNEL, LINEAR, MODELS
from metrics.dashboards.period import (
    Period,
    default_period,
    month_period,
)

logger = logging.getLogger(__name__)
Kind = m.MetricSnapshot.Kind
#: (kind, params) computed by the metrics engine, or (kind, params, compute) for a
#: dashboard-only grouping whose ``compute(params) -> (result, freshness)`` lives here.
Request = tuple


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


def budget_request(period: Period, group_by: str = "department") -> Request:
    return Kind.BUDGET_VARIANCE, services.budget_params(
        start=period.start, end=period.end, group_by=group_by
    )


def attribution_request(
    period: Period, *, model: str | None = None, group_by: str = GROUP_BY_CHANNEL, roi=False
) -> Request:
    params = services.attribution_params(
        model=model or default_attribution_model(),
        group_by=group_by,
        start=period.start,
        end=period.end,
    )
    return (Kind.CAMPAIGN_ROI if roi else Kind.ATTRIBUTION), params


def period_request(kind: str, period: Period) -> Request:
    """CAC or sales snapshot of the period."""
    return kind, services.period_params(start=period.start, end=period.end)


def _attribution_batch(missing: Sequence[Request]) -> dict[tuple[str, str], m.MetricSnapshot]:
    """Compute and store missing attribution / campaign ROI snapshots that share a period and
    lookback with ONE read of the inputs (the marketing page's model comparison needs all
    seven models: computing them one by one would read every touchpoint seven times). Uses
    the engine's own report builders, as ``services.metrics_compute_all`` does."""
    groups: dict[tuple, list[Request]] = {}
    for kind, params, *compute in missing:
        if kind in (Kind.ATTRIBUTION, Kind.CAMPAIGN_ROI) and not compute:
            key = (params["start"], params["end"], params["lookback_days"])
            groups.setdefault(key, []).append((kind, params))
    stored: dict[tuple[str, str], m.MetricSnapshot] = {}
    for (start, end, lookback_days), batch in groups.items():
        if len(batch) < 2:
            continue  # snapshot_get_or_compute does exactly this for one
        context = services.attribution_context(
            start=dt.date.fromisoformat(start),
            end=dt.date.fromisoformat(end),
            lookback=dt.timedelta(days=lookback_days),
        )
        roi_freshness = None
        for kind, params in batch:
            result = services._attribute(context, params)
            if kind == Kind.CAMPAIGN_ROI:
                if roi_freshness is None:
                    roi_freshness = max(
                        filter(
                            None,
                            (context.freshness, services.selectors.freshness(m.CampaignSpend)),
                        ),
                        default=None,
                    )
                report, freshness = services._roi_report(result, context), roi_freshness
            else:
                report = services._attribution_report(result, context)
                freshness = context.freshness
            snapshot = services.snapshot_store(
                kind=kind, params=params, result=report, inputs_freshness=freshness
            )
            stored[kind, services.params_hash(params)] = snapshot
    return stored


def department_account_request(period: Period) -> Request:
    from metrics.dashboards import selectors as dash_selectors

    return (
        Kind.BUDGET_VARIANCE,
        dash_selectors.department_account_params(period),
        dash_selectors.department_account_compute,
    )


def snapshots_get(requests: Sequence[Request]) -> list[m.MetricSnapshot]:
    """The snapshots for ``requests`` (in order) in one query; a missing one is computed and
    stored on demand (slow once, then read)."""
    keys = [(request[0], services.params_hash(request[1])) for request in requests]
    found = {
        (s.kind, s.params_hash): s
        for s in m.MetricSnapshot.objects.filter(
            kind__in={k for k, _h in keys}, params_hash__in={h for _k, h in keys}
        )
    }
    missing = [request for request, key in zip(requests, keys, strict=True) if key not in found]
    found.update(_attribution_batch(missing))
    out = []
    for request, key in zip(requests, keys, strict=True):
        snapshot = found.get(key)
        if snapshot is None:
            snapshot = _compute(request)
            found[key] = snapshot
        out.append(snapshot)
    return out


def _compute(request: Request) -> m.MetricSnapshot:
    kind, params, *compute = request
    if not compute:
        return services.snapshot_get_or_compute(kind=kind, params=params)
    result, freshness = compute[0](params)
    return services.snapshot_store(
        kind=kind, params=params, result=result, inputs_freshness=freshness
    )


def data_changed_since(snapshots: Sequence[m.MetricSnapshot]):
    """When data was last written (the latest ingest batch: sync, API, import, admin) if
    that is after the oldest of ``snapshots`` was computed — the page then says its figures
    predate the change — else None. One small query."""
    if not snapshots:
        return None
    latest = m.IngestBatch.objects.filter(dry_run=False).aggregate(latest=Max("started_at"))[
        "latest"
    ]
    oldest = min(s.computed_at for s in snapshots)
    return latest if latest is not None and latest > oldest else None


def warm_periods(today: dt.date | None = None) -> list[Period]:
    """The periods dashboards open on or are one click away from."""
    today = today or timezone.localdate()
    month = month_period(today)
    quarter = default_period("quarter", today)
    periods = [default_period("ytd", today), month, month.prior(), quarter, quarter.prior()]
    return list(dict.fromkeys(periods))


def trend_months(period: Period) -> list[Period]:
    """The months of the executive trend: the 12 months ending with the period's last month."""
    last = month_period(period.end)
    return [last.shifted(-i) for i in range(11, -1, -1)]


def dashboard_snapshots_warm(
    *, today: dt.date | None = None, models: Sequence[str] = MODELS
) -> dict:
    """Recompute the snapshots of the dashboards' usual periods: everything for each warm
    period (all attribution models — the marketing page compares them), and the budget
    variance of its prior period, the same period last year and the 12 trend months."""
    started = timezone.now()
    periods = warm_periods(today)
    stored = 0
    for period in periods:
        summary = services.metrics_compute_all(
            models=models, start=period.start, end=period.end, push_measurements=False
        )
        stored += summary["snapshots"]
        _compute(department_account_request(period))
        stored += 1
    extra: list[Period] = []
    for period in periods:
        extra += [period.prior(), period.last_year(), *trend_months(period)]
    done = set(periods)
    for period in dict.fromkeys(extra):
        if period in done:
            continue
        done.add(period)
        kind, params = budget_request(period, "department")
        result, freshness = services.COMPUTERS[kind](params)
        services.snapshot_store(kind=kind, params=params, result=result, inputs_freshness=freshness)
        stored += 1
    seconds = (timezone.now() - started).total_seconds()
    logger.info("dashboard snapshots warmed: %s in %.1fs", stored, seconds)
    return {"periods": len(done), "snapshots": stored, "seconds": round(seconds, 1)}
