"""The metrics engine's recomputes and the scorecard measurements it pushes.

:func:`metrics_compute_all` recomputes every stored report of one period
(``metrics.snapshots.period_snapshots_store``) and pushes the success-metric measurements to
the roadmap scorecard (through ``roadmap.services`` only); :func:`metrics_recompute_after_sync`
queues it once a sync commits. The reports are in ``metrics/reports/``, their storage in
``metrics/snapshots.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from finhub.core.calendar import twelve_months_to_date
from finhub.core.money import CENT
from metrics import selectors
from metrics.computations.attribution import DEFAULT_HALF_LIFE, DEFAULT_LOOKBACK, MODELS
from metrics.params import GROUP_BY_CAMPAIGN, MetricsError, check_period
from metrics.reports.attribution import AttributionContext
from metrics.reports.cac import SCORECARD_METRICS, last_complete_month
from metrics.reports.erp import erp_checks
from metrics.reports.numbers import money, num, percent, ratio, to_number
from metrics.snapshots import Kind, period_snapshots_store

__all__ = [
    "MetricsError",
    "latest_complete_month",
    "metrics_compute_all",
    "metrics_recompute_after_sync",
    "revenue_attribution_accuracy",
]

logger = logging.getLogger(__name__)


def metrics_compute_all(
    *,
    models: Sequence[str] = MODELS,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lookback_days: int = DEFAULT_LOOKBACK.days,
    half_life_days: int = DEFAULT_HALF_LIFE.days,
    push_measurements: bool = True,
) -> dict:
    """Recompute every snapshot for one period (default: the 12 full months before this one
    and this month to date) and push the success-metric measurements. Attribution inputs are
    read once for all models."""
    default_start, default_end = twelve_months_to_date(timezone.localdate())
    start, end = start or default_start, end or default_end
    check_period(start, end)
    context = AttributionContext.read(start=start, end=end, lookback_days=lookback_days)
    stored = period_snapshots_store(context, models=models, half_life_days=half_life_days)
    capability = consistency = None
    unit_economics = None
    for snapshot in stored:
        if snapshot.kind == Kind.CAMPAIGN_ROI and snapshot.group_by == GROUP_BY_CAMPAIGN:
            capability = snapshot.result["tracking_capability_percent"]  # the last model's
        elif snapshot.kind == Kind.SALES:
            consistency = snapshot.result["sales_finance_consistency_percent"]
        elif snapshot.kind == Kind.CAC:
            unit_economics = latest_complete_month(snapshot.result["months"])
    accuracy = revenue_attribution_accuracy(context)
    pushed = []
    if push_measurements:
        note = f"{start.isoformat()}..{end.isoformat()}"
        for key, value, source in (
            ("revenue_attribution_accuracy", accuracy["value"], "auto:metrics.attribution"),
            (
                "campaign_roi_tracking_capability",
                to_number(capability),
                "auto:metrics.campaign_roi",
            ),
            ("sales_finance_consistency", to_number(consistency), "auto:metrics.sales"),
        ):
            if _measure(key, value, source, note):
                pushed.append(key)
        if unit_economics is not None:
            # The last complete month's (docs/metrics.md, "Scorecard unit economics").
            month_note = f"month {unit_economics['month'][:7]}"
            for key, field in SCORECARD_METRICS:
                value = to_number(unit_economics.get(field))
                if _measure(key, value, "auto:metrics.cac", month_note):
                    pushed.append(key)
    return {
        "start": start,
        "end": end,
        "snapshots": len(stored),
        "revenue_attribution_accuracy": accuracy["accuracy_percent"],
        "campaign_roi_tracking_capability": capability,
        "sales_finance_consistency": consistency,
        "measurements": pushed,
    }


def metrics_recompute_after_sync(*, connector_id: int) -> None:
    """Recompute the metrics once the current transaction (a successful sync) commits."""
    from metrics.tasks import compute_metrics

    transaction.on_commit(lambda: compute_metrics.delay(connector_id=connector_id))


# --- scorecard measurements ----------------------------------------------------------------


def revenue_attribution_accuracy(context: AttributionContext) -> dict:
    """Share of won revenue that is matched to ERP revenue (linked invoices within the sales
    tolerance) *and* attributed to at least one touchpoint (an eligible touchpoint exists)."""
    attributed = {conversion.conversion_id for conversion, _c, _t in context.journeys.attributed}
    rows = selectors.won_deals(start=context.start, end=context.end)
    values = context.inputs.deals
    checks = erp_checks(
        [
            (pk, amount, currency, values.get(pk, (None, None))[1])
            for pk, *_x, amount, currency in rows
        ],
        start=context.start,
        end=context.end,
    )
    total = matched = Decimal(0)
    for pk, (_external_id, value) in values.items():
        total += value
        if pk in attributed and checks[pk].ok:
            matched += value
    share = ratio(matched, total)
    return {
        "won_revenue": money(total),
        "matched_and_attributed_revenue": money(matched),
        "accuracy_percent": num(percent(share)),
        "value": percent(share),
    }


def latest_complete_month(months: list[dict], today: dt.date | None = None) -> dict | None:
    """The last month before the current one whose blended CAC is defined."""
    return last_complete_month(months, today or timezone.localdate())


def _measure(metric_key: str, value: Decimal | int | None, source: str, note: str) -> bool:
    """Push a success-metric measurement to the roadmap scorecard (skipped when undefined)."""
    from roadmap.services import MeasurementError, measurement_record

    if value is None:
        return False
    try:
        measurement_record(
            metric_key=metric_key,
            value=Decimal(value).quantize(CENT),
            source=source,
            note=note,
        )
    except MeasurementError as exc:
        logger.warning("measurement %s not recorded: %s", metric_key, exc)
        return False
    return True
