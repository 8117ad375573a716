from django.db import migrations, models

import roadmap.evidence

# The shipped programme's evidence checks when this migration was written (frozen here:
# roadmap/programme.py may change later). Rows of an already-loaded programme get the check
# of their key when they have none.
EVIDENCE_CHECKS = {
    "p1-erp-api-connection": "connector_synced:erp",
    "p1-budget-tool-integration": "connector_synced:budget",
    "p1-revenue-attribution-tracking": "report_has_figures:attribution",
    "p1-executive-dashboard": "report_has_figures:budget_variance",
    "p2-marketing-integrations": "connector_synced:marketing",
    "p2-campaign-roi-tracking": "report_has_figures:campaign_roi",
    "p2-sales-analytics-dashboard": "report_has_figures:sales",
    "p2-cac-monitoring": "report_has_figures:cac",
    "p3-automated-alerts": "alerts_configured",
    "p4-integration-tests": "tests_passing",
}
# Metric descriptions shipped before the definitions moved into docs/metrics.md: a row still
# carrying the old text (nobody edited it) gets the new one.
DESCRIPTIONS = {
    "campaign_roi_tracking_capability": (
        "Campaigns with spend that have an ROI / campaigns with spend (METRICS.md §2).",
        "Campaigns with spend that have an ROI / campaigns with spend "
        "(docs/metrics.md, Campaign ROI).",
    ),
    "blended_cac": (
        "S&M cost / new customers per month, in the reporting currency (METRICS.md §4).",
        "S&M cost / new customers per month, in the reporting currency "
        "(docs/metrics.md, CAC, LTV and payback).",
    ),
    "ltv_to_cac": (
        "LTV / blended CAC (METRICS.md §4).",
        "LTV / blended CAC (docs/metrics.md, CAC, LTV and payback).",
    ),
    "cac_payback_months": (
        "Months of gross-margin ARPA to recover blended CAC (METRICS.md §4).",
        "Months of gross-margin ARPA to recover blended CAC "
        "(docs/metrics.md, CAC, LTV and payback).",
    ),
    "sales_finance_consistency": (
        "Won deals matching ERP revenue within tolerance / won deals (METRICS.md §6).",
        "Won deals matching ERP revenue within tolerance / won deals (docs/metrics.md, Sales).",
    ),
}


def forwards(apps, schema_editor):
    ChecklistItem = apps.get_model("roadmap", "ChecklistItem")
    SuccessMetric = apps.get_model("roadmap", "SuccessMetric")
    for key, check in EVIDENCE_CHECKS.items():
        ChecklistItem.objects.filter(
            programme__key="finance-integration", key=key, evidence_check=""
        ).update(evidence_check=check)
    for key, (old, new) in DESCRIPTIONS.items():
        SuccessMetric.objects.filter(key=key, description=old).update(description=new)


def backwards(apps, schema_editor):
    SuccessMetric = apps.get_model("roadmap", "SuccessMetric")
    for key, (old, new) in DESCRIPTIONS.items():
        SuccessMetric.objects.filter(key=key, description=new).update(description=old)


def evidence_fields():
    return [
        (
            "evidence_check",
            models.CharField(
                blank=True,
                choices=roadmap.evidence.evidence_check_choices,
                help_text="What FinHub checks to verify this item by itself (empty: ticked by hand).",
                max_length=64,
            ),
        ),
        (
            "evidence_state",
            models.CharField(
                blank=True,
                choices=[
                    ("verified", "Verified"),
                    ("missing", "Not verified yet"),
                    ("unavailable", "Not checkable by FinHub"),
                ],
                editable=False,
                max_length=12,
            ),
        ),
        ("evidence_summary", models.CharField(blank=True, editable=False, max_length=300)),
        (
            "evidence_link",
            models.CharField(
                blank=True, editable=False, max_length=200, verbose_name="link to the evidence"
            ),
        ),
        ("evidence_verified_since", models.DateTimeField(blank=True, editable=False, null=True)),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ("roadmap", "0002_success_metric_units"),
    ]

    operations = [
        migrations.AddField(
            model_name="measurement",
            name="period",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="historicalmeasurement",
            name="period",
            field=models.CharField(blank=True, max_length=40),
        ),
        *(
            migrations.AddField(model_name=model_name, name=name, field=field)
            for model_name in ("checklistitem", "historicalchecklistitem")
            for name, field in evidence_fields()
        ),
        migrations.AddField(
            model_name="checklistitem",
            name="evidence_checked_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(forwards, backwards),
    ]
