import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from finhub.core.services import schedules_sync


@pytest.mark.django_db
def test_migrate_created_the_heartbeat_schedule():
    task = PeriodicTask.objects.get(name="core: scheduler heartbeat")
    assert task.task == "finhub.core.tasks.heartbeat"
    assert task.interval.every == 30


@pytest.mark.django_db
def test_schedules_sync_is_idempotent_and_keeps_admin_edits():
    task = PeriodicTask.objects.get(name="core: scheduler heartbeat")
    task.interval, _ = IntervalSchedule.objects.get_or_create(
        every=300, period=IntervalSchedule.SECONDS
    )
    task.save()
    assert schedules_sync() == []
    assert PeriodicTask.objects.filter(name="core: scheduler heartbeat").count() == 1
    task.refresh_from_db()
    assert task.interval.every == 300


@pytest.mark.django_db
def test_schedules_sync_recreates_a_deleted_schedule():
    PeriodicTask.objects.filter(name="core: scheduler heartbeat").delete()
    assert schedules_sync() == ["core: scheduler heartbeat"]


@pytest.mark.django_db
def test_heartbeat_task_counts_beats():
    from finhub.core.models import Heartbeat
    from finhub.core.tasks import heartbeat

    heartbeat(source="unit")
    heartbeat(source="unit")
    assert Heartbeat.objects.get(source="unit").beats == 2
