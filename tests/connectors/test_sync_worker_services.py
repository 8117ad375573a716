"""A real Celery worker killed (SIGKILL) in the middle of a sync, on PostgreSQL and Redis.

The worker runs the sync task against the sandbox served by this test process over real
HTTP. It is killed once some pages are committed; the reaper then abandons the run (its
heartbeat went stale) and queues a retry, which a second worker executes: it resumes from
the committed state and the database ends equal to the source, with nothing lost and
nothing counted twice.
"""

import os
import signal
import time

import pytest

from connectors.models import Connector, SyncRun, SyncState
from connectors.sync.reaper import sync_runs_reap
from connectors.tasks import sync_connector
from tests.celery_processes import celery_process, new_queue_name, wait_for, worker_args
from tests.connectors.sync.helpers import assert_equals_source, sandbox_connector

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

STALE_SECONDS = 3
ENTITIES = ["accounts", "departments", "gl_lines"]


def solo_worker_args(queue: str) -> list[str]:
    # The solo pool runs the task in the worker process itself, so SIGKILL kills the sync
    # mid-page exactly as an out-of-memory kill or a lost machine would.
    return [*worker_args(queue), "--pool", "solo"]


def test_sigkilled_worker_is_followed_by_a_run_that_resumes(
    sandbox, settings, monkeypatch, tmp_path
):
    queue = new_queue_name()
    # The workers (child processes) and the reaper (here) agree on when a run is stale.
    monkeypatch.setenv("FINHUB_SYNC_STALE_SECONDS", str(STALE_SECONDS))
    settings.FINHUB_SYNC_STALE_SECONDS = STALE_SECONDS
    # Retries the reaper queues go to this test's queue, not to a `make run` worker's.
    monkeypatch.setattr(
        sync_connector,
        "delay",
        lambda **kwargs: sync_connector.apply_async(kwargs=kwargs, queue=queue),
    )
    # Slow ledger pages, so the kill lands in the middle of the sync.
    sandbox.faults([{"fault": "slow", "path": "/erp/v1/gl-lines", "seconds": 0.4}])
    connector = sandbox_connector(sandbox, "erp", entities=ENTITIES, page_size=20)
    run = SyncRun.objects.create(
        connector=connector, trigger=SyncRun.Trigger.MANUAL, entities=ENTITIES
    )

    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    with celery_process(solo_worker_args(queue), first_log) as worker:
        sync_connector.apply_async(kwargs={"run_id": run.pk}, queue=queue)

        def some_ledger_pages_committed() -> bool:
            state = SyncState.objects.filter(connector=connector, entity="gl_lines").first()
            return state is not None and bool(state.cursor)

        wait_for(some_ledger_pages_committed, timeout=90, processes=[worker], logs=[first_log])
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING  # the row still says so: nobody finished it
    committed_before_kill = run.rows_read
    assert committed_before_kill > 0

    sandbox.clear_faults()
    time.sleep(STALE_SECONDS + 1)
    with celery_process(worker_args(queue), second_log) as worker:
        (retry,) = sync_runs_reap()
        wait_for(
            lambda: SyncRun.objects.get(pk=retry.pk).status in SyncRun.FINISHED,
            timeout=120,
            processes=[worker],
            logs=[second_log],
        )

    run.refresh_from_db()
    retry.refresh_from_db()
    assert run.status == SyncRun.Status.ABANDONED
    assert "worker lost" in run.message
    assert retry.status == SyncRun.Status.SUCCEEDED, retry.message
    assert (retry.trigger, retry.resumed_from_id) == (SyncRun.Trigger.RETRY, run.pk)
    # It resumed: the rows committed before the kill were not written again.
    total = sum(
        len(sandbox.live_rows("erp", resource))
        for resource in ("accounts", "departments", "gl-lines")
    )
    assert retry.rows_created == total - (run.rows_created)
    assert retry.rows_read < total
    assert retry.reconciliation_matched_pct == 100
    assert_equals_source(sandbox, connector)
    connector.refresh_from_db()
    assert connector.lock_run_id is None
    assert Connector.objects.get(pk=connector.pk).consecutive_failures == 0
