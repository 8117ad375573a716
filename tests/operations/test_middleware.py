import datetime
import logging

import pytest
from django.db import DatabaseError
from django.http import HttpResponse
from django.test import RequestFactory

from operations import services
from operations.histograms import Histogram
from operations.middleware import RequestTimingMiddleware
from operations.models import RequestTiming
from operations.recorder import TimingRecorder
from operations.services import request_timings_flush, request_timings_prune

pytestmark = pytest.mark.django_db


def keys(recorder) -> dict[tuple[str, str, bool], int]:
    """What the recorder holds: (endpoint, method, financial) -> requests."""
    out: dict[tuple[str, str, bool], int] = {}
    for key, tally in recorder.take().items():
        k = (key.endpoint, key.method, key.financial)
        out[k] = out.get(k, 0) + tally.histogram.count
    return out


def test_dashboard_page_and_export_are_financial_admin_and_refusals_are_not(
    client, finance_viewer, superuser, recorder
):
    client.force_login(finance_viewer)
    assert client.get("/dashboards/executive/").status_code == 200
    assert client.get("/dashboards/executive/?table=summary&format=csv").status_code == 200
    assert client.get("/api/v1/gl_lines/").status_code == 200
    assert client.get("/api/v1/gl_lines/123456/").status_code == 404  # a refusal, not answered
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    client.logout()
    assert client.get("/dashboards/executive/").status_code == 302  # to the login page

    seen = keys(recorder)
    assert seen[("dashboards:executive", "GET", True)] == 1
    assert seen[("dashboards:executive (export)", "GET", True)] == 1
    assert seen[("gl_lines-list", "GET", True)] == 1
    # The route name, never the path with its id.
    assert seen[("gl_lines-detail", "GET", False)] == 1
    assert seen[("admin:index", "GET", False)] == 1
    assert seen[("(unmatched)", "GET", False)] == 1
    assert seen[("dashboards:executive", "GET", False)] == 1  # the login redirect
    assert not any("123456" in endpoint for endpoint, _, _ in seen)


def test_unnamed_routes_are_timed_under_their_pattern_and_posts_are_not_financial(
    client, finance_viewer, recorder
):
    client.force_login(finance_viewer)
    client.post("/api/v1/ingest/no-such-entity/", data={}, content_type="application/json")
    client.post("/dashboards/forecast/anomalies/dismiss/")
    seen = keys(recorder)
    assert ("ingest-unknown", "POST", False) in seen
    assert ("dashboards:forecast_dismiss", "POST", False) in seen


def test_a_request_that_does_not_flush_makes_no_query(django_assert_num_queries, recorder):
    middleware = RequestTimingMiddleware(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/anywhere/")
    with django_assert_num_queries(0):
        for _ in range(20):
            middleware(request)
    assert recorder.pending() == 20


def test_a_request_that_is_due_flushes_after_its_response(settings, recorder):
    settings.FINHUB_TIMING_FLUSH_SECONDS = 0
    middleware = RequestTimingMiddleware(lambda request: HttpResponse("ok"))
    middleware(RequestFactory().get("/anywhere/"))
    assert recorder.pending() == 0
    assert RequestTiming.objects.get().count == 1


def test_flushes_add_counts_one_row_per_endpoint_and_hour(client, finance_viewer, recorder):
    client.force_login(finance_viewer)
    for _ in range(25):
        client.get("/api/v1/gl_lines/")
        client.get("/api/v1/accounts/")
    assert request_timings_flush() == 50
    assert RequestTiming.objects.count() <= 3  # the hour may turn during the test
    for _ in range(10):
        client.get("/api/v1/gl_lines/")
    assert request_timings_flush() == 10
    rows = RequestTiming.objects.filter(endpoint="gl_lines-list")
    assert sum(r.count for r in rows) == 35
    assert sum(sum(r.buckets.values()) for r in rows) == 35
    assert all(r.financial and r.method == "GET" and r.errors == 0 for r in rows)
    assert RequestTiming.objects.count() <= 4


def test_flush_adds_to_a_row_another_process_created_meanwhile(monkeypatch):
    """Two processes create the same row: the later insert fails and retries as an add."""
    hour = datetime.datetime(2026, 12, 3, 16, tzinfo=datetime.UTC)
    at = hour.timestamp() + 60
    mine = TimingRecorder()
    for ms in (10.0, 20.0):
        mine.record(endpoint="e", method="GET", financial=True, ms=ms, error=False, at=at)
    # Another process committed this row after our read: our read saw none, our insert fails.
    RequestTiming.objects.create(
        endpoint="e",
        method="GET",
        financial=True,
        hour=hour,
        count=1,
        errors=1,
        total_ms=5000.0,
        max_ms=5000.0,
        buckets=Histogram.of([5000.0]).to_json(),
    )
    real_select_for_update = RequestTiming.objects.select_for_update
    reads = []

    def stale_first_read(*args, **kwargs):
        reads.append(True)
        if len(reads) == 1:
            return RequestTiming.objects.none()
        return real_select_for_update(*args, **kwargs)

    monkeypatch.setattr(RequestTiming.objects, "select_for_update", stale_first_read)
    assert request_timings_flush(recorder=mine) == 2
    row = RequestTiming.objects.get()
    assert (row.count, row.errors, row.total_ms, row.max_ms) == (3, 1, 5030.0, 5000.0)
    assert row.buckets == Histogram.of([10.0, 20.0, 5000.0]).to_json()
    assert len(reads) == 2  # the retry


def test_a_failed_flush_keeps_the_counts_and_never_fails_the_request(
    client, finance_viewer, settings, monkeypatch, caplog, recorder
):
    settings.FINHUB_TIMING_FLUSH_SECONDS = 0

    def broken(pending):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(services, "_add_to_rows", broken)
    client.force_login(finance_viewer)
    with caplog.at_level(logging.WARNING, logger="operations.services"):
        assert client.get("/api/v1/gl_lines/").status_code == 200
        assert client.get("/api/v1/gl_lines/").status_code == 200
    assert "request timings not stored" in caplog.text
    assert recorder.pending() == 2
    monkeypatch.undo()
    assert request_timings_flush() == 2
    assert RequestTiming.objects.get(endpoint="gl_lines-list").count == 2


def test_prune_drops_rows_past_the_retention(settings):
    settings.FINHUB_TIMING_RETENTION_DAYS = 30
    now = datetime.datetime(2026, 12, 3, 16, 30, tzinfo=datetime.UTC)
    for days in (31, 29):
        RequestTiming.objects.create(
            endpoint=f"e{days}",
            method="GET",
            financial=True,
            hour=now - datetime.timedelta(days=days),
            count=1,
        )
    assert request_timings_prune(now=now) == 1
    assert list(RequestTiming.objects.values_list("endpoint", flat=True)) == ["e29"]
