"""Give the shipped programme's existing rows what 0007 added: each phase's gate metrics and
status (in progress once its first day has passed), each success metric's cadence.

The values are those of roadmap/programme.py when this was written (frozen here, as a
migration must not follow later edits of that file). A phase that already owns metrics and a
metric that already has a cadence are left as a project manager set them.
"""

import datetime

from django.db import migrations
from django.utils import timezone

HOURLY = datetime.timedelta(hours=1)
DAILY = datetime.timedelta(days=1)
MONTHLY = datetime.timedelta(days=31)

CADENCES = {
    "data_sync_accuracy": DAILY,
    "api_reliability": DAILY,
    "financial_query_response_time": HOURLY,
    "reporting_time_reduction": MONTHLY,
    "campaign_roi_tracking_capability": DAILY,
    "budget_variance_prediction_accuracy": MONTHLY,
    "revenue_attribution_accuracy": DAILY,
    "faster_financial_decisions": MONTHLY,
    "blended_cac": DAILY,
    "ltv_to_cac": DAILY,
    "cac_payback_months": DAILY,
    "sales_finance_consistency": DAILY,
    "campaign_roi_measurement_capability": DAILY,
    "development_roi_tracking_improvement": DAILY,
    "retention_roi_measurement_improvement": DAILY,
}

GATE_METRICS = {
    1: ("data_sync_accuracy", "api_reliability"),
    2: (
        "campaign_roi_tracking_capability",
        "revenue_attribution_accuracy",
        "blended_cac",
        "sales_finance_consistency",
    ),
    3: (
        "development_roi_tracking_improvement",
        "retention_roi_measurement_improvement",
        "budget_variance_prediction_accuracy",
        "faster_financial_decisions",
    ),
    4: (
        "financial_query_response_time",
        "reporting_time_reduction",
        "campaign_roi_measurement_capability",
    ),
}
PROGRAMME_KEY = "finance-integration"


def forwards(apps, schema_editor):
    SuccessMetric = apps.get_model("roadmap", "SuccessMetric")
    Phase = apps.get_model("roadmap", "Phase")
    for key, cadence in CADENCES.items():
        SuccessMetric.objects.filter(key=key, cadence__isnull=True).update(cadence=cadence)

    today = timezone.localdate()
    metric_ids = dict(
        SuccessMetric.objects.filter(programme__key=PROGRAMME_KEY).values_list("key", "pk")
    )
    for phase in Phase.objects.filter(programme__key=PROGRAMME_KEY).select_related("programme"):
        start = phase.programme.start_date + datetime.timedelta(weeks=phase.start_week - 1)
        if phase.status == "planned" and start <= today:
            Phase.objects.filter(pk=phase.pk).update(status="in_progress")
        if not phase.gate_metrics.exists():
            keys = GATE_METRICS.get(phase.number, ())
            phase.gate_metrics.set([metric_ids[k] for k in keys if k in metric_ids])


def backwards(apps, schema_editor):
    # The fields go away with 0007's reversal; nothing to undo here.
    pass


class Migration(migrations.Migration):
    dependencies = [("roadmap", "0007_phase_gates_and_metric_cadence")]

    operations = [migrations.RunPython(forwards, backwards)]
