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
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from finhub.core.calendar import last_closed_month, month_period, twelve_months_to_date
from finhub.core.money import CENT
from metrics import selectors
from metrics.computations.attribution import DEFAULT_HALF_LIFE, DEFAULT_LOOKBACK, MODELS
from metrics.computations.coverage import improvement_pp
from metrics.ledger_aggregates import ledger_aggregates_refresh
from metrics.measurement_capability import campaign_roi_measurement_push
from metrics.models import MetricSnapshot, RecomputeRequest
from metrics.params import (
    GROUP_BY_CAMPAIGN,
    MetricsError,
    check_period,
    params_hash,
    period_params,
)
from metrics.reports.attribution import AttributionContext
from metrics.reports.cac import SCORECARD_METRICS, last_complete_month
from metrics.reports.erp import erp_checks
from metrics.reports.numbers import money, num, percent, ratio, to_number
from metrics.snapshots import Kind, period_requests, period_snapshots_store, snapshot_compute

__all__ = [
    "MetricsError",
    "latest_complete_month",
    "measurement_push",
    "metrics_compute_all",
    "metrics_recompute_after_sync",
    "metrics_recompute_claim",
    "metrics_recompute_request",
    "revenue_attribution_accuracy",
    "scorecard_figures",
    "scorecard_push",
    "scorecard_push_stored",
]

logger = logging.getLogger(__name__)

RECOMPUTE_ROW = 1  # RecomputeRequest is a single row


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
    # Every month's ledger pre-aggregates rebuilt: the safety net for writes that marked
    # nothing (the budget reports below read them).
    ledger = ledger_aggregates_refresh(full=True)
    context = AttributionContext.read(start=start, end=end, lookback_days=lookback_days)
    stored = period_snapshots_store(context, models=models, half_life_days=half_life_days)
    figures = scorecard_figures(stored, context)
    pushed = scorecard_push(start=start, end=end, figures=figures) if push_measurements else []
    return {
        "start": start,
        "end": end,
        "snapshots": len(stored),
        "revenue_attribution_accuracy": figures.accuracy["accuracy_percent"],
        "campaign_roi_tracking_capability": figures.capability,
        "sales_finance_consistency": figures.consistency,
        "measurements": pushed,
        "ledger_months_rebuilt": ledger["months"],
    }


@dataclass(frozen=True)
class ScorecardFigures:
    """What the scorecard takes from one period's reports (``accuracy`` None: not
    measured this time, so not pushed)."""

    capability: object = None
    consistency: object = None
    unit_economics: dict | None = None
    accuracy: dict | None = None


def scorecard_figures(
    stored: Sequence[MetricSnapshot], context: AttributionContext | None
) -> ScorecardFigures:
    """The scorecard's figures from a period's snapshots (and, with the period's attribution
    context, the revenue attribution accuracy)."""
    capability = consistency = unit_economics = None
    for snapshot in stored:
        if snapshot.kind == Kind.CAMPAIGN_ROI and snapshot.group_by == GROUP_BY_CAMPAIGN:
            capability = snapshot.result["tracking_capability_percent"]  # the last model's
        elif snapshot.kind == Kind.SALES:
            consistency = snapshot.result["sales_finance_consistency_percent"]
        elif snapshot.kind == Kind.CAC:
            unit_economics = latest_complete_month(snapshot.result["months"])
    accuracy = None if context is None else revenue_attribution_accuracy(context)
    return ScorecardFigures(capability, consistency, unit_economics, accuracy)


def scorecard_push(*, start: dt.date, end: dt.date, figures: ScorecardFigures) -> list[str]:
    """Push the success-metric measurements of the period's figures; returns the keys."""
    pushed = []
    note = f"{start.isoformat()}..{end.isoformat()}"
    measured = [
        (
            "campaign_roi_tracking_capability",
            to_number(figures.capability),
            "auto:metrics.campaign_roi",
        ),
        ("sales_finance_consistency", to_number(figures.consistency), "auto:metrics.sales"),
    ]
    if figures.accuracy is not None:
        measured.insert(
            0,
            (
                "revenue_attribution_accuracy",
                figures.accuracy["value"],
                "auto:metrics.attribution",
            ),
        )
    for key, value, source in measured:
        if measurement_push(key, value, source, note):
            pushed.append(key)
    if figures.unit_economics is not None:
        # The last complete month's (docs/metrics.md, "Scorecard unit economics").
        month_note = f"month {figures.unit_economics['month'][:7]}"
        for key, field in SCORECARD_METRICS:
            value = to_number(figures.unit_economics.get(field))
            if measurement_push(key, value, "auto:metrics.cac", month_note):
                pushed.append(key)
    pushed += coverage_improvements_push()
    pushed += campaign_roi_measurement_push()
    return pushed


def scorecard_push_stored(*, start: dt.date, end: dt.date, with_accuracy: bool) -> list[str]:
    """The incremental recompute's push: the figures of the period's stored snapshots (in
    the order the engine stores them), the accuracy only when its inputs changed (it reads
    the period's attribution inputs again)."""
    keys = [(kind, params_hash(params)) for kind, params in period_requests(start=start, end=end)]
    found = {
        (s.kind, s.params_hash): s
        for s in MetricSnapshot.objects.filter(
            kind__in={k for k, _h in keys}, params_hash__in={h for _k, h in keys}
        )
    }
    stored = [found[key] for key in keys if key in found]
    context = (
        AttributionContext.read(start=start, end=end, lookback_days=DEFAULT_LOOKBACK.days)
        if with_accuracy
        else None
    )
    return scorecard_push(start=start, end=end, figures=scorecard_figures(stored, context))


def metrics_recompute_after_sync(*, connector_id: int) -> None:
    """Request a recompute once the current transaction (a successful sync) commits."""
    transaction.on_commit(lambda: metrics_recompute_request(connector_id=connector_id))


def metrics_recompute_request(*, connector_id: int | None = None) -> int:
    """Debounce: record a new request generation, then queue a recompute that runs
    FINHUB_RECOMPUTE_DEBOUNCE_SECONDS later carrying it. Syncs that finish within that window
    (``make run``'s six first ones) cause one recompute: every queued one but the last finds a
    newer generation and skips (:func:`metrics_recompute_claim`). Returns the generation.

    The marker is a database row, so web, worker and prefork processes all see it; the
    increment is one UPDATE and the read-back sits in its transaction, so two concurrent
    requests get distinct generations (or, at worst, both run).
    """
    from metrics.tasks import compute_metrics

    now = timezone.now()
    with transaction.atomic():
        bump = {
            "generation": F("generation") + 1,
            "requested_at": now,
            "pending_since": Coalesce(F("pending_since"), Value(now)),
        }
        bumped = RecomputeRequest.objects.filter(pk=RECOMPUTE_ROW).update(**bump)
        if not bumped:
            try:
                with transaction.atomic():
                    RecomputeRequest.objects.create(
                        pk=RECOMPUTE_ROW, generation=1, requested_at=now, pending_since=now
                    )
            except IntegrityError:  # created concurrently: bump that one
                RecomputeRequest.objects.filter(pk=RECOMPUTE_ROW).update(**bump)
        generation = RecomputeRequest.objects.values_list("generation", flat=True).get(
            pk=RECOMPUTE_ROW
        )
    compute_metrics.apply_async(
        kwargs={"connector_id": connector_id, "generation": generation},
        countdown=settings.FINHUB_RECOMPUTE_DEBOUNCE_SECONDS,
    )
    return generation


def metrics_recompute_claim(*, generation: int) -> bool:
    """Whether the recompute queued for ``generation`` should run: False when a later request
    is pending (its own recompute, queued later, will run and see this one's data too).
    A request made once this one has started gets a higher generation and runs after it:
    nothing a sync wrote is left out."""
    now = timezone.now()
    overdue = now - dt.timedelta(seconds=settings.FINHUB_RECOMPUTE_MAX_WAIT_SECONDS)
    # A later request is pending: skip, unless requests have kept coming for longer than the
    # maximum wait (then run now; this reads everything committed so far).
    if (
        RecomputeRequest.objects.filter(generation__gt=generation)
        .exclude(pending_since__lte=overdue)
        .exists()
    ):
        return False
    # Every request up to now is served by this run (it reads what they committed).
    RecomputeRequest.objects.filter(pk=RECOMPUTE_ROW).update(
        started_generation=F("generation"), started_at=now, pending_since=None
    )
    return True


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


#: Scorecard improvement metric -> the report measuring its coverage and the coverage's field
#: in the report's ``coverage`` (docs/metrics.md, "Scorecard measurements").
COVERAGE_IMPROVEMENTS = (
    ("retention_roi_measurement_improvement", Kind.CS_ROI, "retention_roi_measurement_coverage"),
    (
        "development_roi_tracking_improvement",
        Kind.INITIATIVE_ROI,
        "development_roi_tracking_coverage",
    ),
)


def coverage_improvements_push(*, today: dt.date | None = None) -> list[str]:
    """Measure the retention ROI measurement coverage and the development ROI tracking
    coverage of the last complete month (its CS ROI and initiative ROI reports, recomputed
    and stored) and push their improvement: coverage now - baseline, in percentage points.
    The baseline is the coverage a project manager entered on the success metric, else the
    first coverage measured (stored as the metric's baseline then, so it stays put). An
    undefined coverage (no MRR, no development cost) is not pushed. Returns the keys pushed.
    """
    from roadmap.services import metric_baseline_or_initial

    month = month_period(last_closed_month(today or timezone.localdate()))
    params = period_params(start=month.start, end=month.end)
    pushed = []
    for key, kind, field in COVERAGE_IMPROVEMENTS:
        snapshot = snapshot_compute(kind=kind, params=params)
        coverage = to_number(snapshot.result["coverage"][field])
        if coverage is None:
            continue
        baseline = metric_baseline_or_initial(metric_key=key, initial=Decimal(coverage))
        value = improvement_pp(Decimal(coverage), baseline)
        note = f"month {month.start:%Y-%m}: coverage {Decimal(coverage):.2f}% - baseline"
        note += f" {baseline:.2f}%" if baseline is not None else " (none)"
        if measurement_push(key, value, f"auto:metrics.{kind}", note):
            pushed.append(key)
    return pushed


def latest_complete_month(months: list[dict], today: dt.date | None = None) -> dict | None:
    """The last month before the current one whose blended CAC is defined."""
    return last_complete_month(months, today or timezone.localdate())


def measurement_push(metric_key: str, value: Decimal | int | None, source: str, note: str) -> bool:
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
