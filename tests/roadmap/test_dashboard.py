import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from roadmap.models import ChecklistItem, Measurement, Risk, SuccessMetric
from roadmap.selectors import TREND_POINTS, governance_dashboard
from roadmap.services import measurement_record
from tests.factories import RiskFactory

pytestmark = pytest.mark.django_db

URL = reverse("roadmap:dashboard")
DASHBOARD_QUERIES = 9  # the 8 of the page before evidence, plus the items FinHub checks
# The roadmap page adds the phases' exit gates: their deliverables and the metrics they own
# (the phases and the scorecard rows are the dashboard's own).
DASHBOARD_WITH_GATES_QUERIES = DASHBOARD_QUERIES + 2


def set_status(key, status):
    item = ChecklistItem.objects.get(key=key)
    item.status = status
    item.save()


def measure(key, *values, start=None):
    start = start or timezone.now() - datetime.timedelta(days=len(values))
    for i, value in enumerate(values):
        measurement_record(
            metric_key=key, value=Decimal(value), measured_at=start + datetime.timedelta(days=i)
        )


def test_anonymous_goes_to_login_and_no_role_gets_403(client, programme, no_role_user):
    assert client.get(URL).status_code == 302
    client.force_login(no_role_user)
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("who", ["finance_viewer", "project_manager", "integration_admin"])
def test_dashboard_readers(client, programme, who, request):
    client.force_login(request.getfixturevalue(who))
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Finance integration rollout" in body
    assert "/static/vendor/chart.umd.min.js" in body
    assert "cdn" not in body.lower()


def test_figures_match_the_database(client, programme, finance_viewer):
    set_status("pre-identify-systems", "done")
    set_status("pre-document-data-flows", "not_applicable")
    set_status("p1-erp-api-connection", "done")
    set_status("p1-budget-tool-integration", "done")
    set_status("p1-executive-dashboard", "not_applicable")
    set_status("p2-cac-monitoring", "blocked")
    set_status("p4-integration-tests", "done")
    Risk.objects.filter(key="process-disruption").update(status="closed")
    RiskFactory(programme=programme, key="extra", likelihood=4, impact=4)
    measure("data_sync_accuracy", "99.5", "99.95")  # met at the latest value
    measure("financial_query_response_time", "1.5", "2.4")  # at most 2 s: not met
    measure("api_reliability", *[str(90 + i) for i in range(TREND_POINTS + 3)])

    client.force_login(finance_viewer)
    d = client.get(URL).context["d"]

    percents = {p.number: (p.done, p.applicable, p.percent, p.blocked) for p in d.phases}
    assert percents == {1: (2, 3, 66, 0), 2: (0, 4, 0, 1), 3: (0, 4, 0, 0), 4: (1, 4, 25, 0)}
    assert d.pre_implementation == {"total": 4, "done": 1, "applicable": 3, "percent": 33}
    assert (d.overall_done, d.overall_applicable, d.overall_percent) == (4, 18, 22)
    assert (d.overall_done, d.overall_applicable) == (
        ChecklistItem.objects.filter(status="done").count(),
        ChecklistItem.objects.exclude(status="not_applicable").count(),
    )

    today = timezone.localdate()
    expected_attention = set(
        ChecklistItem.objects.filter(due_date__lt=today)
        .exclude(status__in=["done", "not_applicable"])
        .values_list("key", flat=True)
    ) | {"p2-cac-monitoring"}
    assert {i.key for i in d.attention} == expected_attention
    assert {"pre-integration-requirements", "p1-revenue-attribution-tracking"} <= expected_attention

    heat = {
        (c["likelihood"], row["impact"]): len(c["risks"]) for row in d.heatmap for c in row["cells"]
    }
    assert sum(heat.values()) == Risk.objects.exclude(status="closed").count() == 6
    assert heat[(4, 4)] == 2  # data quality and the extra one
    assert heat[(2, 4)] == 0  # process disruption is closed
    assert [r.score for r in d.risks] == sorted((r.score for r in d.risks), reverse=True)

    metrics = {m.key: m for m in d.metrics}
    assert len(metrics) == SuccessMetric.objects.count() == 15
    assert metrics["data_sync_accuracy"].state == "met"
    assert metrics["data_sync_accuracy"].latest == Decimal("99.95")
    assert metrics["financial_query_response_time"].state == "not_met"
    assert metrics["revenue_attribution_accuracy"].state == "not_measured"
    assert metrics["api_reliability"].state == "met"
    # The response time (hourly) was last measured a day ago: stale; the daily ones are not.
    assert d.metric_counts == {"met": 2, "not_met": 1, "not_measured": 12, "stale": 1}
    assert [m.key for m in d.metrics if m.stale] == ["financial_query_response_time"]
    trend = metrics["api_reliability"].trend
    assert len(trend) == TREND_POINTS
    assert [p["value"] for p in trend] == [Decimal(90 + i) for i in range(3, TREND_POINTS + 3)]
    assert metrics["api_reliability"].latest == Decimal(90 + TREND_POINTS + 2)


def test_timeline_places_today_in_week_seven(client, programme, finance_viewer, start_monday):
    client.force_login(finance_viewer)
    response = client.get(URL)
    d = response.context["d"]
    days = (timezone.localdate() - start_monday).days
    assert programme.start_date == start_monday
    assert d.total_weeks == 16 and len(d.weeks) == 16
    assert d.today_week == pytest.approx(1 + days / 7)
    assert 7 <= d.today_week < 8
    assert [w["number"] for w in d.weeks if w["is_current"]] == [7]
    assert [p.is_current for p in d.phases] == [False, True, False, False]
    assert "timeline-today" in response.content.decode()


def test_ticking_changes_the_rendered_progress(client, programme, finance_viewer):
    client.force_login(finance_viewer)
    assert 'data-phase="2"' in client.get(URL).content.decode()
    before = client.get(URL).context["d"].phases[1].percent
    set_status("p2-campaign-roi-tracking", "done")
    after = client.get(URL).context["d"].phases[1].percent
    assert (before, after) == (0, 25)


def test_dashboard_queries_are_bounded(programme, django_assert_num_queries):
    with django_assert_num_queries(DASHBOARD_QUERIES):
        governance_dashboard()
    with django_assert_num_queries(DASHBOARD_WITH_GATES_QUERIES):
        governance_dashboard(with_gates=True)
    # Ten times the data: the same number of queries.
    for i in range(20):
        RiskFactory(programme=programme, key=f"more-{i}", likelihood=1 + i % 5, impact=2)
    for metric in SuccessMetric.objects.all():
        measure(metric.key, *[str(50 + i) for i in range(15)])
    for item in ChecklistItem.objects.all()[:10]:
        item.status = "blocked"
        item.save()
    with django_assert_num_queries(DASHBOARD_QUERIES):
        dashboard = governance_dashboard()
    with django_assert_num_queries(DASHBOARD_WITH_GATES_QUERIES):
        with_gates = governance_dashboard(with_gates=True)
    assert all(p.gate is not None for p in with_gates.phases)
    assert len(dashboard.risks) == 26
    assert Measurement.objects.count() == 15 * 15


def test_page_query_count_does_not_grow_with_data(client, programme, finance_viewer):
    client.force_login(finance_viewer)
    client.get(URL)
    with CaptureQueriesContext(connection) as small:
        client.get(URL)
    for metric in SuccessMetric.objects.all():
        measure(metric.key, "1", "2", "3")
    for i in range(10):
        RiskFactory(programme=programme, key=f"more-{i}")
    with CaptureQueriesContext(connection) as large:
        client.get(URL)
    assert len(large) == len(small)
    assert len(small) <= DASHBOARD_WITH_GATES_QUERIES + 6  # session, user, permissions


def test_empty_database_renders_a_hint(client, finance_viewer):
    client.force_login(finance_viewer)
    response = client.get(URL)
    assert response.status_code == 200
    assert "load_demo" in response.content.decode()
