"""Scorecard freshness: source, last measured time, cadence and the stale flag."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from roadmap import gates
from roadmap.models import Measurement, SuccessMetric
from roadmap.selectors import cadence_text, governance_dashboard
from roadmap.services import measurement_record

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def rows():
    return {m.key: m for m in governance_dashboard().metrics}


def test_stale_after_cadence_plus_half_of_it():
    at = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.UTC)
    assert gates.metric_stale_since(last_measured_at=at, cadence=HOUR) == at + 90 * (HOUR / 60)
    assert not gates.metric_is_stale(
        last_measured_at=at, cadence=DAY, now=at + datetime.timedelta(hours=36)
    )
    assert gates.metric_is_stale(
        last_measured_at=at, cadence=DAY, now=at + datetime.timedelta(hours=36, seconds=1)
    )
    assert not gates.metric_is_stale(last_measured_at=at, cadence=None, now=at + 1000 * DAY)
    assert not gates.metric_is_stale(last_measured_at=None, cadence=HOUR, now=at)


def test_shipped_cadences(programme):
    cadences = dict(SuccessMetric.objects.values_list("key", "cadence"))
    assert cadences["financial_query_response_time"] == HOUR
    assert cadences["api_reliability"] == DAY
    assert cadences["campaign_roi_measurement_capability"] == DAY
    assert cadences["reporting_time_reduction"] == datetime.timedelta(days=31)
    assert (cadence_text(HOUR), cadence_text(DAY), cadence_text(31 * DAY)) == (
        "hour",
        "day",
        "31 days",
    )


def test_scorecard_flags_a_metric_measured_too_long_ago(programme, client, finance_viewer):
    now = timezone.now()
    measurement_record(
        metric_key="financial_query_response_time",
        value=Decimal("1.2"),
        measured_at=now - datetime.timedelta(hours=2),  # hourly: stale after 90 minutes
        source="auto:operations.timing",
    )
    measurement_record(
        metric_key="api_reliability",
        value=Decimal("99.8"),
        measured_at=now - datetime.timedelta(hours=20),  # daily: fresh for 36 hours
        source="auto:connectors.api_reliability",
    )
    measurement_record(metric_key="reporting_time_reduction", value=Decimal("45"))
    SuccessMetric.objects.filter(key="blended_cac").update(cadence=None)
    measurement_record(
        metric_key="blended_cac",
        value=Decimal("15000"),
        measured_at=now - datetime.timedelta(days=400),
    )

    scorecard = rows()
    response_time = scorecard["financial_query_response_time"]
    assert (response_time.state, response_time.stale) == ("met", True)
    assert response_time.stale_since == response_time.last_measured_at + 90 * (HOUR / 60)
    assert response_time.source_kind == "automatic"
    assert scorecard["api_reliability"].stale is False
    assert scorecard["reporting_time_reduction"].source_kind == "entered"
    assert scorecard["blended_cac"].stale is False  # no cadence: never stale
    assert scorecard["revenue_attribution_accuracy"].stale is False  # never measured
    assert scorecard["revenue_attribution_accuracy"].source_kind == ""
    assert governance_dashboard().metric_counts["stale"] == 1

    client.force_login(finance_viewer)
    body = client.get(reverse("roadmap:dashboard")).content.decode()
    assert 'id="metric-financial_query_response_time"' in body
    row = body.split('id="metric-financial_query_response_time"')[1].split("</tr>")[0]
    assert 'data-stale="yes"' in row and ">Stale<" in row
    assert "Automatic" in row and "measured <time" in row and "2\xa0hours ago" in row
    row = body.split('id="metric-reporting_time_reduction"')[1].split("</tr>")[0]
    assert 'data-stale="no"' in row and "Entered" in row


def test_pushing_the_same_value_again_keeps_the_metric_fresh(programme):
    long_ago = timezone.now() - datetime.timedelta(hours=3)
    first = measurement_record(
        metric_key="financial_query_response_time",
        value=Decimal("1.5"),
        measured_at=long_ago,
        source="auto:operations.timing",
    )
    assert rows()["financial_query_response_time"].stale is True
    again = measurement_record(
        metric_key="financial_query_response_time",
        value=Decimal("1.5"),
        source="auto:operations.timing",
    )
    assert (again.pk, again.recorded) == (first.pk, False)  # still no new row
    assert Measurement.objects.filter(metric__key="financial_query_response_time").count() == 1
    row = rows()["financial_query_response_time"]
    assert row.stale is False
    assert row.last_measured_at > long_ago + datetime.timedelta(hours=2)
    assert row.latest_at == long_ago  # the value's first measurement stays as it was
    # The re-confirmation is not a change of the value: no history entry.
    assert Measurement.history.filter(id=first.pk).count() == 1


def test_api_exposes_cadence_source_and_stale(programme, finance_viewer):
    measurement_record(
        metric_key="financial_query_response_time",
        value=Decimal("1.2"),
        measured_at=timezone.now() - datetime.timedelta(hours=5),
        source="auto:operations.timing",
    )
    api = APIClient()
    api.force_authenticate(finance_viewer)
    body = api.get("/api/v1/roadmap/metrics/financial_query_response_time/").json()
    assert body["cadence_seconds"] == 3600
    assert (body["source_kind"], body["stale"]) == ("automatic", True)
    assert body["last_measured_at"] is not None
    other = api.get("/api/v1/roadmap/metrics/revenue_attribution_accuracy/").json()
    assert (other["source_kind"], other["stale"], other["last_measured_at"]) == (
        None,
        False,
        None,
    )
