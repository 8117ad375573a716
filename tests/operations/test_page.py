import datetime
import re
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone

from operations.recorder import RECORDER
from operations.selectors import response_time_summary
from operations.services import request_timings_flush
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

URL = "/operations/"


def record(endpoint: str, durations_ms: list[float], *, financial=True, errors=0, at=None):
    for i, ms in enumerate(durations_ms):
        RECORDER.record(
            endpoint=endpoint,
            method="GET",
            financial=financial,
            ms=ms,
            error=i < errors,
            at=at,
        )


def test_the_page_needs_a_login_and_the_permission(client, finance_viewer, no_role_user):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    for user in (finance_viewer, no_role_user):
        client.force_login(user)
        assert client.get(URL).status_code == 403


def test_project_managers_and_integration_admins_see_it_in_the_menu(
    client, project_manager, integration_admin, finance_viewer
):
    for user in (project_manager, integration_admin):
        client.force_login(user)
        response = client.get("/")
        assert 'href="/operations/"' in response.content.decode()
        assert client.get(URL).status_code == 200
    client.force_login(finance_viewer)
    assert 'href="/operations/"' not in client.get("/").content.decode()


def test_per_endpoint_quantiles_and_the_scorecard_p95(
    client, project_manager, django_assert_max_num_queries
):
    # 19 requests of 100 ms and one of 3 s: p95 = the 19th = (80, 100] -> 0.100 s, p99 = 3 s.
    record("dashboards:executive", [100.0] * 19 + [3000.0], errors=1)
    record("admin:index", [40.0] * 4, financial=False)
    record("gl_lines-list", [7.0] * 10)
    request_timings_flush()
    ConnectorFactory(name="Ledger")
    client.force_login(project_manager)
    client.get(URL)  # warm the session and permission caches
    with django_assert_max_num_queries(12):
        response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    rows = {(r.endpoint, r.method): r for r in response.context["endpoints"]}
    executive = rows[("dashboards:executive", "GET")]
    assert (executive.requests, executive.errors, executive.error_rate) == (20, 1, Decimal("5.00"))
    assert (executive.p50, executive.p95, executive.p99) == (
        Decimal("0.100"),
        Decimal("0.100"),
        Decimal("3.000"),
    )
    assert rows[("admin:index", "GET")].financial is False
    assert re.search(r'data-endpoint="dashboards:executive".*?0\.100 s.*?3\.000 s', html, re.S)
    # Financial queries of 24 h: 30, p95 = the 29th smallest = 100 ms.
    scorecard = response.context["scorecard"]
    assert scorecard.current.requests == 30
    assert scorecard.current.p95 == Decimal("0.100")
    assert 'id="kpi-response-time"' in html
    assert "0.100 s" in html
    # The API reliability table renders from the connectors' selector (no calls yet).
    assert 'id="kpi-api-reliability"' in html


def test_the_period_choice_and_a_bad_period(client, project_manager):
    two_hours_ago = (timezone.now() - datetime.timedelta(hours=2)).timestamp()
    record("dashboards:sales", [50.0] * 3, at=two_hours_ago)
    record("dashboards:cac", [50.0] * 2)
    request_timings_flush()
    assert {r.endpoint for r in response_time_summary(hours=1)} == {"dashboards:cac"}
    client.force_login(project_manager)
    last_hour = client.get(URL, {"period": "1h"}).context["endpoints"]
    assert [r.endpoint for r in last_hour] == ["dashboards:cac"]
    day = client.get(URL).context["endpoints"]
    assert {r.endpoint for r in day} == {"dashboards:cac", "dashboards:sales"}
    response = client.get(URL, {"period": "month"})
    assert response.status_code == 400
    assert "Unknown period 'month': choose one of 1h, 24h, 7d." in unescape(
        response.content.decode()
    )


def test_api_reliability_per_source_is_shown(client, project_manager):
    from connectors.models import SourceCallDay

    connector = ConnectorFactory(name="Ledger")
    SourceCallDay.objects.create(
        connector=connector,
        day=timezone.localdate(),
        calls=200,
        succeeded=199,
        retried_succeeded=3,
        failed_source=1,
        failed_finhub=0,
        attempts=204,
    )
    client.force_login(project_manager)
    response = client.get(URL)
    html = response.content.decode()
    table = re.search(r'<table class="data" id="api-reliability">(.*?)</table>', html, re.S)[1]
    assert "Ledger" in table
    assert "99.50%" in table
