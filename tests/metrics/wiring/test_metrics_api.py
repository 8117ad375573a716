"""The metrics endpoints: permissions, parameter validation, snapshots and query bounds."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from metrics.models import MetricSnapshot
from tests import factories as f

pytestmark = pytest.mark.django_db

START_DAY = dt.date(2026, 3, 1)

ENDPOINTS = (
    "metrics-attribution",
    "metrics-campaign-roi",
    "metrics-cac",
    "metrics-sales",
    "metrics-budget-variance",
)


@pytest.fixture
def api(finance_viewer):
    client = APIClient()
    client.force_authenticate(finance_viewer)
    return client


@pytest.mark.parametrize("name", ENDPOINTS)
def test_needs_view_dashboards(no_role_user, name):
    client = APIClient()
    client.force_authenticate(no_role_user)
    assert client.get(reverse(name)).status_code == 403
    assert APIClient().get(reverse(name)).status_code in (401, 403)


@pytest.mark.parametrize(
    ("name", "query", "parameter"),
    [
        ("metrics-attribution", {"model": "magic"}, "model"),
        ("metrics-attribution", {"group_by": "planet"}, "group_by"),
        ("metrics-attribution", {"start": "2026-13-01"}, "start"),
        ("metrics-campaign-roi", {"end": "yesterday"}, "end"),
        ("metrics-attribution", {"start": "2026-03-31", "end": "2026-03-01"}, "end"),
        ("metrics-attribution", {"half_life_days": "0"}, "half_life_days"),
        ("metrics-cac", {"start": "2026-03-31", "end": "2026-03-01"}, "end"),
        ("metrics-cac", {"start": "0001-01-01", "end": "9999-12-31"}, "start"),
        ("metrics-cac", {"start": "2000-01-01", "end": "2026-03-01"}, "end"),
        ("metrics-budget-variance", {"group_by": "colour"}, "group_by"),
        ("metrics-budget-variance", {"budget": "999999"}, "budget"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(api, name, query, parameter):
    response = api.get(reverse(name), query)
    assert response.status_code == 400
    assert parameter in response.json()
    assert not MetricSnapshot.objects.exists()


def test_attribution_computes_on_demand_then_reads_the_snapshot(
    api, dataset, django_assert_max_num_queries
):
    query = {"model": "linear", "group_by": "campaign", "start": "2026-03-01", "end": "2026-03-31"}
    # On demand: a fixed number of queries whatever the data size (reads + one upsert; the
    # converting contacts' read adds up to 7 for a group only other contacts touched).
    with django_assert_max_num_queries(30):
        response = api.get(reverse("metrics-attribution"), query)
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "attribution"
    assert body["params"]["model"] == "linear"
    rows = {row["key"]: row["revenue"] for row in body["result"]["rows"]}
    assert rows["Spring"] == "850.00"
    assert MetricSnapshot.objects.count() == 1
    # Stored: one query for the snapshot (the session user is forced, permissions cached).
    with django_assert_max_num_queries(3):
        again = api.get(reverse("metrics-attribution"), query)
    assert again.json() == body


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_answers_with_defaults_in_bounded_queries(
    api, dataset, name, django_assert_max_num_queries
):
    with django_assert_max_num_queries(40):
        response = api.get(reverse(name))
    assert response.status_code == 200, response.content
    assert response.json()["result"]["reporting_currency"] == "USD"


def test_query_count_does_not_grow_with_rows(api, dataset):
    query = {"model": "markov", "start": "2026-03-01", "end": "2026-03-31"}

    def queries() -> int:
        MetricSnapshot.objects.all().delete()
        with CaptureQueriesContext(connection) as context:
            assert api.get(reverse("metrics-campaign-roi"), query).status_code == 200
        return len(context)

    queries()  # warm up: the permission cache of the user
    before = queries()
    for _ in range(30):
        f.TouchpointFactory(source=dataset, occurred_at="2026-03-03T10:00:00Z")
        f.DealFactory(source=dataset, closed_at="2026-03-04T10:00:00Z")
    assert queries() == before <= 30


def test_schema_documents_the_endpoints(api, superuser):
    client = APIClient()
    client.force_authenticate(superuser)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    attribution = schema["paths"]["/api/v1/metrics/attribution/"]["get"]
    names = {parameter["name"] for parameter in attribution["parameters"]}
    assert {"model", "group_by", "start", "end", "lookback_days", "half_life_days"} <= names
    assert "computed on demand" in attribution["description"]
    assert "200" in attribution["responses"]
    assert "/api/v1/metrics/budget-variance/" in schema["paths"]


def test_default_parameters_read_the_nightly_snapshots(api, dataset, django_assert_max_num_queries):
    from metrics import services

    services.metrics_compute_all(push_measurements=False)
    api.get(reverse("metrics-cac"))  # warm up: the permission cache of the user
    count = MetricSnapshot.objects.count()
    for name in ENDPOINTS:
        with django_assert_max_num_queries(3):
            assert api.get(reverse(name), {"half_life_days": "7.00"}).status_code == 200
    assert MetricSnapshot.objects.count() == count


def test_half_life_is_canonical_in_the_parameters():
    from metrics.params import attribution_params

    params = attribution_params(
        model="time_decay", start=START_DAY, end=START_DAY, half_life_days="10.00"
    )
    assert params["half_life_days"] == "10"
