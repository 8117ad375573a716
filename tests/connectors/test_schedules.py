import pytest
from django_celery_beat.models import PeriodicTask

from finhub.celery import app


@pytest.mark.django_db
def test_migrate_created_the_idempotency_key_purge_schedule():
    task = PeriodicTask.objects.get(name="connectors: purge expired idempotency keys")
    assert task.task == "connectors.tasks.idempotency_keys_purge_expired"
    assert task.interval.every == 3600
    app.loader.import_default_modules()
    assert task.task in app.tasks
