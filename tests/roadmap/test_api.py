from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from roadmap.models import ChecklistItem, Measurement

pytestmark = pytest.mark.django_db

BASE = "/api/v1/roadmap"


class FakeToken:
    """Stands in for connectors.ApiToken: token authentication puts it in request.auth."""

    def __init__(self, *scopes):
        self.scopes = scopes

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@pytest.fixture
def api():
    return APIClient()


def test_finance_viewer_reads_everything(api, programme, finance_viewer):
    api.force_authenticate(finance_viewer)
    phases = api.get(f"{BASE}/phases/").json()["results"]
    assert [p["number"] for p in phases] == [1, 2, 3, 4]
    assert len(phases[0]["work_items"]) == 4
    assert phases[0]["progress_percent"] == 0
    assert api.get(f"{BASE}/work-items/").json()["count"] == 16
    assert api.get(f"{BASE}/checklist-items/").json()["count"] == 20
    risks = api.get(f"{BASE}/risks/").json()["results"]
    assert len(risks) == 6
    assert [r["score"] for r in risks] == sorted((r["score"] for r in risks), reverse=True)
    metrics = api.get(f"{BASE}/metrics/").json()["results"]
    assert len(metrics) == 15
    one = api.get(f"{BASE}/metrics/financial_query_response_time/").json()
    assert (one["target_value"], one["unit"], one["direction"]) == ("2.0000", "seconds", "at_most")
    assert one["latest_value"] is None


def test_users_without_a_role_read_nothing(api, programme, no_role_user):
    api.force_authenticate(no_role_user)
    assert api.get(f"{BASE}/phases/").status_code == 403
    assert api.get(f"{BASE}/metrics/").status_code == 403


def test_anonymous_is_refused(api, programme):
    assert api.get(f"{BASE}/phases/").status_code in (401, 403)
    assert api.post(
        f"{BASE}/measurements/", {"metric_key": "api_reliability", "value": "99"}
    ).status_code in (401, 403)


def test_pm_patches_an_item_status(api, programme, project_manager):
    api.force_authenticate(project_manager)
    item = ChecklistItem.objects.get(key="p2-cac-monitoring")
    response = api.patch(
        f"{BASE}/checklist-items/{item.pk}/",
        {"status": "done", "evidence_url": "https://wiki.example/cac"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "done"
    assert body["completed_by"] == "pat"
    assert body["completed_at"] is not None
    item.refresh_from_db()
    assert item.evidence_url == "https://wiki.example/cac"
    assert item.history.latest().history_user == project_manager
    phase2 = api.get(f"{BASE}/phases/").json()["results"][1]
    assert phase2["progress_percent"] == 25


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"status": "finished"}, "status"), ({}, "non_field_errors"), ({"owner": 3}, None)],
)
def test_patch_with_bad_input_is_400_and_changes_nothing(
    api, programme, project_manager, payload, field
):
    api.force_authenticate(project_manager)
    item = ChecklistItem.objects.get(key="p2-cac-monitoring")
    response = api.patch(f"{BASE}/checklist-items/{item.pk}/", payload, format="json")
    assert response.status_code == 400
    if field:
        assert field in response.json()
    item.refresh_from_db()
    assert item.status == "todo" and item.history.count() == 1


def test_finance_viewer_cannot_patch(api, programme, finance_viewer):
    api.force_authenticate(finance_viewer)
    item = ChecklistItem.objects.get(key="p2-cac-monitoring")
    response = api.patch(f"{BASE}/checklist-items/{item.pk}/", {"status": "done"}, format="json")
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.status == "todo"


def test_pm_posts_a_measurement_by_key(api, programme, project_manager):
    api.force_authenticate(project_manager)
    response = api.post(
        f"{BASE}/measurements/",
        {"metric_key": "financial_query_response_time", "value": "1.42", "note": "p95"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "manual"
    assert response.json()["recorded_by"] == "pat"
    m = Measurement.objects.get()
    assert m.value == Decimal("1.42") and m.recorded_by == project_manager
    metric = api.get(f"{BASE}/metrics/financial_query_response_time/").json()
    assert metric["latest_value"] == "1.4200"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"metric_key": "no_such_metric", "value": "1"},
            "metric_key",
            "Unknown success metric key 'no_such_metric'.",
        ),
        ({"metric_key": "api_reliability", "value": "ninety"}, "value", "valid number"),
        ({"metric_key": "api_reliability", "value": "NaN"}, "value", "valid number"),
        ({"metric_key": "api_reliability"}, "value", "required"),
        (
            {"metric_key": "api_reliability", "value": "99", "source": "robot"},
            "source",
            "'manual' or 'auto:",
        ),
        (
            {"metric_key": "api_reliability", "value": "99", "measured_at": "2999-01-01T00:00Z"},
            "measured_at",
            "future",
        ),
    ],
)
def test_bad_measurements_are_400_with_a_clear_message_and_write_nothing(
    api, programme, project_manager, payload, field, message
):
    api.force_authenticate(project_manager)
    response = api.post(f"{BASE}/measurements/", payload, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors
    assert message in " ".join(errors[field])
    assert Measurement.objects.count() == 0


def test_finance_viewer_cannot_post_measurements(api, programme, finance_viewer):
    api.force_authenticate(finance_viewer)
    response = api.post(
        f"{BASE}/measurements/", {"metric_key": "api_reliability", "value": "99"}, format="json"
    )
    assert response.status_code == 403
    assert Measurement.objects.count() == 0


def test_a_token_with_the_measurement_scope_may_post(api, programme):
    api.force_authenticate(user=None, token=FakeToken("roadmap.measurements"))
    response = api.post(
        f"{BASE}/measurements/",
        {
            "metric_key": "sales_finance_consistency",
            "value": "96.1",
            "source": "auto:connectors.reconciliation",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    m = Measurement.objects.get()
    assert m.source == "auto:connectors.reconciliation" and m.recorded_by is None


def test_a_token_without_the_scope_may_not(api, programme, integration_admin):
    api.force_authenticate(user=integration_admin, token=FakeToken("connectors.write"))
    response = api.post(
        f"{BASE}/measurements/", {"metric_key": "api_reliability", "value": "99"}, format="json"
    )
    assert response.status_code == 403
    assert Measurement.objects.count() == 0


def test_a_real_api_token_with_the_scope_records_a_measurement(api, programme):
    from connectors.services import api_token_create
    from tests.factories import ConnectorFactory

    token, plaintext = api_token_create(
        connector=ConnectorFactory(), name="reconciliation", scopes=["roadmap.measurements"]
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = api.post(
        f"{BASE}/measurements/",
        {"metric_key": "data_sync_accuracy", "value": "99.93"},
        format="json",
    )
    assert response.status_code == 201, response.content
    m = Measurement.objects.get()
    assert m.source == f"auto:token.{token.prefix}"
    assert m.recorded_by is None
    assert m.history.latest().history_user is None

    _unscoped, other = api_token_create(connector=ConnectorFactory(), name="ingest")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {other}")
    response = api.post(
        f"{BASE}/measurements/", {"metric_key": "data_sync_accuracy", "value": "1"}, format="json"
    )
    assert response.status_code == 403
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    assert api.patch(f"{BASE}/checklist-items/{item.pk}/", {"status": "done"}).status_code == 403
    assert Measurement.objects.count() == 1


def test_checklist_lists_pre_implementation_first_then_phases_in_order(
    api, programme, finance_viewer
):
    api.force_authenticate(finance_viewer)
    items = api.get(f"{BASE}/checklist-items/").json()["results"]
    assert [i["kind"] for i in items[:4]] == ["pre_implementation"] * 4
    assert [i["phase"] for i in items[4:]] == [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4
    filtered = api.get(f"{BASE}/checklist-items/", {"phase__number": 2, "status": "todo"}).json()
    assert filtered["count"] == 4
