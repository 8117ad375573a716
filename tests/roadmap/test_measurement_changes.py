"""Automatic measurements are recorded when the value or its period changes (issue #18, 7).

Before: every sync pushed data sync accuracy and API reliability, and every recompute after
it pushed six metrics, each as a new row — 48 identical rows at start-up.
"""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from roadmap.models import Measurement
from roadmap.selectors import governance_dashboard
from roadmap.services import measurement_record

pytestmark = pytest.mark.django_db

# What the sync engine and the metrics engine push, with their sources.
SYNC_PUSHES = (
    ("data_sync_accuracy", "auto:data_sync_accuracy", "100.00"),
    ("api_reliability", "auto:api_reliability", "100.00"),
)
ENGINE_PUSHES = (
    ("revenue_attribution_accuracy", "auto:metrics.attribution", "87.50"),
    ("campaign_roi_tracking_capability", "auto:metrics.campaign_roi", "100.00"),
    ("sales_finance_consistency", "auto:metrics.sales", "96.20"),
    ("blended_cac", "auto:metrics.cac", "18250.00"),
    ("ltv_to_cac", "auto:metrics.cac", "3.40"),
    ("cac_payback_months", "auto:metrics.cac", "9.10"),
)


def push(key, value, source="auto:test", **kwargs):
    return measurement_record(metric_key=key, value=Decimal(value), source=source, **kwargs)


def test_the_first_syncs_and_recomputes_leave_one_row_per_metric(programme):
    # make run: six demo connectors sync, each sync is followed by a full recompute.
    for _connector in range(6):
        for key, source, value in SYNC_PUSHES:
            push(key, value, source)
        for key, source, value in ENGINE_PUSHES:
            push(key, value, source)
    assert Measurement.objects.count() == len(SYNC_PUSHES) + len(ENGINE_PUSHES)  # not 48


def test_repeating_the_value_writes_nothing_and_returns_the_standing_row(programme):
    first = push("api_reliability", "99.50")
    again = push("api_reliability", "99.5000")  # the same number, written differently
    assert first.recorded and not again.recorded
    assert again.pk == first.pk
    assert Measurement.objects.count() == 1


def test_each_change_is_recorded_and_so_is_a_return_to_an_earlier_value(programme):
    for value in ("100", "99.5", "99.5", "100", "100"):
        push("data_sync_accuracy", value)
    values = list(Measurement.objects.order_by("measured_at", "pk").values_list("value", flat=True))
    assert values == [Decimal("100"), Decimal("99.5"), Decimal("100")]


def test_a_new_period_is_recorded_even_when_the_value_holds(programme):
    push("blended_cac", "18250", period="2026-10")
    push("blended_cac", "18250", period="2026-10")
    push("blended_cac", "18250", period="2026-11")
    assert list(Measurement.objects.order_by("pk").values_list("period", flat=True)) == [
        "2026-10",
        "2026-11",
    ]


def test_without_a_period_an_automatic_value_is_about_the_day_it_was_measured(programme):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    push("api_reliability", "100", measured_at=yesterday)
    push("api_reliability", "100")
    push("api_reliability", "100")
    periods = list(Measurement.objects.order_by("measured_at").values_list("period", flat=True))
    assert periods == [
        timezone.localtime(yesterday).date().isoformat(),
        timezone.localdate().isoformat(),
    ]


def test_sources_are_counted_apart(programme):
    push("data_sync_accuracy", "100", source="auto:data_sync_accuracy")
    push("data_sync_accuracy", "100", source="auto:token.abc123")
    assert Measurement.objects.count() == 2


def test_a_project_manager_typing_a_value_again_is_always_recorded(programme, project_manager):
    for _ in range(3):
        measurement_record(
            metric_key="reporting_time_reduction", value=Decimal("25"), recorded_by=project_manager
        )
    assert Measurement.objects.filter(source="manual").count() == 3
    assert set(Measurement.objects.values_list("period", flat=True)) == {""}


def test_the_scorecard_trend_shows_changes_not_repetitions(programme):
    for value in ["99"] * 20 + ["100"] * 20:
        push("data_sync_accuracy", value, source="auto:data_sync_accuracy")
    row = next(m for m in governance_dashboard().metrics if m.key == "data_sync_accuracy")
    assert [point["value"] for point in row.trend] == [Decimal("99"), Decimal("100")]
    assert row.latest_period == timezone.localdate().isoformat()


def test_api_answers_200_and_writes_nothing_for_a_repeated_automatic_value(
    programme, project_manager, client
):
    client.force_login(project_manager)
    url = reverse("roadmap-measurement-list")
    body = {"metric_key": "api_reliability", "value": "99.9", "source": "auto:monitor"}
    first = client.post(url, body, content_type="application/json")
    again = client.post(url, body, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["period"] == timezone.localdate().isoformat()
    other_month = client.post(url, {**body, "period": "2026-10"}, content_type="application/json")
    assert other_month.status_code == 201
    assert Measurement.objects.count() == 2
