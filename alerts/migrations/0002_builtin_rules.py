"""The built-in alert rules of issue #14: editable and can be disabled (an admin's edits are
kept: an existing rule with the same builtin_key is never overwritten); the reverse removes
them. "Sync failing or stale" is two rules: two metrics with their own thresholds."""

from decimal import Decimal

from django.db import migrations

HOUR = 3600

BUILTIN_RULES = [
    {
        "builtin_key": "department_predicted_overrun",
        "name": "Department predicted to overrun its full-year budget by more than 5%",
        "description": "The stored forecast's full-year cost outturn of a department vs its "
        "full-year budget. Resolves once the predicted overrun is back at 4% or below.",
        "metric": "predicted_overrun_pct",
        "scope": "department",
        "comparator": "gt",
        "threshold": Decimal("5"),
        "recovery_threshold": Decimal("4"),
        "evaluation_interval_seconds": HOUR,
        "severity": "warning",
        "labels": {"team": "finance"},
        "group_by": ["alertname"],
    },
    {
        "builtin_key": "cac_above_target",
        "name": "Blended CAC above its scorecard target",
        "description": "The scorecard's latest blended CAC (last complete month) minus its "
        "target: above 0 means CAC is above target.",
        "metric": "scorecard_vs_target",
        "scope": "scorecard_metric",
        "scope_filter": "blended_cac",
        "comparator": "gt",
        "threshold": Decimal("0"),
        "evaluation_interval_seconds": HOUR,
        "severity": "warning",
        "labels": {"team": "marketing"},
        "group_by": ["alertname"],
    },
    {
        "builtin_key": "campaign_roi_negative",
        "name": "Campaign ROI below 0 for two months",
        "description": "The larger of a campaign's ROI in the last two closed months is below "
        "0%: it lost money in both. A campaign without ROI in both months is ignored.",
        "metric": "campaign_roi",
        "scope": "campaign",
        "comparator": "lt",
        "threshold": Decimal("0"),
        "evaluation_interval_seconds": HOUR,
        "severity": "warning",
        "no_data_action": "normal",
        "labels": {"team": "marketing"},
        "group_by": ["alertname"],
    },
    {
        "builtin_key": "sync_failing",
        "name": "Source sync failing",
        "description": "Two or more syncs of a source failed in a row.",
        "metric": "sync_failures",
        "scope": "connector",
        "comparator": "gte",
        "threshold": Decimal("2"),
        "recovery_threshold": Decimal("0"),
        "evaluation_interval_seconds": 300,
        "severity": "critical",
        "labels": {"team": "integration"},
        "group_by": ["alertname"],
    },
    {
        "builtin_key": "source_stale",
        "name": "Source stale (no good sync for 24 hours)",
        "description": "Hours since a source's last successful sync.",
        "metric": "source_stale_hours",
        "scope": "connector",
        "comparator": "gt",
        "threshold": Decimal("24"),
        "evaluation_interval_seconds": 900,
        "severity": "warning",
        "labels": {"team": "integration"},
        "group_by": ["alertname"],
    },
    {
        "builtin_key": "reconciliation_below_target",
        "name": "Reconciliation accuracy below 99.9%",
        "description": "The matched % of a source's latest reconciliation.",
        "metric": "reconciliation_accuracy",
        "scope": "connector",
        "comparator": "lt",
        "threshold": Decimal("99.9"),
        "evaluation_interval_seconds": 900,
        "severity": "critical",
        "no_data_action": "keep",
        "labels": {"team": "integration"},
        "group_by": ["alertname"],
    },
    {
        "builtin_key": "spend_anomaly",
        "name": "Spend anomaly",
        "description": "An open spend anomaly (campaign spend day or GL expense week outside "
        "its expected band); dismissing it resolves the alert.",
        "metric": "spend_anomaly",
        "scope": "anomaly_scope",
        "comparator": "gt",
        "threshold": Decimal("0"),
        "evaluation_interval_seconds": HOUR,
        "severity": "warning",
        "labels": {"team": "finance"},
        "group_by": ["alertname"],
    },
]


def create_rules(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for spec in BUILTIN_RULES:
        defaults = {key: value for key, value in spec.items() if key != "builtin_key"}
        AlertRule.objects.get_or_create(builtin_key=spec["builtin_key"], defaults=defaults)


def delete_rules(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    keys = [spec["builtin_key"] for spec in BUILTIN_RULES]
    AlertRule.objects.filter(builtin_key__in=keys).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(create_rules, delete_rules)]
