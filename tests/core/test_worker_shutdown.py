"""SIGTERM stops a busy worker within its grace period, and its task goes back to the queue.

The signal goes to the worker's whole process group, as honcho (`make run`) and systemd send
it: before REMAP_SIGTERM=SIGQUIT the pool processes died of it mid-task and the worker could
then hang in its warm shutdown on the filesystem broker; and SIGTERM to the worker alone
waited for the running task however long it took. Runs on whichever broker is configured.
"""

import os
import signal
import subprocess
import time

import pytest
from django.conf import settings

from finhub.celery import app
from tests.celery_processes import _tail, celery_process, new_queue_name, wait_for, worker_args

# No rows are read or written: the plain (rolled back) database is only there for the worker.
pytestmark = [pytest.mark.worker, pytest.mark.django_db]

# The running task's soft-shutdown wait, then stopping the pool and the broker connection
# (the filesystem broker notices the shutdown at its next 2-second poll) and the interpreter.
GRACE_SECONDS = settings.CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT + 9


def test_sigterm_stops_a_busy_worker_in_its_grace_period_and_requeues_the_task(tmp_path):
    queue = new_queue_name()
    marker, log = tmp_path / "starts", tmp_path / "worker.log"
    args = [*worker_args(queue), "--concurrency", "2", "--include", "tests.core.worker_tasks"]
    with celery_process(args, log, new_session=True) as worker:
        sent = app.send_task(
            "tests.core.worker_tasks.hold",
            kwargs={"marker": str(marker), "seconds": 300},
            queue=queue,
        )
        wait_for(marker.exists, timeout=60, processes=[worker], logs=[log])
        signalled = time.monotonic()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=GRACE_SECONDS + 30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker ignored SIGTERM for {GRACE_SECONDS + 30}s:\n{_tail([log])}")
        stopped_after = time.monotonic() - signalled

    output = log.read_text()
    assert stopped_after <= GRACE_SECONDS, f"stopped after {stopped_after:.1f}s:\n{output}"
    assert "Cold shutdown" in output  # SIGTERM was remapped: bounded, not a warm shutdown
    assert "exited with 'signal 15 (SIGTERM)'" not in output  # the pool ignored the group's
    assert marker.read_text() == "started\n"
    # The unfinished task is back in its queue, not lost: the next worker runs it again.
    with app.connection_for_read() as connection:
        message = connection.default_channel.basic_get(queue, no_ack=True)
    assert message is not None, output
    assert message.headers["id"] == sent.id
