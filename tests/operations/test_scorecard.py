"""The scorecard's response time updates itself: requests timed, stored, pushed hourly."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from finhub.core.services import schedule_specs
from operations.recorder import RECORDER
from operations.selectors import financial_response_time
from operations.services import request_timings_flush, response_time_push
from operations.tasks import response_time_hourly
from roadmap.selectors import metric_latest_measurements
from roadmap.services import programme_load

pytestmark = pytest.mark.django_db
KEY = "financial_query_response_time"


@pytest.fixture
def programme(db):
    return programme_load().programme


def test_real_requests_reach_the_scorecard_through_the_hourly_task(
    client, finance_viewer, superuser, programme
):
    client.force_login(finance_viewer)
    for _ in range(3):
        assert client.get("/dashboards/executive/").status_code == 200
        assert client.get("/api/v1/gl_lines/").status_code == 200
    metric_read = client.get("/api/v1/metrics/cac/")  # 200, or 404 before any recompute
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200  # timed, not a financial query

    result = response_time_hourly()  # the periodic task's body, as beat runs it

    assert result["flushed"] == 8 and result["pushed"] is True
    financial = 6 + (metric_read.status_code == 200)
    expected = financial_response_time(hours=24)
    assert expected is not None and expected.requests == financial
    latest = metric_latest_measurements(keys=[KEY])[KEY]
    assert latest["value"] == expected.p95 > 0
    assert latest["source"] == "auto:operations.timing"
    assert latest["period"] == timezone.localtime().strftime("%Y-%m-%dT%H:00")
    measurement = programme.success_metrics.get(key=KEY).measurements.get()
    assert measurement.note == f"p95 of {financial} requests over 24 h"


def test_the_pushed_value_is_the_p95_in_seconds(programme):
    now = timezone.now()
    # 18 queries of 100 ms and 2 of 3 s: the 19th smallest is 3 s (bucket (2500, 3150],
    # capped at the largest duration seen).
    for ms in [100.0] * 18 + [3000.0] * 2:
        RECORDER.record(
            endpoint="dashboards:sales", method="GET", financial=True, ms=ms, error=False
        )
    for _ in range(50):  # fast, but not financial: not in the figure
        RECORDER.record(endpoint="admin:index", method="GET", financial=False, ms=1.0, error=False)
    request_timings_flush()
    assert response_time_push(now=now) is True
    latest = metric_latest_measurements(keys=[KEY])[KEY]
    assert latest["value"] == Decimal("3.000")
    # A day later the window is empty: nothing is pushed (the metric goes stale instead).
    assert response_time_push(now=now + datetime.timedelta(hours=26)) is False


def test_nothing_is_pushed_without_queries_or_without_the_programme(caplog):
    assert response_time_push() is False  # no timings
    RECORDER.record(endpoint="dashboards:sales", method="GET", financial=True, ms=5, error=False)
    request_timings_flush()
    assert response_time_push() is False  # no programme loaded: warned, not raised
    assert "financial_query_response_time not recorded" in caplog.text


def test_the_hourly_schedule_is_declared():
    spec = next(s for s in schedule_specs() if s.task == "operations.tasks.response_time_hourly")
    assert spec.crontab == {"minute": "5"}
