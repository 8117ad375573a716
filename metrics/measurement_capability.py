"""The campaign ROI measurement capability pushed to the scorecard (docs/metrics.md,
"Campaign ROI measurement capability"): the share of the campaigns with spend in the last
complete month whose ROI is reconciled, under the default attribution model.

Pushed by each engine run (``metrics.services.metrics_compute_all``) through
``roadmap.services`` only. The month's stored campaign ROI report is used unless data was
written since it was computed (then the report is computed afresh, not stored: storing
snapshots is the engine's job); the GL lines, deals and ERP revenue are always read as they
are now.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from finhub.core.calendar import last_closed_month, month_period
from metrics.models import MetricSnapshot
from metrics.params import (
    GROUP_BY_CAMPAIGN,
    attribution_params,
    default_attribution_model,
    params_dates,
    params_hash,
)
from metrics.reports.attribution import AttributionContext
from metrics.reports.roi import roi_report
from metrics.reports.roi_reconciliation import campaign_roi_reconciliation, roi_rows_of
from metrics.snapshots import Kind, data_changed_since

logger = logging.getLogger(__name__)

CAPABILITY_KEY = "campaign_roi_measurement_capability"
CAPABILITY_SOURCE = "auto:metrics.campaign_roi_reconciliation"


def _campaign_roi_rows(params: dict) -> list[dict]:
    """The rows of the campaign ROI report for ``params``: the stored snapshot's while no
    data was written since it was computed, else computed now."""
    stored = MetricSnapshot.objects.filter(
        kind=Kind.CAMPAIGN_ROI, params_hash=params_hash(params)
    ).first()
    if stored is not None and data_changed_since([stored]) is None:
        return stored.result["rows"]
    start, end = params_dates(params)
    context = AttributionContext.read(start=start, end=end, lookback_days=params["lookback_days"])
    report = roi_report(
        context,
        model=params["model"],
        group_by=GROUP_BY_CAMPAIGN,
        half_life_days=params["half_life_days"],
    )
    return report["rows"]


def campaign_roi_measurement_push(
    *, today: dt.date | None = None, model: str | None = None
) -> list[str]:
    """Reconcile the campaigns of the last complete month and push the capability, about
    that month (``period`` ``"YYYY-MM"``), with a note saying how many fail. Returns the
    keys pushed: none when no campaign had spend or the programme has no such metric."""
    from roadmap.services import MeasurementError, measurement_record

    month = month_period(last_closed_month(today or timezone.localdate()))
    model = model or default_attribution_model()
    params = attribution_params(
        model=model, group_by=GROUP_BY_CAMPAIGN, start=month.start, end=month.end
    )
    result = campaign_roi_reconciliation(
        start=month.start,
        end=month.end,
        model=model,
        roi_rows=roi_rows_of(_campaign_roi_rows(params)),
        lookback_days=params["lookback_days"],
        half_life_days=params["half_life_days"],
    )
    value = result.capability_percent
    if value is None:
        return []
    failing = len(result.failing)
    note = (
        f"month {month.start:%Y-%m}, {model} model: {failing} of {result.with_spend} "
        f"campaigns with spend not reconciled"
    )
    if failing:
        note += " (" + ", ".join(campaign.key for campaign in result.failing[:10])
        note += ", …)" if failing > 10 else ")"
    try:
        measurement_record(
            metric_key=CAPABILITY_KEY,
            value=value,
            source=CAPABILITY_SOURCE,
            note=note[:500],
            period=f"{month.start:%Y-%m}",
        )
    except MeasurementError as exc:
        logger.info("measurement %s not recorded: %s", CAPABILITY_KEY, exc)
        return []
    return [CAPABILITY_KEY]
