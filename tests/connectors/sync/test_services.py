"""The sync services the admin calls (runs.py, probe.py), and the Celery tasks around the
engine."""

import datetime as dt

import pytest

from connectors import tasks
from connectors.models import Connector, SyncRun, SyncState
from connectors.sync.probe import connection_test
from connectors.sync.runs import connector_pause, connector_resume, sync_request, sync_state_reset
from tests.connectors.sync.helpers import sandbox_connector
from tests.factories import PullConnectorFactory, SyncStateFactory

pytestmark = pytest.mark.django_db


def test_sync_request_records_a_queued_run_and_enqueues_it_on_commit(
    enqueued, django_capture_on_commit_callbacks, integration_admin
):
    connector = PullConnectorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_request(
            connector,
            trigger="manual",
            mode="backfill",
            backfill_from=dt.date(2026, 1, 1),
            entities=["gl_lines"],
            user=integration_admin,
        )
        assert enqueued == []  # not before the run row is committed
    assert enqueued == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.trigger, run.mode, run.entities) == (
        "queued", "manual", "backfill", ["gl_lines"],
    )  # fmt: skip
    assert run.backfill_from == dt.date(2026, 1, 1) and run.requested_by == integration_admin
    assert run.celery_task_id == "celery-task-1"
    with pytest.raises(ValueError, match="backfill_from"):
        sync_request(connector, trigger="manual", mode="backfill")


def test_sync_state_reset_forgets_where_syncs_stand():
    connector = PullConnectorFactory()
    SyncStateFactory(connector=connector, entity="gl_lines")
    SyncStateFactory(connector=connector, entity="accounts")
    assert sync_state_reset(connector, entities=["accounts"]) == 1
    assert list(SyncState.objects.values_list("entity", flat=True)) == ["gl_lines"]
    assert sync_state_reset(connector) == 1
    assert not SyncState.objects.exists()


def test_pause_and_resume():
    connector = PullConnectorFactory(consecutive_failures=3)
    assert connector_pause(connector, "Source migration until Monday.")
    assert not connector_pause(connector, "Another reason")  # the first reason stays
    assert connector.pause_reason == "Source migration until Monday."
    assert connector_resume(connector)
    connector.refresh_from_db()
    assert connector.paused_at is None and connector.pause_reason == ""
    assert connector.consecutive_failures == 0
    assert not connector_resume(connector)


def test_connection_test_reports_latency_and_result(sandbox):
    connector = sandbox_connector(sandbox, "erp")
    result = connection_test(connector)
    assert result.ok and result.status_code == 200
    assert result.message == "Read 1 record of fx-rates." and result.latency_ms >= 0
    assert sandbox.stats()["requests"]["/erp/v1/fx-rates"] == 1

    sandbox.faults([{"fault": "unauthorized", "path": "/budget/v1/"}])
    result = connection_test(sandbox_connector(sandbox, "budget"))
    assert not result.ok and result.status_code == 401
    assert "refused the credentials (HTTP 401)" in result.message

    sandbox.faults([{"fault": "http_503", "path": "/crm/v1/"}])
    result = connection_test(sandbox_connector(sandbox, "crm"))
    assert not result.ok and result.status_code == 503
    assert sandbox.stats()["requests"]["/crm/v1/teams"] == 1  # tried once, no retries

    pushy = Connector.objects.create(name="Pushy", kind="crm", transport="push_only")
    assert connection_test(pushy).message == "push-only connector: nothing to pull"


def test_the_sync_task_runs_a_queued_run_once(sandbox):
    connector = sandbox_connector(sandbox, "billing")
    run = SyncRun.objects.create(connector=connector, trigger="manual")
    assert tasks.sync_connector.apply(kwargs={"run_id": run.pk}).get() == "succeeded"
    requests = sandbox.stats()["requests_total"]
    # A redelivered message (acks_late) finds the run finished and does nothing.
    assert tasks.sync_connector.apply(kwargs={"run_id": run.pk}).get() == "succeeded"
    assert sandbox.stats()["requests_total"] == requests
    assert tasks.sync_connector.acks_late and tasks.sync_connector.reject_on_worker_lost


def test_a_schedule_fire_records_a_scheduled_run(
    sandbox, enqueued, django_capture_on_commit_callbacks
):
    connector = sandbox_connector(sandbox, "billing")
    with django_capture_on_commit_callbacks(execute=True):
        fired = tasks.sync_schedule_fire.apply(kwargs={"connector_id": connector.pk})
    assert fired.get() == "succeeded"
    assert SyncRun.objects.get().trigger == "schedule"
    assert enqueued == []  # executed in the schedule's own task, not queued a second time
    with pytest.raises(ValueError, match="Unknown sync trigger"):
        sync_request(connector, trigger="cron")  # the checks every run request passes
    connector_pause(connector, "Holidays.")
    assert tasks.sync_schedule_fire.apply(kwargs={"connector_id": connector.pk}).get() == (
        "skipped"
    )
    assert SyncRun.objects.first().message == (
        "paused: Holidays. (resume the connector to sync again)"
    )
