"""Background jobs for connectors (thin: they call services)."""

from celery import shared_task

from connectors.models import Connector, SyncRun
from connectors.services import api_reliability_push, idempotency_keys_purge
from connectors.sync import reaper
from connectors.sync.engine import sync_run_execute
from connectors.sync.runs import sync_request


@shared_task(acks_late=True, expires=3600)
def idempotency_keys_purge_expired() -> int:
    return idempotency_keys_purge()


# acks_late + reject_on_worker_lost: a worker killed mid-sync leaves the message to be
# redelivered; the run row decides what happens then (a claimed or finished run is not run
# again; the reaper abandons a run that lost its worker and queues a retry that resumes).
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def sync_connector(self, run_id: int) -> str:
    """Execute the queued SyncRun ``run_id``; a no-op when it was already claimed."""
    return sync_run_execute(run_id, task_id=self.request.id or "").status


# expires: a reaper message stuck behind a backlog is useless once the next one is due.
@shared_task(acks_late=True, expires=60)
def sync_runs_reap() -> int:
    """Abandon runs whose worker was lost and queue their retries, and re-send the task of
    runs whose message was lost; returns how many runs were acted on."""
    return len(reaper.sync_runs_reap()) + len(reaper.queued_runs_resend())


# expires: a scheduled sync queued for more than 15 minutes is superseded by the next one.
@shared_task(acks_late=True, reject_on_worker_lost=True, expires=15 * 60)
def sync_schedule_fire(connector_id: int) -> str:
    """A connector's beat schedule: record a scheduled run and execute it in this task."""
    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        return "missing"
    run = sync_request(connector, trigger=SyncRun.Trigger.SCHEDULE, enqueue=False)
    return sync_run_execute(run.pk).status


# expires: a daily push stuck in a backlog is superseded by the next sync's or day's push.
@shared_task(acks_late=True, expires=6 * 3600)
def api_reliability_measure() -> bool:
    """Push API reliability (30 days) to the scorecard; False when nothing was pushed."""
    return api_reliability_push()
