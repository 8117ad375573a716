"""Spend anomalies in the API: GET /api/v1/metrics/forecast/anomalies/ and POST
…/anomalies/<id>/dismiss/ (metrics/anomalies_api.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from metrics.models import SpendAnomaly
from tests.connectors.helpers import bearer, make_token
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/metrics/forecast/anomalies/"


def anomaly(**fields) -> SpendAnomaly:
    values = {
        "kind": SpendAnomaly.Kind.CAMPAIGN_SPEND,
        "scope_key": "cmp-1",
        "label": "Search brand",
        "period_start": dt.date(2026, 10, 20),
        "period_end": dt.date(2026, 10, 20),
        "actual": Decimal("600.00"),
        "expected": Decimal("200.00"),
        "low": Decimal("150.00"),
        "high": Decimal("250.00"),
        "deviation": Decimal("400.00"),
        "currency": "USD",
        "score": Decimal("28.10"),
        **fields,
    }
    return SpendAnomaly.objects.create(**values)


@pytest.fixture
def rows():
    campaign = CampaignFactory(external_id="cmp-1")
    return {
        "spend": anomaly(campaign=campaign),
        "expense": anomaly(
            kind=SpendAnomaly.Kind.GL_EXPENSE,
            scope_key="MKT|6100",
            label="Marketing · 6100 Software",
            period_start=dt.date(2026, 10, 12),
            period_end=dt.date(2026, 10, 18),
        ),
        "dismissed": anomaly(
            scope_key="cmp-2", status=SpendAnomaly.Status.DISMISSED, dismiss_reason="known"
        ),
    }


def test_the_list_needs_login_and_the_view_permission(client, rows, no_role_user):
    assert client.get(URL).status_code in (401, 403)
    client.force_login(no_role_user)
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_api_tokens_do_not_read_anomalies(client, rows):
    _, plaintext = make_token(can_read=True)
    assert client.get(URL, **bearer(plaintext)).status_code == 403


def test_the_list_shows_open_anomalies_newest_first(client, rows, finance_viewer):
    client.force_login(finance_viewer)
    body = client.get(URL).json()
    assert body["count"] == 2
    first, second = body["results"]
    assert (first["id"], second["id"]) == (rows["spend"].pk, rows["expense"].pk)
    assert first["kind"] == "campaign_spend" and first["kind_label"] == "Campaign spend (daily)"
    assert (first["actual"], first["expected"], first["low"], first["high"]) == (
        "600.00",
        "200.00",
        "150.00",
        "250.00",
    )
    assert (first["deviation"], first["deviation_pct"], first["score"]) == (
        "400.00",
        "2.0000",
        "28.10",
    )
    assert first["lines_url"].startswith("/admin/records/campaignspend/?campaign__id__exact=")
    assert second["lines_url"].startswith("/dashboards/drill/gl-lines/?period=custom")
    assert first["status"] == "open" and first["dismissed_by"] is None


def test_the_list_filters_by_status_and_kind(client, rows, finance_viewer):
    client.force_login(finance_viewer)
    ids = lambda query: [row["id"] for row in client.get(URL + query).json()["results"]]  # noqa: E731
    assert ids("?status=dismissed") == [rows["dismissed"].pk]
    assert len(ids("?status=any")) == 3
    assert ids("?kind=gl_expense") == [rows["expense"].pk]
    response = client.get(URL + "?kind=weekly")
    assert response.status_code == 400 and "kind" in response.json()


def test_the_list_reads_a_fixed_number_of_queries(
    client, rows, finance_viewer, django_assert_max_num_queries
):
    for n in range(10):
        anomaly(scope_key=f"more-{n}", campaign=rows["spend"].campaign)
    client.force_login(finance_viewer)
    with django_assert_max_num_queries(8):
        assert client.get(URL).json()["count"] == 12


def test_dismiss_needs_a_reason(client, rows, finance_viewer):
    client.force_login(finance_viewer)
    url = f"{URL}{rows['spend'].pk}/dismiss/"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400
        assert "reason" in response.json()
    rows["spend"].refresh_from_db()
    assert rows["spend"].status == SpendAnomaly.Status.OPEN


def test_dismiss_records_who_why_and_when(client, rows, finance_viewer):
    client.force_login(finance_viewer)
    url = f"{URL}{rows['spend'].pk}/dismiss/"
    response = client.post(url, {"reason": "Launch burst"}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["dismiss_reason"], body["dismissed_by"]) == (
        "dismissed",
        "Launch burst",
        "fiona",
    )
    rows["spend"].refresh_from_db()
    assert rows["spend"].dismissed_by == finance_viewer and rows["spend"].dismissed_at


def test_dismiss_needs_the_change_permission(client, rows, project_manager):
    client.force_login(project_manager)
    url = f"{URL}{rows['spend'].pk}/dismiss/"
    response = client.post(url, {"reason": "x"}, content_type="application/json")
    assert response.status_code == 403


def test_dismiss_of_an_unknown_anomaly_is_404(client, rows, finance_viewer):
    client.force_login(finance_viewer)
    response = client.post(
        f"{URL}999999/dismiss/", {"reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 404
