"""The subscriptions, cohorts, CS ROI and initiative ROI endpoints: permission, token scope,
parameters, snapshots, query bounds and the OpenAPI schema."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from connectors.services import api_token_create
from metrics.models import MetricSnapshot
from tests import factories as f
from tests.metrics.wiring.retention_data import initiatives_dataset, subscriptions_dataset

pytestmark = pytest.mark.django_db

ENDPOINTS = (
    ("metrics-subscriptions", "subscriptions"),
    ("metrics-subscription-customers", "subscription_customers"),
    ("metrics-cohorts", "cohorts"),
    ("metrics-cs-roi", "cs_roi"),
    ("metrics-initiative-roi", "initiative_roi"),
)
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def api(finance_viewer):
    client = APIClient()
    client.force_authenticate(finance_viewer)
    return client


@pytest.fixture
def data(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_BASELINE_MONTHS = 2
    settings.FINHUB_CS_DEPARTMENTS = ["Customer Success"]
    subscriptions_dataset()
    initiatives_dataset()


@pytest.mark.parametrize(("name", "_kind"), ENDPOINTS)
def test_needs_view_dashboards(no_role_user, name, _kind):
    client = APIClient()
    client.force_authenticate(no_role_user)
    assert client.get(reverse(name)).status_code == 403
    assert APIClient().get(reverse(name)).status_code in (401, 403)


@pytest.mark.parametrize(("name", "_kind"), ENDPOINTS)
def test_a_token_needs_the_read_all_scope(name, _kind):
    connector = f.ConnectorFactory()
    _narrow, narrow_secret = api_token_create(connector=connector, name="n", can_read=True)
    _wide, wide_secret = api_token_create(
        connector=connector, name="w", can_read=True, scopes=["read.all"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {narrow_secret}")
    assert client.get(reverse(name), MARCH).status_code == 403
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {wide_secret}")
    assert client.get(reverse(name), MARCH).status_code == 200


@pytest.mark.parametrize(("name", "_kind"), ENDPOINTS)
def test_bad_period_is_400_naming_the_parameter(api, name, _kind):
    response = api.get(reverse(name), {"start": "2026-03-31", "end": "2026-03-01"})
    assert response.status_code == 400
    assert "end" in response.json()
    assert not MetricSnapshot.objects.exists()


@pytest.mark.parametrize(("name", "kind"), ENDPOINTS)
def test_computes_on_demand_then_reads_the_snapshot(
    api, data, name, kind, django_assert_max_num_queries
):
    # On demand: a fixed number whatever the data size (the report's reads, the freshness of
    # each source table, the upsert; the subscriptions report also asks whether the ledger
    # pre-aggregates are valid, and the month tables — subscriptions, cohorts — whether a
    # stored report covers the period); initiative ROI reads six source tables.
    with django_assert_max_num_queries(28 if kind == "initiative_roi" else 27):
        response = api.get(reverse(name), MARCH)
    assert response.status_code == 200
    assert response.json()["kind"] == kind
    assert MetricSnapshot.objects.filter(kind=kind).count() == 1
    with django_assert_max_num_queries(3):
        again = api.get(reverse(name), MARCH)
    assert again.json()["result"] == response.json()["result"]


def test_figures_through_the_api(api, data):
    subscriptions = api.get(reverse("metrics-subscriptions"), MARCH).json()["result"]
    assert subscriptions["months"][0]["ending_mrr"] == "480.00"
    smb = api.get(reverse("metrics-subscriptions"), {**MARCH, "segment": "SMB"}).json()
    assert smb["params"]["segment"] == "SMB"
    assert smb["result"]["months"][0]["ending_mrr"] == "120.00"
    movers = api.get(reverse("metrics-subscription-customers"), MARCH).json()["result"]
    (march,) = movers["months"]
    new_mrr = subscriptions["months"][0]["new_mrr"]
    assert sum(Decimal(c["amount"]) for c in march["customers"]["new"]) == Decimal(new_mrr)
    cs = api.get(reverse("metrics-cs-roi"), MARCH).json()["result"]
    assert cs["total"]["roi"] == "1.0800000000"
    initiatives = api.get(reverse("metrics-initiative-roi"), MARCH).json()["result"]
    assert initiatives["coverage"]["development_roi_tracking_coverage"] == "42.8571428571"
    cohorts = api.get(reverse("metrics-cohorts"), MARCH).json()["result"]
    assert [row["cohort"] for row in cohorts["cohorts"]] == ["2026-03-01"]


def test_documented_in_the_openapi_schema(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    for path in ("subscriptions", "subscription-customers", "cohorts", "cs-roi", "initiative-roi"):
        operation = schema["paths"][f"/api/v1/metrics/{path}/"]["get"]
        assert operation["tags"] == ["metrics"]
        assert {p["name"] for p in operation["parameters"]} >= {"start", "end"}
    parameters = schema["paths"]["/api/v1/metrics/subscriptions/"]["get"]["parameters"]
    assert {p["name"] for p in parameters} >= {"segment", "channel"}
