"""A queue per workload: the routes, beat following them, and two real workers on two queues."""

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from finhub.celery import app
from finhub.core import queues
from metrics.tasks import detect_spend_anomalies
from tests.celery_processes import celery_process, private_queues, wait_for, worker_args


def routed_queue(task_name: str, **options) -> str:
    """The queue Celery itself picks for ``task_name`` (its router, as apply_async does)."""
    return app.amqp.router.route(options, task_name)["queue"].name


def test_every_task_is_routed_deliberately():
    app.loader.import_default_modules()
    names = sorted(name for name in app.tasks if not name.startswith("celery."))
    assert "connectors.tasks.sync_connector" in names  # the discovery did find the apps' tasks
    assert [name for name in names if queues.queue_for(name) is None] == []


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("connectors.tasks.sync_connector", queues.SYNC),
        ("connectors.tasks.sync_schedule_fire", queues.SYNC),
        ("connectors.tasks.sync_runs_reap", queues.DEFAULT),
        ("metrics.tasks.compute_metrics", queues.METRICS),
        ("reports.tasks.pack_schedule_run", queues.REPORTS),
        ("alerts.tasks.evaluate_alerts", queues.ALERTS),
        ("closing.tasks.close_task_run", queues.DEFAULT),
        ("finhub.core.tasks.heartbeat", queues.DEFAULT),
    ],
)
def test_tasks_go_to_their_workload_queue(task_name, queue, settings):
    settings.FINHUB_QUEUE_PREFIX = "p-"
    assert routed_queue(task_name) == f"p-{queue}"


def test_an_explicit_queue_still_wins_over_the_route():
    assert routed_queue("connectors.tasks.sync_connector", queue="elsewhere") == "elsewhere"


def test_unknown_queue_is_refused():
    with pytest.raises(ValueError, match="unknown queue 'sink'"):
        queues.queue_name("sink")


def test_a_worker_without_queues_consumes_every_queue(settings):
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert declared == {queues.queue_name(queue) for queue in queues.ALL}
    assert queues.queue_name(queues.DEFAULT) == settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.mark.django_db
def test_beat_schedules_follow_the_routes():
    # The schedules migrate creates name no queue of their own, so the routes decide.
    assert list(PeriodicTask.objects.exclude(queue=None).exclude(queue="")) == []
    reaper = PeriodicTask.objects.get(task="connectors.tasks.sync_runs_reap")
    alerts = PeriodicTask.objects.get(task="alerts.tasks.evaluate_alerts")
    for periodic, queue in ((reaper, queues.DEFAULT), (alerts, queues.ALERTS)):
        entry = ModelEntry(periodic, app=app)  # what beat sends: its options and the task name
        assert "queue" not in entry.options
        assert routed_queue(entry.task, **entry.options) == queues.queue_name(queue)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_each_run_only_their_queue(settings, monkeypatch, tmp_path):
    private_queues(settings, monkeypatch)
    sync_queue, metrics_queue = queues.queue_name(queues.SYNC), queues.queue_name(queues.METRICS)
    logs = [tmp_path / "sync-worker.log", tmp_path / "metrics-worker.log"]
    with (
        celery_process(worker_args(sync_queue), logs[0]) as sync_worker,
        celery_process(worker_args(metrics_queue), logs[1]) as metrics_worker,
    ):
        # Routed by this process with no queue named: a scheduled sync of a connector that
        # does not exist (it returns "missing" at once) and the spend anomaly detection.
        app.send_task("connectors.tasks.sync_schedule_fire", kwargs={"connector_id": 0})
        detect_spend_anomalies.delay()

        def both_ran() -> bool:
            sync_log, metrics_log = (path.read_text() for path in logs)
            return (
                "connectors.tasks.sync_schedule_fire[" in sync_log
                and "succeeded" in sync_log
                and "metrics.tasks.detect_spend_anomalies[" in metrics_log
                and "succeeded" in metrics_log
            )

        wait_for(both_ran, timeout=60, processes=[sync_worker, metrics_worker], logs=logs)
    sync_log, metrics_log = (path.read_text() for path in logs)
    assert f"{sync_queue}@" in sync_log and f"{metrics_queue}@" in metrics_log  # the hostnames
    assert "succeeded in" in sync_log and "'missing'" in sync_log
    # After startup (the banner lists every registered task), each ran only its own.
    assert "metrics.tasks." not in sync_log.split("ready.")[-1]
    assert "connectors.tasks." not in metrics_log.split("ready.")[-1]
