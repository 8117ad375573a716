"""The connector health page: figures per connector, permissions, bounded queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors import schedules_service
from connectors.selectors import connector_health_list
from tests.factories import (
    ConnectorFactory,
    PullConnectorFactory,
    ReconciliationResultFactory,
    SyncRunFactory,
)

pytestmark = pytest.mark.django_db
URL = "/connectors/health/"


def test_url_name():
    assert reverse("connectors:health") == URL


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


@pytest.fixture
def erp():
    """Hand-made history: 7 days: 3 succeeded, 1 failed, 1 skipped; 8-30 days: 1 failed."""
    erp = PullConnectorFactory(name="ERP", slug="erp", last_success_at=ago(hours=3))
    schedules_service.connector_schedule_set(connector=erp, kind="interval", every_minutes=15)
    for hours, status, requests, failures, read, created in [
        (3, "succeeded", 10, 0, 100, 100),
        (5, "succeeded", 10, 2, 50, 0),
        (6, "failed", 4, 4, 0, 0),
        (7, "skipped", 0, 0, 0, 0),
        (30, "succeeded", 6, 0, 10, 5),
        (24 * 10, "failed", 10, 10, 0, 0),
        (24 * 40, "succeeded", 10, 0, 999, 999),  # outside both windows
    ]:
        run = SyncRunFactory(
            connector=erp,
            created_at=ago(hours=hours),
            status=status,
            requests=requests,
            request_failures=failures,
            rows_read=read,
            rows_created=created,
        )
    latest = erp.sync_runs.get(created_at__gte=ago(hours=3, minutes=1))
    latest.reconciliation_matched_pct = Decimal("95.00")
    latest.save()
    for month, matched in [(1, True), (2, True), (3, False)]:
        ReconciliationResultFactory(
            run=latest, month=timezone.datetime(2026, month, 1).date(), matched=matched
        )
    # An older reconciled run does not count: the last one does.
    ReconciliationResultFactory(run=run, matched=False)
    return erp


def test_figures_per_connector(erp):
    (health,) = connector_health_list()
    week, month = health.week, health.month
    assert (week.runs_counted, week.runs_succeeded) == (4, 3)
    assert week.success_rate == Decimal("75.0")
    assert (month.runs_counted, month.runs_succeeded) == (5, 3)
    assert month.success_rate == Decimal("60.0")
    assert (week.requests, week.request_failures) == (30, 6)
    assert week.uptime == Decimal("80.0")
    assert month.uptime == Decimal("60.0")  # (30 + 10) requests, (6 + 10) failed: 24 / 40
    assert (week.rows_read, week.rows_changed) == (160, 105)
    assert [chip.status for chip in health.recent_runs] == [
        "succeeded",
        "succeeded",
        "failed",
        "skipped",
        "succeeded",
        "failed",
    ]
    assert (health.reconciliation_pct, health.reconciliation_buckets) == (Decimal("95.00"), 3)
    assert health.reconciliation_mismatched == 1
    assert health.freshness.status == "stale"  # 3 hours > twice the 15-minute interval
    assert health.schedule == "Every 15 minutes"


def test_no_runs_means_dashes(client, integration_admin):
    PullConnectorFactory(name="CRM")
    (health,) = connector_health_list()
    assert health.week.success_rate is None and health.week.uptime is None
    client.force_login(integration_admin)
    page = client.get(URL).content.decode()
    assert "No runs in 30 days" in page
    assert page.count("—") >= 7  # success x2, uptime x2, rows x2, reconciliation


def test_page_shows_formatted_figures_and_links_runs(client, integration_admin, erp):
    client.force_login(integration_admin)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="connector-erp"' in page
    for text in ("75.0%", "60.0%", "80.0%", "95.00% matched", "1 of 3 buckets differ"):
        assert text in page, text
    assert "Stale: last good sync 3 hours ago." in page
    run = erp.sync_runs.order_by("-created_at").first()
    assert f"/admin/connectors/syncrun/{run.pk}/change/" in page


def test_thousands_are_separated(client, integration_admin):
    SyncRunFactory(connector=PullConnectorFactory(name="ERP"), rows_read=1234567)
    client.force_login(integration_admin)
    assert "1,234,567" in client.get(URL).content.decode()


def test_finance_viewer_and_project_manager_may_see_it(client, finance_viewer, project_manager):
    run = SyncRunFactory(connector=PullConnectorFactory(name="ERP"))
    for user in (finance_viewer, project_manager):
        client.force_login(user)
        response = client.get(URL)
        assert response.status_code == 200
        # Staff with view_syncrun: the run links to its (read-only) admin page.
        assert f"/admin/connectors/syncrun/{run.pk}/change/" in response.content.decode()


def test_others_get_403_and_anonymous_the_login(client, no_role_user):
    assert client.get(URL).status_code == 302
    client.force_login(no_role_user)
    assert client.get(URL).status_code == 403


def test_push_only_connectors_are_not_listed(client, integration_admin):
    ConnectorFactory(name="Push API", transport="push_only")
    client.force_login(integration_admin)
    assert "No connector pulls data yet." in client.get(URL).content.decode()


def _history(name: str) -> None:
    connector = PullConnectorFactory(name=name, last_success_at=ago(minutes=5))
    schedules_service.connector_schedule_set(connector=connector, kind="interval", every_minutes=15)
    for hours in range(12):
        run = SyncRunFactory(connector=connector, created_at=ago(hours=hours, minutes=1))
    run.reconciliation_matched_pct = Decimal("100.00")
    run.save()
    ReconciliationResultFactory(run=run)


def test_query_count_does_not_grow_with_connectors(
    client, integration_admin, django_assert_num_queries
):
    client.force_login(integration_admin)
    _history("Connector 0")
    client.get(URL)  # warm-up: session, user and permission caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).status_code == 200
    for i in range(1, 5):
        _history(f"Connector {i}")
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(URL)
    assert response.content.decode().count('data-status="fresh"') == 5
    # The selector itself: five queries (the fifth: API reliability per connector).
    with django_assert_num_queries(5):
        assert len(connector_health_list()) == 5


def test_role_permissions_for_sync_history(finance_viewer, project_manager, integration_admin):
    for user in (finance_viewer, project_manager):
        assert user.has_perms(["connectors.view_syncrun", "connectors.view_connector"])
        assert not user.has_perm("connectors.change_connector")
    assert integration_admin.has_perms(
        [
            "connectors.change_connector",
            "connectors.view_syncrun",
            "connectors.view_syncstate",
            "connectors.view_reconciliationresult",
        ]
    )
