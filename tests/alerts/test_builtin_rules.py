"""The built-in rules of issue #14 (alerts/migrations/0002_builtin_rules.py)."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from alerts.models import AlertRule
from alerts.sources import scope_problem

pytestmark = pytest.mark.django_db
builtin = importlib.import_module("alerts.migrations.0002_builtin_rules")

KEYS = {
    "department_predicted_overrun",
    "cac_above_target",
    "campaign_roi_negative",
    "sync_failing",
    "source_stale",
    "reconciliation_below_target",
    "spend_anomaly",
}


def test_the_migration_created_the_rules_enabled_and_valid():
    rules = AlertRule.objects.exclude(builtin_key=None)
    assert set(rules.values_list("builtin_key", flat=True)) == KEYS
    for rule in rules:
        assert rule.enabled
        assert scope_problem(rule.metric, rule.scope) == ""
        rule.full_clean()


def test_the_issue_thresholds():
    by_key = {r.builtin_key: r for r in AlertRule.objects.exclude(builtin_key=None)}
    overrun = by_key["department_predicted_overrun"]
    assert (overrun.metric, overrun.scope, overrun.comparator, overrun.threshold) == (
        "predicted_overrun_pct",
        "department",
        "gt",
        Decimal("5"),
    )
    cac = by_key["cac_above_target"]
    assert (cac.metric, cac.scope_filter, cac.comparator, cac.threshold) == (
        "scorecard_vs_target",
        "blended_cac",
        "gt",
        Decimal("0"),
    )
    roi = by_key["campaign_roi_negative"]
    assert (roi.metric, roi.comparator, roi.threshold) == ("campaign_roi", "lt", Decimal("0"))
    reconciliation = by_key["reconciliation_below_target"]
    assert (reconciliation.comparator, reconciliation.threshold) == ("lt", Decimal("99.9"))


def test_rerunning_keeps_edits_and_creates_no_duplicate():
    rule = AlertRule.objects.get(builtin_key="spend_anomaly")
    rule.enabled, rule.threshold = False, Decimal("4")
    rule.save()
    builtin.create_rules(apps, None)
    assert AlertRule.objects.exclude(builtin_key=None).count() == len(KEYS)
    rule.refresh_from_db()
    assert (rule.enabled, rule.threshold) == (False, Decimal("4"))


def test_reverse_deletes_only_the_builtin_rules():
    AlertRule.objects.create(name="Mine", metric="nrr", scope="all", comparator="lt", threshold=90)
    builtin.delete_rules(apps, None)
    assert list(AlertRule.objects.values_list("name", flat=True)) == ["Mine"]
    builtin.create_rules(apps, None)
    assert AlertRule.objects.exclude(builtin_key=None).count() == len(KEYS)
