import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from roadmap import programme as spec
from roadmap.models import ChecklistItem, Phase, Programme, Risk, SuccessMetric, WorkItem
from roadmap.services import programme_default_start, programme_load, programme_totals

pytestmark = pytest.mark.django_db

METRIC_KEYS = {
    "data_sync_accuracy",
    "api_reliability",
    "financial_query_response_time",
    "reporting_time_reduction",
    "campaign_roi_tracking_capability",
    "budget_variance_prediction_accuracy",
    "revenue_attribution_accuracy",
    "faster_financial_decisions",
    "sales_finance_consistency",
    "campaign_roi_measurement_capability",
    "development_roi_tracking_improvement",
    "retention_roi_measurement_improvement",
    # Beyond the issue's twelve: the unit-economics targets the CAC dashboard draws.
    "blended_cac",
    "ltv_to_cac",
    "cac_payback_months",
}


def counts() -> dict[str, int]:
    return {
        "programmes": Programme.objects.count(),
        "phases": Phase.objects.count(),
        "work_items": WorkItem.objects.count(),
        "checklist": ChecklistItem.objects.count(),
        "pre": ChecklistItem.objects.filter(kind="pre_implementation").count(),
        "risks": Risk.objects.count(),
        "metrics": SuccessMetric.objects.count(),
    }


def test_load_creates_the_whole_programme():
    result = programme_load(start_date=datetime.date(2026, 1, 5))
    assert counts() == {
        "programmes": 1,
        "phases": 4,
        "work_items": 16,
        "checklist": 20,
        "pre": 4,
        "risks": 6,
        "metrics": 15,
    }
    assert result.created == {
        "programme": 1,
        "phases": 4,
        "work_items": 16,
        "checklist_items": 20,
        "risks": 6,
        "success_metrics": 15,
    }
    assert set(SuccessMetric.objects.values_list("key", flat=True)) == METRIC_KEYS
    for phase in Phase.objects.all():
        assert phase.work_items.count() == 4
        assert phase.checklist_items.count() == 4
    assert set(Risk.objects.values_list("category", flat=True)) == {"technical", "operational"}
    assert Risk.objects.filter(category="technical").count() == 3


def test_week_numbers_become_dates():
    programme_load(start_date=datetime.date(2026, 1, 5))
    phase1, phase2, _, phase4 = Phase.objects.order_by("number")
    assert (phase1.start_week, phase1.end_week) == (1, 4)
    assert phase1.start_date == datetime.date(2026, 1, 5)
    assert phase1.end_date == datetime.date(2026, 2, 1)  # Sunday of week 4
    assert phase2.start_date == datetime.date(2026, 2, 2)
    assert phase4.end_date == datetime.date(2026, 4, 26)  # 16 weeks = 112 days
    item = ChecklistItem.objects.get(key="p2-cac-monitoring")
    assert item.due_date == phase2.end_date
    pre = ChecklistItem.objects.get(key="pre-identify-systems")
    assert pre.phase is None and pre.due_date == datetime.date(2026, 1, 5)


def test_metrics_have_target_unit_and_direction():
    programme_load()
    response = SuccessMetric.objects.get(key="financial_query_response_time")
    assert (response.target_value, response.unit, response.direction) == (
        Decimal("2"),
        "seconds",
        "at_most",
    )
    sync = SuccessMetric.objects.get(key="data_sync_accuracy")
    assert (sync.target_value, sync.unit, sync.direction, sync.group) == (
        Decimal("99.9"),
        "percent",
        "at_least",
        "integration",
    )
    groups = dict.fromkeys(SuccessMetric.Group.values, 0)
    for group in SuccessMetric.objects.values_list("group", flat=True):
        groups[group] += 1
    assert groups == {"integration": 4, "financial_performance": 7, "cross_domain": 4}


def test_default_start_is_a_monday_six_weeks_back():
    start = programme_default_start(today=datetime.date(2026, 11, 27))  # a Friday
    assert start == datetime.date(2026, 10, 12)
    assert start.weekday() == 0
    programme = programme_load().programme
    assert programme.start_date == programme_default_start()


def test_loading_twice_changes_nothing():
    programme_load(start_date=datetime.date(2026, 1, 5))
    before = counts()
    again = programme_load(start_date=datetime.date(2030, 1, 7))
    assert counts() == before
    assert set(again.created.values()) == {0}
    assert again.programme.start_date == datetime.date(2026, 1, 5)  # stays fixed


def test_loading_again_keeps_what_a_pm_edited_and_restores_deleted_rows():
    programme_load()
    Phase.objects.filter(number=1).update(name="Core systems (renamed by PM)", end_week=5)
    WorkItem.objects.filter(key="erp-integration").update(title="ERP (SAP) integration")
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    item.status = "done"
    item.notes = "Connected on day 3"
    item.due_date = datetime.date(2026, 1, 1)
    item.save()
    Risk.objects.filter(key="data-quality").update(likelihood=1, impact=2, status="closed")
    SuccessMetric.objects.filter(key="data_sync_accuracy").update(target_value=Decimal("99.5"))
    ChecklistItem.objects.filter(key="pre-team-and-governance").delete()

    result = programme_load()

    assert result.created["checklist_items"] == 1  # only the deleted item comes back
    assert counts()["checklist"] == 20
    assert Phase.objects.get(number=1).name == "Core systems (renamed by PM)"
    assert Phase.objects.get(number=1).end_week == 5
    assert WorkItem.objects.get(key="erp-integration").title == "ERP (SAP) integration"
    item.refresh_from_db()
    assert (item.status, item.notes, item.due_date) == (
        "done",
        "Connected on day 3",
        datetime.date(2026, 1, 1),
    )
    risk = Risk.objects.get(key="data-quality")
    assert (risk.likelihood, risk.impact, risk.score, risk.status) == (1, 2, 2, "closed")
    metric = SuccessMetric.objects.get(key="data_sync_accuracy")
    assert metric.target_value == Decimal("99.5")


def test_spec_matches_the_issue():
    assert [p.name for p in spec.PHASES] == [
        "Core financial systems integration",
        "Marketing & sales ROI integration",
        "Product & customer success integration",
        "Optimization & enhancement",
    ]
    assert {m.key for m in spec.METRICS} == METRIC_KEYS


def test_load_demo_loads_the_programme_and_prints_counts(capsys):
    call_command("load_demo")
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "checklist_items   20 (0 new)" in out
    assert "success_metrics   15 (0 new)" in out
    programme = Programme.objects.get()
    assert programme_totals(programme=programme) == {
        "phases": 4,
        "work_items": 16,
        "checklist_items": 20,
        "risks": 6,
        "success_metrics": 15,
    }
