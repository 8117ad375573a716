"""Scenarios shared by the embedded (SQLite + filesystem broker) and the services
(PostgreSQL + Redis) test modules: the same proof on both stacks."""

import json
from pathlib import Path

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from finhub.core.models import Heartbeat
from finhub.core.tasks import heartbeat
from tests.celery_processes import (
    beat_args,
    celery_process,
    new_queue_name,
    wait_for,
    worker_args,
)


def task_reaches_worker_and_writes(tmp_path: Path) -> Heartbeat:
    queue = new_queue_name()
    worker_log = tmp_path / "worker.log"
    with celery_process(worker_args(queue), worker_log) as worker:
        heartbeat.apply_async(kwargs={"source": queue}, queue=queue)
        wait_for(
            lambda: Heartbeat.objects.filter(source=queue).exists(),
            timeout=60,
            processes=[worker],
            logs=[worker_log],
        )
    row = Heartbeat.objects.get(source=queue)
    assert row.beats == 1
    assert "Task finhub.core.tasks.heartbeat" in worker_log.read_text()
    return row


def periodic_task_fires(tmp_path: Path) -> Heartbeat:
    queue = new_queue_name()
    # Only this test's schedule may fire: the others would publish to the default queue.
    PeriodicTask.objects.update(enabled=False)
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.create(
        name=f"test {queue}",
        task="finhub.core.tasks.heartbeat",
        interval=every_second,
        kwargs=json.dumps({"source": queue}),
        queue=queue,
    )
    logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
    with (
        celery_process(worker_args(queue), logs[0]) as worker,
        celery_process(beat_args(tmp_path / "beat-schedule"), logs[1]) as beat,
    ):
        wait_for(
            lambda: Heartbeat.objects.filter(source=queue, beats__gte=2).exists(),
            timeout=60,
            processes=[worker, beat],
            logs=logs,
        )
    assert "Sending due task test " + queue in logs[1].read_text()
    return Heartbeat.objects.get(source=queue)
