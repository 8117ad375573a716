"""The reaper: runs whose worker was lost are abandoned and retried from committed state."""

import datetime as dt

import pytest
from django.utils import timezone

from connectors import tasks
from connectors.models import Connector, SyncRun
from connectors.sync.engine import sync_run_execute
from connectors.sync.reaper import sync_runs_reap
from records.models import GLLine
from tests.connectors.sync.helpers import assert_equals_source, run_sync, sandbox_connector

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the engine gets to record the failure."""


def test_a_lost_run_is_abandoned_and_a_retry_resumes_it(
    sandbox, enqueued, django_capture_on_commit_callbacks
):
    connector = sandbox_connector(
        sandbox, "erp", entities=("departments", "accounts", "gl_lines"), page_size=100
    )

    def kill(ctx, entity, number):
        if entity == "gl_lines" and number == 2:
            raise Killed

    with pytest.raises(Killed):
        run_sync(connector, after_page=kill)
    lost = SyncRun.objects.get()
    assert lost.status == "running"  # nobody recorded its end
    committed = GLLine.objects.filter(source=connector).count()
    assert committed == 200
    # As after SIGKILL: the lease still names the lost run, its heartbeat ages.
    stale = timezone.now() - dt.timedelta(seconds=121)
    SyncRun.objects.filter(pk=lost.pk).update(heartbeat_at=stale)
    Connector.objects.filter(pk=connector.pk).update(
        lock_run_id=lost.pk, lock_expires_at=timezone.now() + dt.timedelta(seconds=60)
    )

    with django_capture_on_commit_callbacks(execute=True):
        [retry] = sync_runs_reap()
    lost.refresh_from_db()
    assert lost.status == "abandoned"
    assert lost.message.startswith("worker lost: no heartbeat since ")
    assert (retry.trigger, retry.mode, retry.resumed_from_id, retry.status) == (
        "retry", "incremental", lost.pk, "queued",
    )  # fmt: skip
    assert enqueued == [retry.pk]
    connector.refresh_from_db()
    assert connector.lock_run_id is None and connector.consecutive_failures == 1

    done = sync_run_execute(retry.pk)
    assert done.status == "succeeded", done.message
    assert done.entity_stats["gl_lines"]["created"] == (
        len(sandbox.live_rows("erp", "gl-lines")) - committed
    )
    assert_equals_source(sandbox, connector)
    assert sync_runs_reap() == []


def test_a_fresh_heartbeat_is_left_alone():
    from tests.factories import SyncRunFactory

    run = SyncRunFactory(status="running", heartbeat_at=timezone.now(), finished_at=None)
    assert sync_runs_reap() == []
    run.refresh_from_db()
    assert run.status == "running"


def test_a_connector_that_keeps_losing_its_worker_is_paused(settings, enqueued):
    from tests.factories import PullConnectorFactory, SyncRunFactory

    settings.FINHUB_CONNECTOR_MAX_FAILURES = 3
    connector = PullConnectorFactory(consecutive_failures=2)
    SyncRunFactory(
        connector=connector,
        status="running",
        finished_at=None,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=10),
    )
    assert sync_runs_reap() == []
    connector.refresh_from_db()
    assert connector.paused_at is not None
    assert connector.pause_reason.startswith("Paused after 3 failed runs in a row; last: run #")
    assert enqueued == []


def test_the_reaper_task_and_its_schedule():
    from django_celery_beat.models import PeriodicTask

    schedule = PeriodicTask.objects.get(name="connectors: reap lost sync runs")
    assert schedule.task == "connectors.tasks.sync_runs_reap"
    assert schedule.interval.every == 60 and schedule.interval.period == "seconds"
    assert tasks.sync_runs_reap.apply().get() == 0


def test_a_run_whose_message_was_lost_is_sent_again_once_per_stale_period(enqueued, settings):
    from connectors.sync.reaper import queued_runs_resend
    from tests.factories import ConnectorFactory

    connector = ConnectorFactory()
    now = timezone.now()
    old = SyncRun.objects.create(
        connector=connector,
        trigger=SyncRun.Trigger.MANUAL,
        created_at=now - dt.timedelta(seconds=settings.FINHUB_SYNC_STALE_SECONDS + 5),
    )
    fresh = SyncRun.objects.create(connector=connector, trigger=SyncRun.Trigger.MANUAL)

    assert queued_runs_resend(now=now) == [old.pk]
    assert enqueued == [old.pk]
    # Sent again: not re-sent before another stale period has passed.
    assert queued_runs_resend(now=now + dt.timedelta(seconds=1)) == []
    later = now + dt.timedelta(seconds=settings.FINHUB_SYNC_STALE_SECONDS + 1)
    assert queued_runs_resend(now=later) == [old.pk, fresh.pk]
    # Once a worker claims a run, it is no longer queued and never re-sent.
    sync_run_execute(old.pk)
    assert queued_runs_resend(now=later + dt.timedelta(hours=1)) == [fresh.pk]
