"""Connector operations from the admin (list actions and change-page buttons) and the
read-only sync run history."""

import datetime

import pytest

from connectors.credentials import credentials_set
from connectors.models import Connector, SyncRun, SyncState
from connectors.sandbox.mappings import SANDBOX_CREDENTIALS, demo_connector_values
from records.models import RejectedRecord
from tests.factories import (
    PullConnectorFactory,
    ReconciliationResultFactory,
    RejectedRecordFactory,
    SyncRunFactory,
    SyncStateFactory,
)

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/connectors/connector/"


def detail_url(connector, operation: str) -> str:
    return f"/admin/connectors/connector/{connector.pk}/{operation}/"


def list_action(client, action: str, connectors, **extra):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [c.pk for c in connectors], **extra},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def sandbox_connector(sandbox, system="crm", **overrides) -> Connector:
    values = demo_connector_values(sandbox.url, system)
    credentials = values.pop("credentials")
    connector = Connector.objects.create(**values | overrides)
    credentials_set(connector, credentials)
    return connector


def test_sync_now_and_full_refresh_queue_runs(
    client, integration_admin, django_capture_on_commit_callbacks
):
    erp, crm = PullConnectorFactory(name="ERP"), PullConnectorFactory(name="CRM")
    client.force_login(integration_admin)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = list_action(client, "sync_now", [erp, crm])
    assert len(callbacks) == 2  # each run is enqueued once the transaction commits
    runs = SyncRun.objects.order_by("connector__name")
    assert [(r.connector.name, r.trigger, r.mode, r.status) for r in runs] == [
        ("CRM", "manual", "incremental", "queued"),
        ("ERP", "manual", "incremental", "queued"),
    ]
    assert all(r.requested_by == integration_admin for r in runs)
    assert any("ERP: incremental sync queued" in m for m in messages_of(response))

    # Full refresh asks first (it soft-deletes what the source no longer has).
    response = list_action(client, "full_refresh", [erp])
    assert "operation-confirm" in response.content.decode()
    assert SyncRun.objects.filter(mode="full_refresh").count() == 0
    with django_capture_on_commit_callbacks(execute=False):
        list_action(client, "full_refresh", [erp], confirm="yes")
    assert SyncRun.objects.get(mode="full_refresh").connector == erp


def test_backfill_asks_for_the_date(client, integration_admin, django_capture_on_commit_callbacks):
    erp = PullConnectorFactory(name="ERP")
    client.force_login(integration_admin)
    page = list_action(client, "backfill", [erp])
    assert 'name="backfill_from"' in page.content.decode()
    bad = list_action(client, "backfill", [erp], confirm="yes", backfill_from="2999-01-01")
    assert "cannot be in the future" in bad.content.decode()
    assert not SyncRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        done = list_action(client, "backfill", [erp], confirm="yes", backfill_from="2026-03-01")
    run = SyncRun.objects.get()
    assert (run.mode, run.backfill_from) == ("backfill", datetime.date(2026, 3, 1))
    assert any("from 01 Mar 2026 queued" in m for m in messages_of(done))

    # The same from the change page: GET shows the form, POST queues.
    assert 'name="backfill_from"' in client.get(detail_url(erp, "backfill")).content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(detail_url(erp, "backfill"), {"backfill_from": "2026-05-01"})
    assert response.status_code == 302
    assert SyncRun.objects.filter(backfill_from=datetime.date(2026, 5, 1)).exists()


def test_detail_buttons_confirm_on_get_and_act_on_post(
    client, integration_admin, django_capture_on_commit_callbacks
):
    erp = PullConnectorFactory(name="ERP")
    client.force_login(integration_admin)
    change_page = client.get(f"/admin/connectors/connector/{erp.pk}/change/").content.decode()
    for operation in ("sync-now", "full-refresh", "reset-state", "pause", "test-connection"):
        assert detail_url(erp, operation) in change_page
    assert client.get(detail_url(erp, "sync-now")).status_code == 200
    assert not SyncRun.objects.exists()  # a GET changes nothing
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(detail_url(erp, "sync-now"))
    assert response.status_code == 302
    assert SyncRun.objects.get().mode == "incremental"


def test_reset_state_pause_and_resume(client, integration_admin):
    erp = PullConnectorFactory(name="ERP", consecutive_failures=2)
    SyncStateFactory(connector=erp, entity="gl_lines")
    SyncStateFactory(connector=erp, entity="accounts")
    client.force_login(integration_admin)
    list_action(client, "reset_state", [erp], confirm="yes")
    assert not SyncState.objects.filter(connector=erp).exists()

    response = list_action(client, "pause", [erp])
    erp.refresh_from_db()
    assert erp.paused_at is not None and erp.pause_reason == "paused by ivan in the admin"
    assert "ERP paused." in messages_of(response)
    assert "ERP was already paused." in messages_of(list_action(client, "pause", [erp]))

    response = client.post(detail_url(erp, "resume"), follow=True)
    erp.refresh_from_db()
    assert (erp.paused_at, erp.consecutive_failures) == (None, 0)
    assert "ERP resumed." in messages_of(response)


def test_reprocess_rejected_records_of_the_connector(client, integration_admin):
    erp, other = PullConnectorFactory(name="ERP"), PullConnectorFactory(name="CRM")
    fixable = RejectedRecordFactory(
        source=erp,
        entity="channels",
        external_id="ch-1",
        payload={"external_id": "ch-1", "name": "Search"},
    )
    broken = RejectedRecordFactory(source=erp, entity="channels", external_id="ch-2")
    untouched = RejectedRecordFactory(source=other, entity="channels", external_id="ch-3")
    client.force_login(integration_admin)
    response = list_action(client, "reprocess_rejected", [erp])
    assert "ERP: 1 reprocessed, 1 still rejected, 0 skipped" in " ".join(messages_of(response))
    statuses = dict(RejectedRecord.objects.values_list("pk", "status"))
    assert statuses == {fixable.pk: "reprocessed", broken.pk: "open", untouched.pk: "open"}


def test_test_connection_against_the_sandbox_shows_latency(client, integration_admin, sandbox):
    crm = sandbox_connector(sandbox, "crm")
    client.force_login(integration_admin)
    response = list_action(client, "test_connection", [crm])
    (message,) = messages_of(response)
    assert message.startswith("Sandbox CRM: connection OK (HTTP 200, ")
    assert " ms)" in message

    credentials_set(crm, {"token": "wrong-token-value"})
    response = client.post(detail_url(crm, "test-connection"), follow=True)
    (message,) = messages_of(response)
    assert message.startswith("Sandbox CRM: connection failed (HTTP 401")
    assert "wrong-token-value" not in response.content.decode()
    assert SANDBOX_CREDENTIALS["crm"]["token"] not in response.content.decode()


def test_operations_need_change_permission(client, finance_viewer):
    erp = PullConnectorFactory(name="ERP")
    client.force_login(finance_viewer)
    changelist = client.get(CHANGELIST).content.decode()
    assert "sync_now" not in changelist
    response = client.post(CHANGELIST, {"action": "sync_now", "_selected_action": [erp.pk]})
    assert not SyncRun.objects.exists()
    for operation in ("sync-now", "pause", "test-connection", "backfill"):
        assert client.post(detail_url(erp, operation)).status_code == 403
    assert response.status_code in (200, 302)


def test_changelist_columns(client, integration_admin):
    now = datetime.datetime.now(datetime.UTC)
    PullConnectorFactory(name="ERP", last_success_at=now - datetime.timedelta(hours=3))
    PullConnectorFactory(name="CRM", consecutive_failures=2)
    PullConnectorFactory(name="Budget", paused_at=now, pause_reason="x")
    PullConnectorFactory(name="Billing")
    client.force_login(integration_admin)
    page = client.get(CHANGELIST).content.decode()
    for text in ("Fresh", "Failing", "Paused", "Never synced", "3 hours ago", "Manual only"):
        assert text in page


# --- sync run history -------------------------------------------------------------------


def test_sync_run_admin_lists_and_details_read_only(client, integration_admin):
    run = SyncRunFactory(
        connector=PullConnectorFactory(name="ERP"),
        rows_read=1234,
        rows_created=1200,
        rows_rejected=34,
        reconciliation_matched_pct="97.50",
        entity_stats={"gl_lines": {"rows_read": 1234}},
        traceback="Traceback (most recent call last): boom",
    )
    ReconciliationResultFactory(run=run, entity="gl_lines", matched=False, finhub_count=9)
    client.force_login(integration_admin)
    listing = client.get("/admin/connectors/syncrun/").content.decode()
    assert "97.50%" in listing and "1,234" in listing
    assert client.get("/admin/connectors/syncrun/?status__exact=succeeded").status_code == 200
    detail = client.get(f"/admin/connectors/syncrun/{run.pk}/change/").content.decode()
    assert "boom" in detail  # integration admins see the traceback
    assert "gl_lines" in detail and "rows_read" in detail
    assert client.get("/admin/connectors/syncrun/add/").status_code == 403
    assert client.post(f"/admin/connectors/syncrun/{run.pk}/delete/").status_code == 403


def test_traceback_is_for_connector_admins_only(client, finance_viewer):
    run = SyncRunFactory(status="failed", traceback="Traceback: secret internals")
    client.force_login(finance_viewer)
    detail = client.get(f"/admin/connectors/syncrun/{run.pk}/change/")
    assert detail.status_code == 200
    assert "secret internals" not in detail.content.decode()
